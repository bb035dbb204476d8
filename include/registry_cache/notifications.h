// The registry's own notifications (registry_cache_notifications): distribution's webhook
// envelope, `{"events":[...]}` (application/vnd.docker.distribution.events.v1+json), read into
// what the cache does with each event.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace registry_cache {

struct RegistryEvent {
    enum class Action {
        forget_digest,      // a manifest or a blob deleted (the registry says not which)
        forget_tag,         // a tag deleted, or a manifest pushed under it (the next pull revalidates)
        forget_repository,  // a repository deleted
        learn_blob          // a blob pushed or mounted: its size and type are the registry's
    } action = Action::forget_digest;
    std::string repository;  // a valid name
    std::string reference;   // a cacheable digest ("algorithm:hex") or a valid tag; empty for a repository
    std::string media_type;  // of a blob learned
    std::uint64_t size = 0;  // of a blob learned
    std::string host;        // the Host the registry was asked by (request.host), when printable
    std::int64_t at = 0;     // its timestamp, nanoseconds since the epoch; deleted_at_unknown for a
                             // deletion, pushed_at_unknown for a push, whose timestamp is unreadable
};

// An event's RFC 3339 timestamp in nanoseconds since the epoch; false when it is not one, or
// out of what nanoseconds since the epoch hold (1970 to April 2262).
bool parse_event_time(std::string_view text, std::int64_t& nanoseconds) noexcept;

// Reads the envelope. Events that change nothing the cache holds (pulls, a manifest pushed by
// digest) are left out; events with an invalid repository, digest or tag are left out and
// counted in `skipped`. False, with `why`, for a body that is no such envelope.
bool read_registry_events(std::string_view json, std::vector<RegistryEvent>& out, std::size_t& skipped,
                          std::string& why);

}  // namespace registry_cache
