#include "registry_cache/policy/manifest_answer.h"

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

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

void add_accept(std::string_view header, ManifestAccept& accept) noexcept {
    while (true) {
        const std::size_t comma = header.find(',');
        std::string_view entry = header.substr(0, comma);
        const std::size_t semicolon = entry.find(';');
        if (semicolon != std::string_view::npos) entry = entry.substr(0, semicolon);
        entry = trim(entry);
        if (entry == oci_manifest_type) accept.oci_manifest = true;
        if (entry == oci_index_type) accept.oci_index = true;
        if (entry == docker_manifest_type) accept.docker_manifest = true;
        if (entry == docker_list_type) accept.docker_list = true;
        if (comma == std::string_view::npos) break;
        header.remove_prefix(comma + 1);
    }
}

bool accepts_manifest(std::string_view media_type, const ManifestAccept& accept) noexcept {
    if (media_type == oci_manifest_type) return accept.oci_manifest;
    if (media_type == oci_index_type) return accept.oci_index;
    return true;
}

bool accepts_tagged_manifest(std::string_view media_type, bool named_list, const ManifestAccept& accept) noexcept {
    if (!named_list && accept.docker_list) return false;
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
