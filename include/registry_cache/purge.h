// What an operator's purge names (registry_cache_purge): `DELETE <location>/<name>/blobs/<digest>`,
// `.../<name>/manifests/<digest>`, `.../<name>/manifests/<tag>` or `.../<name>` (the whole
// repository), and what it says it forgot.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "registry_cache/digest.h"
#include "registry_cache/route.h"

namespace registry_cache {

struct PurgeTarget {
    enum class Kind { blob, manifest, tag, repository } kind = Kind::repository;
    std::string_view name;       // the repository, as the client named it
    std::string_view reference;  // the digest's text, or the tag
    Digest digest;               // for a blob or a manifest
};

// Reads the path after the purge location's prefix, as distribution routes a request: a
// path that ends in `/blobs/<digest>` or `/manifests/<reference>` names that object (a
// repository whose own name ends so cannot be purged whole by name); any other valid name is
// a whole repository. RouteError::name_invalid or digest_invalid (an invalid tag is an
// invalid name's error, as distribution says TAG_INVALID only on a push) for the rest.
RouteError parse_purge(std::string_view path, PurgeTarget& out);

// What a purge forgot, per table.
struct PurgeCount {
    std::uint64_t blob_links = 0;
    std::uint64_t manifest_links = 0;
    std::uint64_t tags = 0;
    std::uint64_t blob_bodies = 0;  // bodies on disk no longer linked anywhere
    std::uint64_t manifest_bodies = 0;  // manifests no longer linked anywhere
    std::uint64_t total() const noexcept { return blob_links + manifest_links + tags; }
    PurgeCount& operator+=(const PurgeCount& more) noexcept {
        blob_links += more.blob_links;
        manifest_links += more.manifest_links;
        tags += more.tags;
        blob_bodies += more.blob_bodies;
        manifest_bodies += more.manifest_bodies;
        return *this;
    }
};

// The JSON the purge answers with: {"purged":{"blob_links":1,...}}.
std::string render_purge_count(const PurgeCount& count);

}  // namespace registry_cache
