// The manifest tables of an Environment: "manifest_links", link_key -> LinkRecord (the same
// record, scope and credential rules as a blob link), and "manifest_bodies", content_key ->
// version(1) links(4, little endian) body: each body once per digest, held as long as some
// repository links it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "registry_cache/descriptor.h"
#include "registry_cache/store.h"
#include "registry_cache/store/environment.h"

namespace registry_cache::store {

class Manifests {
public:
    static constexpr const char* links_table = "manifest_links";
    static constexpr const char* bodies_table = "manifest_bodies";

    int open(Environment& env, WriteTxn& txn, std::string& error) noexcept;

    // The link of (repository, digest) and, when it is a hit, the body, copied into `body`.
    // A link without its body (which this code never leaves) is a miss.
    LookupStatus read(MDB_txn* txn, std::string_view repository, const Digest& digest,
                      LinkRecord& link, ManifestBytes& body, std::string* error) const noexcept;

    // Applies one validated manifest write; as BlobLinks::apply.
    int apply(MDB_txn* txn, const StoreWrite& write, std::string& error, bool& kept) const;

    // Evicts the oldest tenth of the links; bodies go with their last link.
    int evict_oldest(Environment& env, std::uint64_t& evicted, std::string& error) const noexcept;

    // A purge: forgets the link under `key` (`gone` says whether there was one), or every link
    // of a repository (`prefix`: its name and NUL, `count` adds how many); a body goes with
    // its last link. LMDB codes.
    int forget(MDB_txn* txn, std::string_view key, bool& gone, std::string& error) const noexcept;
    int forget_repository(MDB_txn* txn, std::string_view prefix, std::uint64_t& count,
                          std::string& error) const noexcept;
    // How many bodies are held, in `txn`.
    int bodies_held(MDB_txn* txn, std::uint64_t& bodies, std::string& error) const noexcept;
    bool count(MDB_txn* txn, std::uint64_t& links, std::uint64_t& bodies,
               std::string& error) const noexcept;

    // The tables' handles, for a walk of their records (Store::walk).
    MDB_dbi links_dbi() const noexcept { return links_; }
    MDB_dbi bodies_dbi() const noexcept { return bodies_; }
    // A body record's count of links and bytes: false when it is none this code wrote.
    static bool decode_body(std::string_view record, std::uint32_t& links, std::string_view& body) noexcept;

private:
    // Adds `delta` (+1 or -1) to the links a body has; at 0 the body goes. A body to add a
    // link to that is not there yet is put with `body` (empty when removing).
    int hold(MDB_txn* txn, const MDB_val& content, int delta, std::string_view body,
             std::string& error) const;

    MDB_dbi links_ = 0;
    MDB_dbi bodies_ = 0;
};

}  // namespace registry_cache::store
