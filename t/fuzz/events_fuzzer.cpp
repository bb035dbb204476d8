// Any bytes as the registry's webhook envelope and as a purge's path: neither reader may crash,
// leak or hang, and whatever they accept names only valid repositories, digests and tags (what
// then becomes a store key).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "registry_cache/digest.h"
#include "registry_cache/keys.h"
#include "registry_cache/notifications.h"
#include "registry_cache/purge.h"
#include "registry_cache/reference.h"
#include "registry_cache/upstream_namespace.h"

using namespace registry_cache;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::vector<RegistryEvent> events;
    std::size_t skipped = 0;
    std::string why;
    if (read_registry_events(text, events, skipped, why)) {
        for (const RegistryEvent& e : events) {
            if (!is_valid_name(e.repository)) std::abort();
            const bool digest = e.action == RegistryEvent::Action::forget_digest ||
                                e.action == RegistryEvent::Action::learn_blob;
            if (digest && link_key(e.repository, parse_digest(e.reference).digest).empty()) std::abort();
            if (e.action == RegistryEvent::Action::forget_tag && tag_key(e.repository, e.reference).empty()) std::abort();
            // The Host it names makes a namespace only of printable bytes.
            const std::string hosted = hosted_namespace("ns", host_name_of(e.host));
            if (!hosted.empty() && link_key(in_namespace(hosted, e.repository), parse_digest(e.reference).digest).empty() &&
                digest) {
                std::abort();
            }
        }
    }
    PurgeTarget target;
    if (parse_purge(text, target) == RouteError::none) {
        if (!is_valid_name(target.name)) std::abort();
        const bool by_digest = target.kind == PurgeTarget::Kind::blob || target.kind == PurgeTarget::Kind::manifest;
        // (A digest of an algorithm the cache never stores is valid, and matches nothing.)
        if (by_digest && parse_digest(target.reference).status != DigestStatus::ok) std::abort();
        if (target.kind == PurgeTarget::Kind::tag && tag_key(target.name, target.reference).empty()) std::abort();
    }
    return 0;
}
