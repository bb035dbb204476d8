// Handing a request to the upstream (pass.cpp) and listening to it: the header filter that counts its answers, decides what becomes
// of their bodies and learns from them (learn_filter.cpp), and the OCI error JSON that replaces
// responses no client should get as they are (oci_error_page.cpp), or the upstream's last
// answer to a ping when it fails (replay_ping.cpp).
#pragma once

#include "state/request.h"

#include <string_view>

#include "registry_cache/learn.h"

ngx_int_t ngx_http_registry_cache_filter_init(ngx_conf_t *cf) noexcept;
// Whether the upstream answer r has now came where an error_page followed an upstream's
// redirect (301, 302, 303, 307, 308) in this request: what its Location pointed to answered.
bool ngx_http_registry_cache_after_redirect(ngx_http_request_t *r) noexcept;

// A manifest pushed through the edge (pushed_manifest.cpp): its bytes kept as they pass, and
// what the registry's 201 to it teaches.
ngx_int_t ngx_http_registry_cache_pushed_manifest_init(ngx_conf_t *cf) noexcept;
void ngx_http_registry_cache_learn_pushed_manifest(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                                   const registry_cache::UpstreamAnswer &answer) noexcept;
// A blob pushed through the edge of a size the edge does not know (pushed_blob.cpp): one HEAD
// of it in the pushed repository, in the background once the push is answered, teaches its link.
void ngx_http_registry_cache_ask_pushed_size(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                             const registry_cache::PushedBlob &pushed) noexcept;
ngx_int_t ngx_http_registry_cache_error_page_init(ngx_conf_t *cf) noexcept;

// Replaces the response about to be sent with `body` (JSON, copied) of `status`: its headers
// are dropped (the caller adds its own), and its body gives way. False when memory ran out.
bool ngx_http_registry_cache_replace_response(ngx_http_request_t *r,
                                              ngx_http_registry_cache_request_t &state,
                                              ngx_uint_t status, std::string_view body) noexcept;

// Replaces the response about to be sent with OCI error JSON (code UNAVAILABLE) of
// `status`: its headers are dropped, and its body gives way to the JSON. False when memory
// ran out (the caller fails the request).
bool ngx_http_registry_cache_replace_with_error(ngx_http_request_t *r,
                                                ngx_http_registry_cache_request_t &state,
                                                ngx_uint_t status, const char *detail) noexcept;

// When the upstream failed to answer a ping (/v2/) in a way registry_cache_use_stale names,
// replaces the response with the upstream's last answer to an anonymous ping, as the store
// holds it: STALE, counted, a warn line. NGX_DECLINED when it does not apply or nothing is
// held; NGX_ERROR when memory ran out.
ngx_int_t ngx_http_registry_cache_replay_ping(ngx_http_request_t *r,
                                              ngx_http_registry_cache_request_t &state) noexcept;

// Hands the request, untouched, to where registry_cache_pass points (a named location or a
// URI); in mirror mode the main request first takes its turn for the edge's token. nginx's
// return code.
ngx_int_t ngx_http_registry_cache_pass(ngx_http_request_t *r, ngx_str_t &target) noexcept;
// The same, without the turn for a token: the request goes as it is.
ngx_int_t ngx_http_registry_cache_hand_over(ngx_http_request_t *r, ngx_str_t &target) noexcept;
