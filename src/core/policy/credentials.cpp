#include "registry_cache/policy/credentials.h"

namespace registry_cache {
namespace {

// A registry's host name, with a port or as an IPv6 literal: nothing that could carry more.
// The ':' and brackets may come percent-encoded, as containerd sends them (its query is
// URL-encoded: `ns=registry.example%3A5000`); nothing else may.
bool is_host(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
        if (!ok && c == '%' && i + 2 < s.size()) {
            const char hi = s[i + 1], lo = static_cast<char>(s[i + 2] | 0x20);
            ok = (hi == '3' && lo == 'a') || (hi == '5' && (lo == 'b' || lo == 'd'));
            i += 2;
        }
        if (!ok) return false;
    }
    return true;
}

// True when every parameter of `query` is `ns` naming a host (or empty). Parameters are
// split at '&' and at ';' (some servers split at both, and then `ns=x;token=y` carries a
// token); any other character where a host is expected makes the parameter something else.
bool only_namespace(std::string_view query, bool push) noexcept {
    while (!query.empty()) {
        std::size_t end = query.find_first_of("&;");
        std::string_view param = query.substr(0, end);
        query = end == std::string_view::npos ? std::string_view{} : query.substr(end + 1);
        if (param.empty()) continue;
        std::size_t eq = param.find('=');
        const std::string_view name = param.substr(0, eq);
        if (push && (name == "digest" || name == "mount" || name == "from" || name == "_state")) continue;
        if (name != "ns") return false;
        if (eq != std::string_view::npos && !is_host(param.substr(eq + 1))) return false;
    }
    return true;
}

}  // namespace

bool carries_credentials(const RequestCredentials& request) noexcept {
    return request.authorization || request.proxy_authorization || request.cookie ||
           request.client_certificate || !only_namespace(request.query, request.push);
}

}  // namespace registry_cache
