// Bearer tokens checked at the edge (auth/bearer.h), remembered in the trust's memory.
#include "auth/bearer.h"
#include "state/conf.h"

#include "registry_cache/auth/token_memory.h"

namespace {

using registry_cache::auth::CheckedToken;
using registry_cache::auth::TokenTrust;
using registry_cache::auth::TokenVerdict;

bool ascii_iequal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ngx_tolower(static_cast<u_char>(a[i])) != ngx_tolower(static_cast<u_char>(b[i]))) return false;
    }
    return true;
}

// The token of an `Authorization: Bearer <token>` value; empty for any other. Read as the
// registry reads it: the value split at spaces must be exactly the scheme and the token (a
// second space makes the registry refuse it, so it may not prove anything here either).
std::string_view bearer_token(std::string_view value) noexcept {
    constexpr std::string_view scheme = "Bearer";
    if (value.size() <= scheme.size() + 1 || !ascii_iequal(value.substr(0, scheme.size()), scheme) ||
        value[scheme.size()] != ' ') {
        return {};
    }
    value.remove_prefix(scheme.size() + 1);
    return value.find(' ') == std::string_view::npos ? value : std::string_view();
}

}  // namespace

bool ngx_http_registry_cache_bearer_proves(ngx_http_request_t *r, const TokenTrust &trust,
                                           std::string_view repository) noexcept {
    std::string_view value;
    // Two Authorization headers: which one would the upstream read? Neither proves anything.
    if (r->headers_in.authorization == nullptr ||
        ngx_http_registry_cache_find_header(r->headers_in.headers, "Authorization", value) != 1) {
        return false;
    }
    const std::string_view token = bearer_token(value);
    if (token.empty()) return false;
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
