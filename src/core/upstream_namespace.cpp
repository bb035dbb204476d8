// Names in upstream namespaces (upstream_namespace.h).
#include "registry_cache/upstream_namespace.h"

namespace registry_cache {

namespace {

bool printable_without_space(std::string_view s) noexcept {
    for (const char c : s) {
        if (c < '!' || c > '~') return false;
    }
    return true;
}

// An operator's namespace, or one and a forwarded Host (either part may be empty, not both).
bool is_valid_stored_namespace(std::string_view ns) noexcept {
    if (ns.empty() || ns.size() > max_stored_namespace_length) return false;
    const std::size_t space = ns.find(' ');
    if (space == std::string_view::npos) return is_valid_namespace(ns);
    const std::string_view own = ns.substr(0, space);
    const std::string_view host = ns.substr(space + 1);
    return (own.empty() || is_valid_namespace(own)) && !host.empty() && printable_without_space(host);
}

}  // namespace

bool is_valid_namespace(std::string_view ns) noexcept {
    return !ns.empty() && ns.size() <= max_namespace_length && printable_without_space(ns);
}

std::string hosted_namespace(std::string_view ns, std::string_view host) {
    if (host.empty() || !printable_without_space(host) || ns.size() + 1 + host.size() > max_stored_namespace_length) {
        return {};
    }
    std::string hosted(ns);
    hosted += ' ';
    hosted.append(host);
    return hosted;
}

std::string host_name_of(std::string_view host) {
    if (!host.empty() && host[0] == '[') {
        const std::size_t end = host.find(']');
        host = host.substr(0, end == std::string_view::npos ? host.size() : end + 1);
    } else {
        host = host.substr(0, host.find(':'));
    }
    while (!host.empty() && host.back() == '.') host.remove_suffix(1);
    std::string name(host);
    for (char& c : name) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return name;
}

std::string in_namespace(std::string_view ns, std::string_view name) {
    if (ns.empty()) return std::string(name);
    std::string stored;
    stored.reserve(1 + ns.size() + 1 + name.size());
    stored += namespace_mark;
    stored.append(ns);
    stored += '\0';
    stored.append(name);
    return stored;
}

bool split_namespace(std::string_view stored, std::string_view& ns, std::string_view& name) noexcept {
    if (stored.empty() || stored[0] != namespace_mark) {
        ns = {};
        name = stored;
        return true;
    }
    const std::size_t nul = stored.find('\0');
    if (nul == std::string_view::npos || !is_valid_stored_namespace(stored.substr(1, nul - 1))) return false;
    ns = stored.substr(1, nul - 1);
    name = stored.substr(nul + 1);
    return true;
}

}  // namespace registry_cache
