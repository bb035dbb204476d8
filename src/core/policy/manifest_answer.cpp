#include "registry_cache/policy/manifest_answer.h"

#include <iterator>

namespace registry_cache {
namespace {

constexpr std::string_view oci_manifest_type = "application/vnd.oci.image.manifest.v1+json";
constexpr std::string_view oci_index_type = "application/vnd.oci.image.index.v1+json";
constexpr std::string_view docker_manifest_type = "application/vnd.docker.distribution.manifest.v2+json";
constexpr std::string_view docker_list_type = "application/vnd.docker.distribution.manifest.list.v2+json";

// Go's strings.TrimSpace: ASCII white space (and Unicode's, which no media type holds).
bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim_left(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    return s;
}

std::string_view trim(std::string_view s) noexcept {
    s = trim_left(s);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// RFC 2045's token characters, as Go's mime package reads them.
bool is_token_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && std::string_view("()<>@,;:\\\"/[]?=").find(c) == std::string_view::npos;
}

std::string_view take_token(std::string_view& s) noexcept {
    std::size_t n = 0;
    while (n < s.size() && is_token_char(s[n])) ++n;
    const std::string_view token = s.substr(0, n);
    s.remove_prefix(n);
    return token;
}

// A quoted string (with backslash escapes) or a token; false when neither is there.
bool take_value(std::string_view& s) noexcept {
    if (s.empty() || s.front() != '"') return !take_token(s).empty();
    for (std::size_t i = 1; i < s.size(); ++i) {
        if (s[i] == '\\') {
            ++i;
        } else if (s[i] == '"') {
            s.remove_prefix(i + 1);
            return true;
        }
    }
    return false;
}

char ascii_lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool same_ignoring_case(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
}

// Whether an entry's parameters (its ';' and what follows) are what Go's mime.ParseMediaType
// accepts: "; name=value" each (a token, or a quoted string), each name once, a lone ';' at
// the end. A name with '*' (RFC 2231) counts as malformed, as do more than eight: no registry
// client sends either, and a type sent with them is then simply not named.
bool parameters_well_formed(std::string_view rest) noexcept {
    std::string_view names[8];
    std::size_t count = 0;
    while (true) {
        rest = trim_left(rest);
        if (rest.empty()) return true;
        if (rest.front() != ';') return false;
        rest = trim_left(rest.substr(1));
        if (rest.empty()) return true;  // a trailing ';'
        const std::string_view name = take_token(rest);
        if (name.empty() || name.find('*') != std::string_view::npos) return false;
        rest = trim_left(rest);
        if (rest.empty() || rest.front() != '=') return false;
        rest = trim_left(rest.substr(1));
        if (!take_value(rest)) return false;
        for (std::size_t i = 0; i < count; ++i) {
            if (same_ignoring_case(names[i], name)) return false;
        }
        if (count == std::size(names)) return false;
        names[count++] = name;
    }
}

// What a registry may answer a tag with in place of the Docker list it names, for a client
// that does not name the list: an image manifest (any type but an index or a list).
bool may_be_rewritten(std::string_view media_type, bool learned_naming_list, const ManifestAccept& accept) noexcept {
    return !learned_naming_list && accept.mentions_docker_list && media_type != oci_index_type &&
           media_type != docker_list_type;
}

}  // namespace

void add_accept(std::string_view header, ManifestAccept& accept) noexcept {
    while (true) {
        const std::size_t comma = header.find(',');
        const std::string_view entry = header.substr(0, comma);
        const std::size_t semicolon = entry.find(';');
        const std::string_view type = trim(entry.substr(0, semicolon));
        if (same_ignoring_case(type, docker_list_type)) accept.mentions_docker_list = true;
        if (semicolon == std::string_view::npos || parameters_well_formed(entry.substr(semicolon))) {
            if (type == oci_manifest_type) accept.oci_manifest = true;
            if (type == oci_index_type) accept.oci_index = true;
            if (type == docker_manifest_type) accept.docker_manifest = true;
            if (type == docker_list_type) accept.docker_list = true;
        }
        if (comma == std::string_view::npos) break;
        header.remove_prefix(comma + 1);
    }
}

bool accepts_manifest(std::string_view media_type, const ManifestAccept& accept) noexcept {
    if (media_type == oci_manifest_type) return accept.oci_manifest;
    if (media_type == oci_index_type) return accept.oci_index;
    return true;
}

bool tag_not_modified_answerable(std::string_view media_type, bool learned_naming_list,
                                 const ManifestAccept& accept) noexcept {
    return !may_be_rewritten(media_type, learned_naming_list, accept);
}

bool accepts_tagged_manifest(std::string_view media_type, bool learned_naming_list,
                             const ManifestAccept& accept) noexcept {
    if (may_be_rewritten(media_type, learned_naming_list, accept)) return false;
    if (media_type == oci_manifest_type) return accept.oci_manifest;
    if (media_type == oci_index_type) return accept.oci_index;
    if (media_type == docker_manifest_type) return accept.docker_manifest;
    if (media_type == docker_list_type) return accept.docker_list;
    return false;
}

bool if_none_match_names(std::string_view value, std::string_view digest) noexcept {
    if (value == digest) return true;
    return value.size() == digest.size() + 2 && value.front() == '"' && value.back() == '"' &&
           value.substr(1, digest.size()) == digest;
}

}  // namespace registry_cache
