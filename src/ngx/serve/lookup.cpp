// Reads of the store for a request and what the request carries (lookup.h).
#include "serve/lookup.h"
#include "process/writer.h"

#include <string_view>

#include "registry_cache/policy/credentials.h"

using registry_cache::LookupStatus;
using status_t = ngx_http_registry_cache_status_t;

// What a read of the store makes of a request: hit (servable to this client: what the
// upstream gave without credentials, or with them to a client whose token proves it may
// pull), miss, or error (logged; by seed semantics nothing
// is then written back, so that a sick store is not also loaded with writes).
status_t ngx_http_registry_cache_judge_read(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                            LookupStatus found, registry_cache::LinkScope scope,
                                            const std::string &error) noexcept {
    switch (found) {
        case LookupStatus::hit:
            return registry_cache::link_servable(scope, state.asked.proven) ? status_t::hit : status_t::miss;
        case LookupStatus::miss:
            return status_t::miss;
        case LookupStatus::error:
            break;
    }
    ngx_http_registry_cache_count(state.cache->sh->errors);
    ngx_http_registry_cache_log_store_error(state.cache, r->connection->log, "lookup", error);
    state.lookup.may_record = false;
    return status_t::error;
}

// Whether the request carries anything that can tell the upstream who is asking: then what
// the upstream answers may be for that client only (the rule is the core's). In mirror mode
// the client's Authorization never goes upstream (dropped as the request comes in): one there
// is the edge's own token, which asks for every client alike.
bool ngx_http_registry_cache_carries_credentials(ngx_http_request_t *r, bool push) noexcept {
    auto *rlcf = static_cast<ngx_http_registry_cache_loc_conf_t *>(
        ngx_http_get_module_loc_conf(r, ngx_http_registry_cache_module));
    registry_cache::RequestCredentials seen;
    seen.push = push;
    seen.authorization = r->headers_in.authorization != nullptr && !rlcf->upstream_auth;
#if (nginx_version >= 1023000)
    seen.cookie = r->headers_in.cookie != nullptr;
#else
    seen.cookie = r->headers_in.cookies.nelts != 0;
#endif
    // The query as forwarded: the unparsed one unless nginx rewrote the URI.
    seen.query = ngx_http_registry_cache_view(r->args);
    std::string_view ignored;
    seen.proxy_authorization =
        ngx_http_registry_cache_find_header(r->headers_in.headers, "Proxy-Authorization", ignored) > 0;
#if (NGX_HTTP_SSL)
    if (r->connection->ssl != nullptr) {
        X509 *cert = SSL_get_peer_certificate(r->connection->ssl->connection);
        if (cert != nullptr) {
            seen.client_certificate = true;
            X509_free(cert);
        }
    }
#endif
    return registry_cache::carries_credentials(seen);
}

// A request that declares a body: it can hold its connection for as long as the client
// takes to send it (or never does), so it never leads a flight others wait on.
bool ngx_http_registry_cache_declares_body(const ngx_http_request_t *r) noexcept {
    return r->headers_in.content_length_n > 0 || r->headers_in.chunked;
}

