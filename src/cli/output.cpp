#include "output.h"

#include <cstdio>
#include <ctime>

#include "registry_cache/upstream_namespace.h"

namespace registry_cache::cli {

void Json::key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    if (!k.empty()) {
        out_ += json_quote(k);
        out_ += ':';
    }
}

Json& Json::open_object(std::string_view k) {
    key(k);
    out_ += '{';
    first_ = true;
    return *this;
}

Json& Json::close_object() {
    out_ += '}';
    first_ = false;
    return *this;
}

Json& Json::open_array(std::string_view k) {
    key(k);
    out_ += '[';
    first_ = true;
    return *this;
}

Json& Json::close_array() {
    out_ += ']';
    first_ = false;
    return *this;
}

Json& Json::field(std::string_view k, std::string_view value) {
    key(k);
    out_ += json_quote(value);
    return *this;
}

Json& Json::field(std::string_view k, std::uint64_t value) {
    key(k);
    out_ += std::to_string(value);
    return *this;
}

Json& Json::field(std::string_view k, bool value) {
    key(k);
    out_ += value ? "true" : "false";
    return *this;
}

Json& Json::null_field(std::string_view k) {
    key(k);
    out_ += "null";
    return *this;
}

std::string json_quote(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (byte < 0x20 || byte >= 0x7f) {
            // Names in the store are ASCII; anything else is shown, not trusted as UTF-8.
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
            out += escaped;
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

bool repository_parts(std::string_view stored, std::string_view& ns, std::string_view& name) noexcept {
    return split_namespace(stored, ns, name);
}

std::string readable_repository(std::string_view stored) {
    std::string_view ns, name;
    if (!split_namespace(stored, ns, name)) return json_quote(stored);
    if (ns.empty()) return std::string(name);
    // "ns host" when the edge forwarded the client's Host: shown as the options that name it.
    const std::size_t space = ns.find(' ');
    if (space == std::string_view::npos) return "ns=" + std::string(ns) + " " + std::string(name);
    std::string out;
    if (space > 0) out = "ns=" + std::string(ns.substr(0, space)) + " ";
    return out + "host=" + std::string(ns.substr(space + 1)) + " " + std::string(name);
}

std::string rfc3339(std::uint64_t seconds) {
    const std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    char text[32];
    if (gmtime_r(&t, &tm) == nullptr || std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        return std::to_string(seconds);
    }
    return text;
}

const char* scope_name(LinkScope scope) noexcept {
    return scope == LinkScope::credentialed ? "credentialed" : "public";
}

}  // namespace registry_cache::cli
