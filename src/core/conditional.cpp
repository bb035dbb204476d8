#include "registry_cache/conditional.h"

namespace registry_cache {
namespace {

std::string_view trim_left(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return s;
}

// One entity tag at the start of `s`: W/"x" or "x". Sets `weak` and `tag` (quotes included)
// and returns the rest, or nullopt when `s` does not start with a well-formed tag.
std::optional<std::string_view> scan_etag(std::string_view s, bool& weak,
                                          std::string_view& tag) noexcept {
    weak = s.substr(0, 2) == "W/";
    if (weak) s.remove_prefix(2);
    if (s.size() < 2 || s.front() != '"') return std::nullopt;
    for (std::size_t i = 1; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '"') {
            tag = s.substr(0, i + 1);
            return s.substr(i + 1);
        }
        // etagc = %x21 / %x23-7E / obs-text
        if (c < 0x21 || c == 0x7f) return std::nullopt;
    }
    return std::nullopt;
}

// Whether the comma-separated list in `header` holds `etag` ("*" matches anything). A strong
// comparison ignores weak tags; a weak one compares the opaque parts only.
bool list_matches(std::string_view header, std::string_view etag, bool strong) noexcept {
    std::string_view rest = trim_left(header);
    if (rest == "*") return true;
    while (!rest.empty()) {
        rest = trim_left(rest);
        if (rest.empty()) break;
        if (rest.front() == ',') {
            rest.remove_prefix(1);
            continue;
        }
        bool weak = false;
        std::string_view tag;
        auto after = scan_etag(rest, weak, tag);
        if (!after) return false;  // as Go: a malformed list matches nothing after it
        if (tag == etag && !(strong && weak)) return true;
        rest = *after;
    }
    return false;
}

}  // namespace

Precondition evaluate_preconditions(std::optional<std::string_view> if_match,
                                    std::optional<std::string_view> if_none_match,
                                    std::string_view etag) noexcept {
    if (if_match && !list_matches(*if_match, etag, true)) return Precondition::failed;
    if (if_none_match && list_matches(*if_none_match, etag, false)) {
        return Precondition::not_modified;
    }
    return Precondition::proceed;
}

}  // namespace registry_cache
