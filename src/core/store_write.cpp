#include "registry_cache/store_write.h"

#include <new>

namespace registry_cache {

bool make_store_write(Lesson lesson, const Route& route, const BlobDescriptor& descriptor,
                      LinkScope scope, StoreWrite& out) noexcept {
    if (lesson == Lesson::nothing || !is_recordable_blob(route)) return false;
    try {
        out.kind = lesson == Lesson::record ? StoreWrite::Kind::record : StoreWrite::Kind::clear_link;
        out.repository.assign(route.name);
        out.digest.assign(digest_text(route));
        out.descriptor = descriptor;
        out.link.scope = scope;
        out.link.stored_at = descriptor.stored_at;
        return true;
    } catch (const std::bad_alloc&) {
        out.repository.clear();
        out.digest.clear();
        return false;
    }
}

}  // namespace registry_cache
