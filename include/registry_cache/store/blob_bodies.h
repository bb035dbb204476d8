// The table of an Environment that says which blob bodies the edge's disk holds (their files
// are BlobFiles'): "blob_bodies", content_key (algorithm byte, digest bytes) -> the body's
// size and when it was stored, and under the key "\0" the bytes of all bodies together, kept
// in the same transactions as the records so that the cap (blobs_max_size) can be held
// without reading the directory. A body is stored once per digest; whether a repository may
// be answered with it is its link's to say (blob_links).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "registry_cache/digest.h"
#include "registry_cache/store.h"
#include "registry_cache/store/environment.h"

namespace registry_cache::store {

class BlobBodies {
public:
    static constexpr const char* table_name = "blob_bodies";

    int open(Environment& env, WriteTxn& txn, std::string& error) noexcept;

    // The record of the body under `content_key` (keys.h: content_key, or content_key_in a
    // link's key): hit with its size, miss when none (or of a version this code does not
    // know), error when LMDB fails or the record is damaged.
    LookupStatus read(MDB_txn* txn, std::string_view content_key, BodyRecord& out,
                      std::string* error) const noexcept;

    // Records (kind record: descriptor.size) or forgets (clear_link) the body of
    // `write.digest`, keeping the total in step. Returns an LMDB code.
    int apply(MDB_txn* txn, const StoreWrite& write, std::string& error) const;

    // A purge: forgets the record of the body under `content_key` (`gone` says whether there
    // was one), keeping the total in step. An LMDB code.
    int forget(MDB_txn* txn, std::string_view content_key, bool& gone, std::string& error) const;
    // Forgets the bodies of the oldest time (when kept, or renewed when served again) until
    // the total is at most `target` bytes, in one transaction; their digests ("algorithm:hex")
    // go to `removed`, for their files to be removed once it committed.
    int evict_to(Environment& env, std::uint64_t target, std::vector<std::string>& removed,
                 std::string& error) const;

    // The bytes of every body recorded, and how many bodies.
    bool totals(MDB_txn* txn, std::uint64_t& bytes, std::uint64_t& bodies, std::string& error) const noexcept;

    // A record's bytes; the key of the total (`total_key`) holds no record.
    static DecodeStatus decode(std::string_view bytes, BodyRecord& out) noexcept;
    static bool is_total_key(std::string_view key) noexcept { return key == std::string_view("\0", 1); }

    // The table's handle, for a walk of its records (Store::walk).
    MDB_dbi dbi() const noexcept { return dbi_; }

private:
    MDB_dbi dbi_ = 0;
};

}  // namespace registry_cache::store
