// Distribution's webhook envelope, read (notifications.h).
#include "registry_cache/notifications.h"

#include <limits>

#include "registry_cache/auth/json.h"
#include "registry_cache/deletions.h"
#include "registry_cache/digest.h"
#include "registry_cache/keys.h"
#include "registry_cache/reference.h"
#include "registry_cache/rfc3339.h"

namespace registry_cache {
namespace {

using json::Type;
using json::Value;

std::string_view text_of(const Value* v) noexcept {
    return v != nullptr && v->is_string() ? std::string_view(v->text) : std::string_view{};
}

bool printable(std::string_view s) noexcept {
    for (const char c : s) {
        if (c < '!' || c > '~') return false;
    }
    return true;
}

bool cacheable_digest(std::string_view text) noexcept {
    const DigestParse parsed = parse_digest(text);
    return parsed.status == DigestStatus::ok && !content_key(parsed.digest).empty();
}

// What one event asks of the cache: false when nothing (`skip` set when it was invalid).
bool read_event(const Value& event, RegistryEvent& out, bool& skip) {
    skip = false;
    const Value* target = event.find("target");
    if (event.type != Type::object || target == nullptr || target->type != Type::object) {
        skip = true;
        return false;
    }
    const std::string_view action = text_of(event.find("action"));
    const std::string_view repository = text_of(target->find("repository"));
    const std::string_view digest = text_of(target->find("digest"));
    const std::string_view tag = text_of(target->find("tag"));
    const std::string_view url = text_of(target->find("url"));
    if (action != "delete" && action != "push" && action != "mount") return false;  // pull, and what may come
    if (!is_valid_name(repository) || (!digest.empty() && !cacheable_digest(digest)) ||
        (!tag.empty() && !is_valid_tag(tag))) {
        skip = true;
        return false;
    }
    out = RegistryEvent{};
    out.repository.assign(repository);
    if (!parse_event_time(text_of(event.find("timestamp")), out.at)) {
        out.at = action == "delete" ? deleted_at_unknown : pushed_at_unknown;
    }
    if (const Value* request = event.find("request")) {
        const std::string_view host = text_of(request->find("host"));
        if (printable(host)) out.host.assign(host);
    }
    if (action == "delete") {
        if (!tag.empty()) {
            out.action = RegistryEvent::Action::forget_tag;
            out.reference.assign(tag);
        } else if (!digest.empty()) {
            out.action = RegistryEvent::Action::forget_digest;
            out.reference.assign(digest);
        } else {
            out.action = RegistryEvent::Action::forget_repository;
        }
        return true;
    }
    // A push or a mount: of a manifest under a tag (the tag moved), or of a blob.
    if (!tag.empty()) {
        out.action = RegistryEvent::Action::forget_tag;
        out.reference.assign(tag);
        return true;
    }
    std::int64_t size = 0;
    const std::string_view media_type = text_of(target->find("mediaType"));
    const Value* size_value = target->find("size");
    const bool blob = url.find("/blobs/") != std::string_view::npos;
    if (!blob || digest.empty()) return false;  // a manifest by digest: nothing held goes stale
    if (size_value == nullptr || !size_value->as_int64(size) || size <= 0 || media_type.empty() ||
        media_type.size() > 255 || !printable(media_type)) {
        skip = true;
        return false;
    }
    out.action = RegistryEvent::Action::learn_blob;
    out.reference.assign(digest);
    out.media_type.assign(media_type);
    out.size = static_cast<std::uint64_t>(size);
    return true;
}

}  // namespace

bool parse_event_time(std::string_view text, std::int64_t& nanoseconds) noexcept {
    std::int64_t seconds = 0;
    std::int32_t fraction = 0;
    // Within what nanoseconds since the epoch hold.
    if (!parse_rfc3339(text, seconds, &fraction) || seconds < 0 ||
        seconds > std::numeric_limits<std::int64_t>::max() / 1000000000 - 1) {
        return false;
    }
    nanoseconds = seconds * 1000000000 + fraction;
    return true;
}

bool read_registry_events(std::string_view text, std::vector<RegistryEvent>& out, std::size_t& skipped,
                          std::string& why) {
    out.clear();
    skipped = 0;
    Value doc;
    if (!json::parse(text, doc, why)) return false;
    const Value* events = doc.find("events");
    if (doc.type != Type::object || events == nullptr || events->type != Type::array) {
        why = "no \"events\" array";
        return false;
    }
    for (const Value& event : events->items) {
        RegistryEvent read;
        bool skip = false;
        if (read_event(event, read, skip)) {
            out.push_back(std::move(read));
        } else if (skip) {
            ++skipped;
        }
    }
    return true;
}

}  // namespace registry_cache
