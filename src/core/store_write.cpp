#include "registry_cache/store_write.h"

#include <new>

namespace registry_cache {

bool make_store_write(Lesson lesson, const Route& route, const BlobDescriptor& descriptor,
                      LinkScope scope, StoreWrite& out, std::string_view body) noexcept {
    const bool manifest = is_recordable_manifest(route);
    if (lesson == Lesson::nothing || (!is_recordable_blob(route) && !manifest)) return false;
    // A manifest is recorded with its bytes or not at all.
    if (manifest && lesson == Lesson::record && body.empty()) return false;
    try {
        out.kind = lesson == Lesson::record ? StoreWrite::Kind::record : StoreWrite::Kind::clear_link;
        out.object = manifest ? StoreWrite::Object::manifest : StoreWrite::Object::blob;
        if (manifest && lesson == Lesson::record) out.body.assign(body.data(), body.size());
        out.repository.assign(route.name);
        out.digest.assign(digest_text(route));
        out.descriptor = descriptor;
        out.link.scope = scope;
        out.link.stored_at = descriptor.stored_at;
        return true;
    } catch (const std::bad_alloc&) {
        out.repository.clear();
        out.digest.clear();
        out.body.clear();
        return false;
    }
}

}  // namespace registry_cache
