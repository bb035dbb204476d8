// Deletions remembered for events out of order (deletions.h).
#include "registry_cache/deletions.h"

namespace registry_cache {

void remember_deletion(DeletionMemory& memory, std::uint64_t key, std::int64_t at) noexcept {
    if (key == 0) return;
    // The same object deleted again: its slot is given up for the newest, at its latest time,
    // so that it is overwritten as late as a deletion of now (not of its first time).
    for (Deletion& d : memory.slots) {
        if (d.key == key) {
            if (d.at > at) at = d.at;
            d = Deletion{};
            break;
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
