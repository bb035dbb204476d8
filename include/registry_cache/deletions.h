// Deletions the registry's notifications reported lately, so that events arriving out of order
// cannot bring back what was deleted after them: a push or mount event older than a deletion
// of the same blob (or of its whole repository) teaches nothing. Distribution delivers one
// endpoint's events in order, but several registry instances behind one address each queue
// their own, and a batch the edge failed is sent again later. A ring in shared memory, the
// oldest deletion overwritten by the newest: plain data (mapped at different addresses), every
// call under the zone's lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

namespace registry_cache {

inline constexpr std::size_t remembered_deletions = 512;

// An event's time, nanoseconds since the epoch, for events whose timestamp is unreadable: a
// deletion then counts as the latest there is, a push as the earliest (either way the cache
// keeps less).
inline constexpr std::int64_t deleted_at_unknown = std::numeric_limits<std::int64_t>::max();
inline constexpr std::int64_t pushed_at_unknown = std::numeric_limits<std::int64_t>::min();

struct Deletion {
    std::uint64_t key;  // flight_key(repository, digest), or of (repository, "") for all of it; 0: free
    std::int64_t at;    // the event's time
};

struct DeletionMemory {
    Deletion slots[remembered_deletions];
    std::uint32_t next;  // the slot the next deletion takes
};

void remember_deletion(DeletionMemory& memory, std::uint64_t key, std::int64_t at) noexcept;

// Whether a deletion of `key` at `at` or later is remembered.
bool deleted_since(const DeletionMemory& memory, std::uint64_t key, std::int64_t at) noexcept;

}  // namespace registry_cache
