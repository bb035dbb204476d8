// What a process's last reads of manifests and tags found, answered again while nothing was
// committed since. A fleet's pulls ask for the same few manifests and tags thousands of times
// a second; each read of the tables costs a read transaction, two or three B-tree descents and
// the records' decoding, which is most of what a manifest hit costs the edge. LMDB numbers its
// commits (the last one's id is on the meta page, where every process sees it), so a read kept
// with the id it was made under is still true exactly while that id is the last.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace registry_cache::store {

// `Result` is a lookup's result (ManifestLookup, TaggedLookup). One worker's event loop reads:
// not for concurrent use.
template <typename Result>
class RecentReads {
public:
    // Reads whose results hold more than this are not kept: a few slots of 4 MiB manifests
    // would otherwise pin many megabytes per worker.
    static constexpr std::size_t max_kept_bytes = 64 * 1024;

    // What a read of (repository, reference) found under commit `commit`, if kept then.
    const Result* find(std::uint64_t commit, std::string_view repository,
                       std::string_view reference) const noexcept {
        const Slot& slot = slots_[index(repository, reference)];
        if (commit == 0 || slot.commit != commit || slot.repository != repository || slot.reference != reference) {
            return nullptr;
        }
        return &slot.result;
    }

    // Keeps what a read under commit `commit` found (holding `bytes` of body), in the place of
    // what its slot held. Out of memory, the slot is emptied instead: a memory is never needed.
    void keep(std::uint64_t commit, std::string_view repository, std::string_view reference,
              const Result& result, std::size_t bytes) noexcept {
        Slot& slot = slots_[index(repository, reference)];
        slot.commit = 0;
        if (commit == 0 || bytes > max_kept_bytes) return;
        try {
            // Assignments reuse the slot's buffers: once warm, keeping allocates nothing.
            slot.repository.assign(repository.data(), repository.size());
            slot.reference.assign(reference.data(), reference.size());
            slot.result = result;
        } catch (...) {
            return;
        }
        slot.commit = commit;
    }

private:
    static constexpr std::size_t slot_count = 64;

    struct Slot {
        std::uint64_t commit = 0;  // 0: empty
        std::string repository;
        std::string reference;
        Result result;
    };

    static std::size_t index(std::string_view repository, std::string_view reference) noexcept {
        const std::size_t h = std::hash<std::string_view>{}(repository) * 31 + std::hash<std::string_view>{}(reference);
        return h % slot_count;
    }

    std::array<Slot, slot_count> slots_{};
};

}  // namespace registry_cache::store
