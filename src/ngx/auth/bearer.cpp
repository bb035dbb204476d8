// Bearer tokens checked at the edge (auth/bearer.h), remembered in the trust's memory.
#include "auth/bearer.h"
#include "auth/authorization.h"
#include "state/conf.h"

#include "registry_cache/auth/token_memory.h"

namespace {

using registry_cache::auth::CheckedToken;
using registry_cache::auth::TokenTrust;
using registry_cache::auth::TokenVerdict;

}  // namespace

bool ngx_http_registry_cache_bearer_proves(ngx_http_request_t *r, const TokenTrust &trust,
                                           std::string_view repository) noexcept {
    // The token split by exactly one space, as the registry reads it: a second space makes
    // the registry refuse it, so it may not prove anything here either.
    const std::string_view token = ngx_http_registry_cache_authorization_credential(r, "Bearer");
    if (token.empty() || token.find(' ') != std::string_view::npos) return false;
    const auto now = static_cast<std::int64_t>(ngx_time());
    try {
        const CheckedToken *checked = nullptr;
        const TokenVerdict verdict = registry_cache::auth::check_remembered(token, trust, now, checked);
        if (verdict != TokenVerdict::valid) {
            const std::string_view why = registry_cache::auth::verdict_text(verdict);
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "registry cache: the Bearer token is %*s: it proves nothing here", why.size(), why.data());
            return false;
        }
        return checked->may_pull(repository);
    } catch (...) {
        return false;  // out of memory: no proof, the request goes upstream
    }
}
