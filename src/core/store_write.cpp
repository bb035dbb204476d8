#include "registry_cache/store_write.h"

#include <new>

namespace registry_cache {

bool make_store_write(Lesson lesson, const Route& route, const BlobDescriptor& descriptor,
                      LinkScope scope, StoreWrite& out, std::string_view body) noexcept {
    const bool manifest = is_recordable_manifest(route);
    if (lesson == Lesson::nothing || (!is_recordable_blob(route) && !manifest)) return false;
    if (manifest && lesson == Lesson::record) {
        return make_manifest_write(route.name, digest_text(route), descriptor, scope, body, out);
    }
    try {
        out.kind = lesson == Lesson::record ? StoreWrite::Kind::record : StoreWrite::Kind::clear_link;
        out.object = manifest ? StoreWrite::Object::manifest : StoreWrite::Object::blob;
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

bool make_manifest_write(std::string_view repository, std::string_view digest,
                         const BlobDescriptor& descriptor, LinkScope scope, std::string_view body,
                         StoreWrite& out) noexcept {
    // A manifest is recorded with its bytes or not at all.
    if (body.empty()) return false;
    try {
        out.kind = StoreWrite::Kind::record;
        out.object = StoreWrite::Object::manifest;
        out.repository.assign(repository);
        out.digest.assign(digest);
        out.body.assign(body.data(), body.size());
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

bool make_tag_write(Lesson lesson, const Route& route, const TagRecord& tag, LinkScope scope,
                    StoreWrite& out) noexcept {
    if (lesson == Lesson::nothing || !is_tag_route(route)) return false;
    try {
        out.kind = lesson == Lesson::record ? StoreWrite::Kind::record : StoreWrite::Kind::clear_link;
        out.object = StoreWrite::Object::tag;
        out.repository.assign(route.name);
        out.tag.assign(route.reference);
        if (lesson == Lesson::record) {
            out.digest.assign(tag.digest.view());
            out.descriptor.media_type = tag.media_type;
            out.descriptor.size = tag.size;
            out.link.scope = scope;
            out.link.stored_at = tag.stored_at;
            out.tag_learned_naming_list = tag.learned_naming_list;
        }
        return true;
    } catch (const std::bad_alloc&) {
        out.repository.clear();
        out.tag.clear();
        out.digest.clear();
        return false;
    }
}

}  // namespace registry_cache
