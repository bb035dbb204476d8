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

}  // namespace registry_cache
