#include "registry_cache/reference.h"

namespace registry_cache {
namespace {

constexpr bool is_lower_alnum(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool is_valid_component(std::string_view s) noexcept {
    std::size_t i = 0;
    const std::size_t n = s.size();
    auto alnum_run = [&] {
        std::size_t start = i;
        while (i < n && is_lower_alnum(s[i])) ++i;
        return i > start;
    };
    if (!alnum_run()) return false;
    while (i < n) {
        // Separators: ".", "_", "__" or one or more "-".
        if (s[i] == '.') {
            ++i;
        } else if (s[i] == '_') {
            ++i;
            if (i < n && s[i] == '_') ++i;
        } else if (s[i] == '-') {
            while (i < n && s[i] == '-') ++i;
        } else {
            return false;
        }
        if (!alnum_run()) return false;
    }
    return true;
}

}  // namespace

bool is_valid_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > max_name_length) return false;
    std::size_t start = 0;
    for (;;) {
        std::size_t slash = name.find('/', start);
        std::string_view component = name.substr(start, slash == std::string_view::npos
                                                             ? std::string_view::npos
                                                             : slash - start);
        if (!is_valid_component(component)) return false;
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

bool is_valid_tag(std::string_view tag) noexcept {
    if (tag.empty() || tag.size() > max_tag_length) return false;
    auto word = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    };
    if (!word(tag[0])) return false;
    for (char c : tag.substr(1)) {
        if (!word(c) && c != '.' && c != '-') return false;
    }
    return true;
}

}  // namespace registry_cache
