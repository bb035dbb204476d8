// Basic credentials the upstream accepted, remembered (auth/basic.h).
#include "auth/basic.h"
#include "auth/authorization.h"

std::string_view ngx_http_registry_cache_basic_credential(ngx_http_request_t *r) noexcept {
    return ngx_http_registry_cache_authorization_credential(r, "Basic");
}

bool ngx_http_registry_cache_basic_proves(ngx_http_request_t *r, ngx_http_registry_cache_loc_conf_t &rlcf,
                                          ngx_http_registry_cache_request_t &state) noexcept {
    const std::string_view credential = ngx_http_registry_cache_basic_credential(r);
    if (credential.empty() || rlcf.credential_memory == nullptr || state.asked.hosted_name.empty()) return false;
    state.asked.basic = ngx_http_registry_cache_str(credential);
    state.asked.remembers = &rlcf;
    try {
        // Kept under the repository with its namespace and Host: a credential an upstream
        // accepted proves nothing for another.
        return rlcf.credential_memory->proves(state.asked.hosted_name, credential,
                                              static_cast<std::int64_t>(ngx_time()));
    } catch (...) {
        return false;  // out of memory: no proof, the request goes upstream
    }
}

void ngx_http_registry_cache_basic_answered(ngx_http_request_t *r, ngx_http_registry_cache_request_t &state,
                                            ngx_uint_t status) noexcept {
    ngx_http_registry_cache_loc_conf_t *rlcf = state.asked.remembers;
    if (rlcf == nullptr || status != NGX_HTTP_OK || state.asked.hosted_name.empty()) return;
    try {
        rlcf->credential_memory->remember(state.asked.hosted_name, ngx_http_registry_cache_view(state.asked.basic),
                                          static_cast<std::int64_t>(ngx_time()), rlcf->credential_ttl);
    } catch (...) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "registry cache: out of memory to remember a Basic credential: the next request asks "
                      "the upstream again");
    }
}
