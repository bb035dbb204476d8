// The blob-link table of an Environment: "blob_links", link_key (repository \0 algorithm
// byte, digest bytes) -> LinkRecord (scope, size, media type, time learned). One record is
// all a hit reads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "registry_cache/descriptor.h"
#include "registry_cache/store.h"
#include "registry_cache/store/environment.h"

namespace registry_cache::store {

class BlobLinks {
public:
    static constexpr const char* table_name = "blob_links";

    // Opens (creating) the table in the transaction that opens the store, and drops the
    // table of the version 1 layout ("descriptors") whose pages nothing would free.
    int open(Environment& env, WriteTxn& txn, std::string& error) noexcept;

    // Reads the record under `key`: hit when decoded, miss when absent or of a version this
    // code does not know, error (reported, when `error` is given) when LMDB fails or the
    // record is damaged. Copies what it returns: values live only as long as the read.
    LookupStatus read(MDB_txn* txn, std::string_view key, LinkRecord& out,
                      std::string* error) const noexcept;

    // Applies one validated write in `txn`. A credentialed record never replaces nor alters
    // a public one: `kept` then says false (the write changed nothing). Returns an LMDB code,
    // `error` set on failure.
    int apply(MDB_txn* txn, const StoreWrite& write, std::string& error, bool& kept) const;

    // Deletes the oldest tenth of the records, by the time they were learned (hits write
    // nothing, so that is the cache's measure of least recently useful), in one transaction.
    int evict_oldest(Environment& env, std::uint64_t& evicted, std::string& error) const noexcept;

    // A purge: forgets the link under `key` (`gone` says whether there was one), or every link
    // of a repository (`prefix`: its name and NUL), adding the content keys of those that went
    // to `contents` and their number to `count`. LMDB codes.
    int forget(MDB_txn* txn, std::string_view key, bool& gone, std::string& error) const noexcept;
    int forget_repository(MDB_txn* txn, std::string_view prefix, std::vector<std::string>& contents,
                          std::uint64_t& count, std::string& error) const noexcept;
    // Takes out of `contents` (content keys) those some link still names, in one pass over
    // the table.
    int keep_unlinked(MDB_txn* txn, std::vector<std::string>& contents, std::string& error) const noexcept;
    bool count(MDB_txn* txn, std::uint64_t& entries, std::string& error) const noexcept;

    // The table's handle, for a walk of its records (Store::walk).
    MDB_dbi dbi() const noexcept { return dbi_; }

private:
    MDB_dbi dbi_ = 0;
};

}  // namespace registry_cache::store
