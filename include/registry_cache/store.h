// The blob-descriptor store: one LMDB environment (data.mdb + lock.mdb) in a directory, with
// the named database "blob_links" (repository \0 digest -> LinkRecord: scope, size, media type,
// time learned), so that a hit reads one record and each repository keeps what its own
// upstream answer said. One Store per process: LMDB environments must not cross fork(), so
// nginx's master opens one to validate and closes it, and each worker opens its own after
// the fork. The Store is a facade over store::Environment (store/environment.h) and its
// tables (store/blob_links.h): tables to come open in the same environment.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "registry_cache/descriptor.h"
#include "registry_cache/ping_record.h"
#include "registry_cache/tag_record.h"
#include "registry_cache/digest.h"
#include "registry_cache/purge.h"

namespace registry_cache {

struct StoreOptions {
    std::string directory;           // must exist; data.mdb and lock.mdb are created in it
    std::uint64_t map_size = 1 << 30;  // bytes: the cap of the file (max_size); 0: the size
                                       // the file was last committed with (a tool beside a
                                       // running nginx must not change it)
    unsigned max_readers = 126;      // reader slots: workers each hold one
    bool read_only = false;          // MDB_RDONLY: nothing created, every write refused
};

enum class LookupStatus {
    hit,    // the link record present and readable
    miss,   // absent, or of a record version this code does not know
    error   // LMDB failed or a record is damaged: count it, go upstream, write nothing
};

struct LookupResult {
    LookupStatus status = LookupStatus::miss;
    BlobDescriptor descriptor;  // valid on hit; its stored_at is the link's
    BlobLink link;              // valid on hit
};

// One change of a write batch. A record learned with credentials (link.scope credentialed)
// never replaces nor alters a public link of the same (repository, digest): it only creates
// a link where none is, or refreshes a credentialed one. A public record replaces anything.
// A manifest is recorded with its body, kept once per digest however many repositories link
// it; the body must be exactly descriptor.size bytes that hash to the digest (checked again
// at commit: a body that does not is refused with the whole batch).
struct StoreWrite {
    enum class Kind { record, clear_link } kind = Kind::record;
    enum class Object { blob, manifest, tag, ping, blob_body } object = Object::blob;
    std::string repository;      // validated name
    std::string digest;          // validated "algorithm:encoded" of sha256/384/512 (a tag's:
                                 // its manifest's; empty to forget a tag)
    std::string tag;             // for a tag
    // For a tag's record: TagRecord::learned_naming_list (its size is descriptor.size).
    bool tag_learned_naming_list = false;
    BlobDescriptor descriptor;   // for record: size and media type (stored_at is the link's)
    BlobLink link;               // for record
    std::string body;            // for a manifest record: its bytes
    PingRecord ping;             // for a ping: its record; `repository` holds the Host it was
                                 // asked by (is_ping_host), `digest` is unused
    // A blob body (its file is BlobFiles'): recorded with descriptor.size and link.stored_at,
    // or forgotten (clear_link); by digest alone, the repository unused.
};

// A blob body the edge's disk holds, once per digest. `stored_at` is when it was kept, or
// last served once that was body_touch_interval later: eviction goes by it, oldest first, so
// a body served all day stays while one nobody asks for goes, without a write per hit.
struct BodyRecord {
    std::uint64_t size = 0;
    std::uint64_t stored_at = 0;
};

inline constexpr std::uint64_t body_touch_interval = 3600;  // seconds

// Whether serving a body at `now` should renew its record's time.
constexpr bool body_touch_due(const BodyRecord& record, std::uint64_t now) noexcept {
    return now >= record.stored_at + body_touch_interval;
}

// A blob's link in a repository and, when the link is there, whether its body is held.
struct BodyLookup {
    LookupStatus status = LookupStatus::miss;  // of the link, as lookup()
    BlobDescriptor descriptor;                 // valid on a link hit; its stored_at is the link's
    BlobLink link;                             // valid on a link hit
    LookupStatus body_status = LookupStatus::miss;
    BodyRecord body;                           // valid when body_status is hit
};

// A manifest's bytes as a lookup read them: shared, never changed, by every lookup that found
// them and the store's memory of its recent reads (store/recent_reads.h), so that a repeated
// hit copies them once, into the answer.
class ManifestBytes {
public:
    std::string_view view() const noexcept { return bytes_ ? std::string_view(*bytes_) : std::string_view(); }
    std::size_t size() const noexcept { return bytes_ ? bytes_->size() : 0; }
    // A copy of `bytes`; false (and empty) out of memory.
    bool assign(std::string_view bytes) noexcept;

private:
    std::shared_ptr<const std::string> bytes_;
};

// A manifest lookup: the link's record and, on a hit, the body.
struct ManifestLookup {
    LookupStatus status = LookupStatus::miss;
    BlobDescriptor descriptor;  // valid on hit; its stored_at is the link's
    BlobLink link;              // valid on hit
    ManifestBytes body;         // valid on hit
};

// A tag's record and the manifest it names in the same repository, read together: a hit
// only when both are (`manifest.status` says what became of the manifest).
struct TaggedLookup {
    LookupStatus status = LookupStatus::miss;
    TagRecord tag;            // valid when the tag was found (status hit, or manifest missing)
    bool tag_found = false;
    ManifestLookup manifest;  // valid on hit
};

struct StoreStats {
    std::uint64_t links = 0;        // entries of "blob_links": each a blob known in a repository
    std::uint64_t manifest_links = 0;   // each a manifest known in a repository
    std::uint64_t manifest_bodies = 0;  // manifests held, once per digest
    std::uint64_t tags = 0;             // tags known per repository
    std::uint64_t blob_bodies = 0;      // blob bodies held on disk, once per digest
    std::uint64_t blob_body_bytes = 0;  // and their bytes
    std::uint64_t map_used = 0;     // bytes of the map in use: (last page + 1) * page size
    std::uint64_t map_size = 0;     // bytes the map may grow to
};

// The tables of the store, as an operator's tool walks them (Store::walk).
enum class StoreTable { blob_links, manifest_links, tags, blob_bodies, manifest_bodies };
const char* table_name(StoreTable table) noexcept;

// One record as Store::walk reads it; the views live only for the visit. `status` is the
// value's (damaged also for a key that is none of the table's); what it says is valid when ok.
struct StoredRecord {
    StoreTable table = StoreTable::blob_links;
    std::string_view key;         // the raw key, for forget_records
    std::string_view repository;  // as the store keeps it (split_namespace); links and tags
    std::string_view reference;   // "algorithm:hex" (links and bodies), or the tag
    DecodeStatus status = DecodeStatus::ok;
    LinkRecord link;              // blob and manifest links
    TagRecord tag;                // tags
    BodyRecord body;              // blob bodies
    std::uint32_t holders = 0;    // manifest bodies: the links that hold it
    std::string_view manifest;    // and its bytes
};

// Called for each record in key order; false stops the walk.
using RecordVisitor = std::function<bool(const StoredRecord&)>;

class Store {
public:
    // Opens (creating if needed) the environment. MDB_NOTLS so one read transaction can be
    // recycled by mdb_txn_reset/renew; MDB_NOSYNC: a crash may lose the last commits, never
    // the file's integrity. Clears reader slots of dead processes (mdb_reader_check).
    // Returns nullptr and sets `error` (naming the LMDB call and its message) on failure;
    // `damaged`, when given, says whether the failure was the file's (not an LMDB file, a
    // corrupted or truncated one) rather than the machine's: only such a file may be moved
    // aside and rebuilt.
    static std::unique_ptr<Store> open(const StoreOptions& options, std::string& error,
                                       bool* damaged = nullptr) noexcept;

    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // Looks up the link of (repository, digest) and the digest's descriptor, in one read
    // transaction that is renewed before and reset after; copies what it returns. Allocates
    // nothing. `error` (if not null) gets the reason of an error result.
    LookupResult lookup(std::string_view repository, const Digest& digest,
                        std::string* error = nullptr) noexcept;

    // The same for a manifest, with its body on a hit (copied once, however often it is
    // found while nothing is committed; when that allocation fails, an error). A link whose
    // body is missing reads as a miss.
    ManifestLookup lookup_manifest(std::string_view repository, const Digest& digest,
                                   std::string* error = nullptr) noexcept;

    // A tag and the manifest it names, in one read transaction.
    TaggedLookup lookup_tag(std::string_view repository, std::string_view tag,
                            std::string* error = nullptr) noexcept;

    // Applies every change in one write transaction. When the map is full (max_size), the
    // oldest tenth of the entries is evicted and the batch tried once more; `evicted`, when
    // given, gets how many links went; `unchanged` (of blobs) and `unchanged_manifests`, when
    // given, how many credentialed records
    // left a public link as it was. On failure nothing of the batch is applied and `error`
    // names the failure (MDB_MAP_FULL included, when eviction did not make room).
    // The link of (repository, digest), as lookup(), and the record of the digest's body, in
    // one read transaction.
    BodyLookup lookup_blob_body(std::string_view repository, const Digest& digest,
                                std::string* error = nullptr) noexcept;

    // The bytes of the blob bodies recorded, and how many: what blobs_max_size is held to
    // (one read of the table's total, not the whole of stats()).
    bool blob_body_totals(std::uint64_t& bytes, std::uint64_t& bodies, std::string& error) noexcept;

    // The record of `digest`'s body alone (whichever repositories link it).
    LookupStatus lookup_body_record(const Digest& digest, BodyRecord& out, std::string* error = nullptr) noexcept;

    // Forgets the blob bodies least recently used (BodyRecord) until theirs is at most `target` bytes in all;
    // `removed` gets their digests, whose files the caller removes. False with `error`.
    bool evict_blob_bodies(std::uint64_t target, std::vector<std::string>& removed,
                           std::string& error) noexcept;

    // The upstream's last answer to an anonymous ping (/v2/) asked by `host`, to replay when
    // it fails.
    LookupStatus lookup_ping(std::string_view host, PingRecord& out, std::string* error = nullptr) noexcept;

    // An operator's purge (purge.h) of `target` in each of `repositories` (its name as the
    // store keeps it, in each namespace the purge reaches), in one write transaction: links
    // and tags go, a manifest's body with its last link, and a blob's body once no link of
    // any repository names it (one pass over the blob links). `removed_bodies` gets the
    // digests ("algorithm:hex") of the blob bodies forgotten, whose files the caller removes.
    bool purge(const std::vector<std::string>& repositories, const PurgeTarget& target, PurgeCount& count,
               std::vector<std::string>& removed_bodies, std::string& error) noexcept;
    bool commit(const std::vector<StoreWrite>& batch, std::string& error,
                std::uint64_t* evicted = nullptr, std::uint64_t* unchanged = nullptr,
                std::uint64_t* unchanged_manifests = nullptr) noexcept;

    bool stats(StoreStats& out, std::string& error) noexcept;

    // Every record of `table` (of `repository` alone, as the store keeps it, when not empty;
    // not for the tables of bodies) in one read transaction. False with `error` when LMDB
    // failed; a damaged record is visited, not an error.
    bool walk(StoreTable table, std::string_view repository, const RecordVisitor& visit,
              std::string& error) noexcept;

    // Removes the records under `keys` of `table`, in one write transaction, as their tables
    // remove them: a manifest link gives its hold on the body back, a blob body's record
    // leaves the total; keys no longer there are skipped. `forgotten` counts what went.
    bool forget_records(StoreTable table, const std::vector<std::string>& keys,
                        std::uint64_t& forgotten, std::string& error) noexcept;

    // Clears the reader slots of processes that died holding one; returns how many.
    int clear_stale_readers() noexcept;

    // Gives this Store's reader slot back to the table (a worker that stops serving hits,
    // such as one exiting after a reload, must not hold one for as long as its last transfer
    // lasts). A later lookup or stats call takes a slot again, for its own duration only.
    void release_reader() noexcept;

private:
    struct Impl;
    explicit Store(std::unique_ptr<Impl> impl) noexcept;
    std::unique_ptr<Impl> impl_;
};

}  // namespace registry_cache
