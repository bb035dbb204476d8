// The tag table of an Environment: "tags", tag_key (repository \0 tag) -> TagRecord (the
// manifest's digest and media type, when, for whom). Forgotten when a push through the edge
// moves the tag, or when the manifest it names is deleted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "registry_cache/store.h"
#include "registry_cache/store/environment.h"
#include "registry_cache/tag_record.h"

namespace registry_cache::store {

class Tags {
public:
    static constexpr const char* table_name = "tags";

    int open(Environment& env, WriteTxn& txn, std::string& error) noexcept;

    LookupStatus read(MDB_txn* txn, std::string_view repository, std::string_view tag,
                      TagRecord& out, std::string* error) const noexcept;

    // Records or forgets the tag of `write`; as BlobLinks::apply (a credentialed answer
    // never alters a public record).
    int apply(MDB_txn* txn, const StoreWrite& write, std::string& error, bool& kept) const;

    // Forgets every tag of `repository` that names `digest` (a manifest deleted upstream);
    // `forgotten`, when given, adds how many.
    int forget_pointing_to(MDB_txn* txn, std::string_view repository, std::string_view digest,
                           std::string& error, std::uint64_t* forgotten = nullptr) const;

    // A purge: forgets the tag under `key` (`gone` says whether there was one), or every tag
    // of a repository (`prefix`: its name and NUL, `count` adds how many). LMDB codes.
    int forget(MDB_txn* txn, std::string_view key, bool& gone, std::string& error) const noexcept;
    int forget_repository(MDB_txn* txn, std::string_view prefix, std::uint64_t& count,
                          std::string& error) const noexcept;
    int evict_oldest(Environment& env, std::uint64_t& evicted, std::string& error) const noexcept;

    bool count(MDB_txn* txn, std::uint64_t& tags, std::string& error) const noexcept;

    // The table's handle, for a walk of its records (Store::walk).
    MDB_dbi dbi() const noexcept { return dbi_; }

private:
    MDB_dbi dbi_ = 0;
};

}  // namespace registry_cache::store
