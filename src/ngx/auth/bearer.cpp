// Bearer tokens checked at the edge, and the worker's memory of them (auth/bearer.h).
#include "auth/bearer.h"
#include "state/conf.h"

#include <string>
#include <unordered_map>

namespace {

using registry_cache::auth::CheckedToken;
using registry_cache::auth::TokenTrust;
using registry_cache::auth::TokenVerdict;

struct Remembered {
    const TokenTrust *trust;
    std::string token;  // the whole text, compared whole before the entry is used
    CheckedToken checked;
};

// Tokens that checked valid, by their signature (the part that differs between any two
// tokens, and the shortest: hashing it is cheap), each compared whole before it is used: a
// hash collision or a reused signature can only cost a lookup, never lend one token's grants
// to another. Bounded: at the bound the expired go, and if that is not enough, all do.
constexpr std::size_t max_remembered = 1024;
std::unordered_map<std::string, Remembered> remembered;
// The last token that proved something, as a client sends the same one on every request of
// a pull: one comparison, no hashing, no allocation.
const Remembered *last = nullptr;
std::string key;  // reused for lookups, so that they allocate nothing once it has grown

std::string_view signature_of(std::string_view token) noexcept {
    const std::size_t dot = token.rfind('.');
    return dot == std::string_view::npos ? token : token.substr(dot + 1);
}

bool usable(const Remembered &r, const TokenTrust &trust, std::string_view token, std::int64_t now) noexcept {
    return r.trust == &trust && r.token == token &&
           now - registry_cache::auth::token_leeway_seconds <= r.checked.expires_at;
}

bool ascii_iequal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ngx_tolower(static_cast<u_char>(a[i])) != ngx_tolower(static_cast<u_char>(b[i]))) return false;
    }
    return true;
}

// The token of an `Authorization: Bearer <token>` value; empty for any other.
std::string_view bearer_token(std::string_view value) noexcept {
    constexpr std::string_view scheme = "Bearer";
    if (value.size() <= scheme.size() || !ascii_iequal(value.substr(0, scheme.size()), scheme) ||
        value[scheme.size()] != ' ') {
        return {};
    }
    value.remove_prefix(scheme.size());
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    return value;
}

void forget_expired(std::int64_t now) {
    last = nullptr;
    for (auto it = remembered.begin(); it != remembered.end();) {
        it = now - registry_cache::auth::token_leeway_seconds > it->second.checked.expires_at ? remembered.erase(it)
                                                                                              : std::next(it);
    }
    if (remembered.size() >= max_remembered) remembered.clear();
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
        if (last != nullptr && usable(*last, trust, token, now)) {
            return last->checked.may_pull(repository);
        }
        key.assign(signature_of(token));
        auto it = remembered.find(key);
        if (it != remembered.end() && usable(it->second, trust, token, now)) {
            last = &it->second;
            return last->checked.may_pull(repository);
        }
        CheckedToken checked;
        const TokenVerdict verdict = registry_cache::auth::check_token(token, trust, now, checked);
        if (verdict != TokenVerdict::valid) {
            const std::string_view why = registry_cache::auth::verdict_text(verdict);
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "registry cache: the Bearer token is %*s: it proves nothing here", why.size(), why.data());
            return false;
        }
        const bool may_pull = checked.may_pull(repository);
        if (remembered.size() >= max_remembered) forget_expired(now);
        Remembered &entry = remembered[key];  // (references stay valid across rehashing)
        entry = Remembered{&trust, std::string(token), std::move(checked)};
        last = &entry;
        return may_pull;
    } catch (...) {
        return false;  // out of memory: no proof, the request goes upstream
    }
}
