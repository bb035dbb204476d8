// Which upstream a request goes to, when one location serves several, and its repository as
// the store keeps it there: two upstreams that both have a repository of one name never
// answer for each other. An upstream is told apart by registry_cache_namespace and, when the
// edge forwards the client's Host, by that Host: an entry learned with Host `tenant2`
// forwarded is kept under it, and a request with another Host never finds it.
#pragma once

#include "state/conf.h"
#include "state/request.h"

enum class ngx_http_registry_cache_namespace_t {
    placed,   // asked.upstream_namespace and store_name are set
    invalid,  // the value is no namespace: nothing of the cache may be used for the request
    error     // out of memory
};

// Where the handler reads: the operator's namespace (store_name). Nothing is allocated for a
// location without registry_cache_namespace: a hit reads the name as the client sent it.
ngx_http_registry_cache_namespace_t ngx_http_registry_cache_place(ngx_http_request_t *r,
                                                                  const ngx_http_registry_cache_loc_conf_t &rlcf,
                                                                  ngx_http_registry_cache_request_t &judged) noexcept;

// The repository in the namespace with the client's Host (asked.hosted_name), where what was
// learned with that Host forwarded is kept: built on first use (a miss, a Basic proof, an
// answer to learn from, a purge), never on a hit; empty when the Host is too long.
std::string_view ngx_http_registry_cache_hosted_name(ngx_http_request_t *r,
                                                     ngx_http_registry_cache_request_t &state) noexcept;

// Where an upstream's answer to `r` (the request or the subrequest that went upstream)
// teaches: under hosted_name when the Host that went upstream carries the client's ($host:
// `proxy_set_header Host $host`, `$http_host`, or a name made of it), else under store_name.
// False when the answer cannot be placed, and nothing of it is to be learned (nor a
// credential it accepted remembered): no Host went upstream, or the Host header went while
// the request line named another host (the absolute form: whose answer would it be?), or the
// Host is too long to keep entries under.
bool ngx_http_registry_cache_place_answer(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state) noexcept;

// The same for an answer fetched where the upstream redirected the request (a blob's storage):
// the Host that went to the upstream is not known then, so the answer is kept under the
// client's Host (hosted_name), as if it had gone there, never shared with another Host. False
// when it has no name to be kept under, or the request line named another host than its Host
// header (either may have been the one that went to the upstream).
bool ngx_http_registry_cache_place_redirected_answer(ngx_http_request_t *r,
                                                     ngx_http_registry_cache_request_t &state) noexcept;
