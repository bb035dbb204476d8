// The write that a lesson of the upstream's answer turns into, built without throwing: it
// runs in nginx callbacks, where an exception may not escape and where running out of memory
// must cost the record, never the response.
#pragma once

#include "registry_cache/learn.h"
#include "registry_cache/store.h"

namespace registry_cache {

// Fills `out` for a `record` or `clear_link` lesson about `route` (a recordable blob, or a
// manifest by digest, whose record needs its `body`). False when there is nothing to write
// or memory ran out (then `out` is left empty).
bool make_store_write(Lesson lesson, const Route& route, const BlobDescriptor& descriptor,
                      LinkScope scope, StoreWrite& out, std::string_view body = {}) noexcept;

// A manifest's record with its verified `body`, named by `digest` in `repository` (a GET by
// tag teaches the manifest by the digest its bytes hashed to).
bool make_manifest_write(std::string_view repository, std::string_view digest,
                         const BlobDescriptor& descriptor, LinkScope scope, std::string_view body,
                         StoreWrite& out) noexcept;

// The tag's record (`tag`, for a record lesson) or its forgetting (clear_link), for a route
// that asks for a manifest by tag.
bool make_tag_write(Lesson lesson, const Route& route, const TagRecord& tag, LinkScope scope,
                    StoreWrite& out) noexcept;

}  // namespace registry_cache
