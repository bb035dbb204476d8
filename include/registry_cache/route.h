// What a `/v2/...` request path asks for, parsed from the raw (undecoded) path.
#pragma once

#include <string_view>

#include "registry_cache/digest.h"

namespace registry_cache {

enum class RouteKind {
    base,         // /v2/
    catalog,      // /v2/_catalog
    tags_list,    // /v2/<name>/tags/list
    manifest,     // /v2/<name>/manifests/<tag or digest>
    blob,         // /v2/<name>/blobs/<digest>
    blob_upload,  // /v2/<name>/blobs/uploads/ and /v2/<name>/blobs/uploads/<id>
    other         // anything else under /v2/ or outside it: passed on, never cached
};

// Why a request is refused locally; `none` means the route is usable.
enum class RouteError { none, name_invalid, digest_invalid };

struct Route {
    RouteKind kind = RouteKind::other;
    RouteError error = RouteError::none;
    std::string_view name;       // repository, for every kind that has one
    std::string_view reference;  // manifest tag or digest, blob digest, upload id
    Digest digest;               // set when `reference` is a valid digest
    bool by_digest = false;      // `reference` is a digest (blobs, manifests by digest)
};

// `path` is the request target up to (not including) any '?', as the client sent it.
// Nothing is decoded: OCI names, tags and digests never need percent-encoding, so a '%'
// in them makes them invalid rather than letting two spellings name one object.
Route parse_route(std::string_view path) noexcept;

// Cuts "?query" off a request target.
std::string_view strip_query(std::string_view target) noexcept;

}  // namespace registry_cache
