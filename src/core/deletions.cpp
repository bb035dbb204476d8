// Deletions remembered for events out of order (deletions.h).
#include "registry_cache/deletions.h"

namespace registry_cache {

void remember_deletion(DeletionMemory& memory, std::uint64_t key, std::int64_t at) noexcept {
    if (key == 0) return;
    // The same object deleted again: one slot, at its latest time.
    for (Deletion& d : memory.slots) {
        if (d.key == key) {
            if (at > d.at) d.at = at;
            return;
        }
    }
    memory.slots[memory.next % remembered_deletions] = Deletion{key, at};
    memory.next = static_cast<std::uint32_t>((memory.next + 1) % remembered_deletions);
}

bool deleted_since(const DeletionMemory& memory, std::uint64_t key, std::int64_t at) noexcept {
    if (key == 0) return false;
    for (const Deletion& d : memory.slots) {
        if (d.key == key && d.at >= at) return true;
    }
    return false;
}

}  // namespace registry_cache
