// The LMDB environment of one cache directory (data.mdb + lock.mdb), apart from the tables
// that live in it: opening and validating the file (and saying when a failure was the
// file's, so that it may be moved aside), the map size, the reader table, the named-table
// registry, and RAII handles for what LMDB hands out (write transactions, the recycled read
// transaction, cursors). Part of the core: LMDB types, no nginx ones. One Environment per
// process and path: LMDB forbids a second open of a file in a process, and an environment
// must not cross fork().
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace registry_cache::store {

struct EnvironmentOptions {
    std::string directory;             // must exist; data.mdb and lock.mdb are created in it
    std::uint64_t map_size = 1 << 30;  // bytes: the cap of the file (max_size)
    unsigned max_readers = 126;        // reader slots: workers each hold one
    // An operator's tool beside a running nginx: the file is opened MDB_RDONLY (never created,
    // no table created or dropped, every write refused with EACCES); reads take a reader slot
    // of the same lock file as the workers'.
    bool read_only = false;
};

// Named tables an environment may hold: far more than today's need, so that the tables to
// come (manifests, tags, blob files, tokens) and retired ones fit without a change of file.
inline constexpr MDB_dbi max_tables = 16;

// Sets `error` to "what: detail"; never throws (a message that cannot be built is dropped).
void set_error(std::string& error, const char* what, const char* detail) noexcept;
void set_lmdb_error(std::string& error, const char* call, int rc) noexcept;

// Bytes as LMDB takes them (LMDB never writes through mv_data of a key or of a value given
// to mdb_put), and back.
inline MDB_val to_val(std::string_view s) noexcept {
    return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view to_view(const MDB_val& v) noexcept {
    return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// Codes that say the file is not (or no longer) a sound LMDB environment of ours, as opposed
// to a failure of the machine (permissions, memory, a full disk).
bool is_damage(int rc) noexcept;

// A write transaction, aborted on every path that does not reach commit().
class WriteTxn {
public:
    WriteTxn() noexcept = default;
    explicit WriteTxn(MDB_txn* txn) noexcept : txn_(txn) {}
    ~WriteTxn() {
        if (txn_ != nullptr) mdb_txn_abort(txn_);
    }
    WriteTxn(WriteTxn&& other) noexcept : txn_(std::exchange(other.txn_, nullptr)) {}
    WriteTxn& operator=(WriteTxn&&) = delete;
    WriteTxn(const WriteTxn&) = delete;
    WriteTxn& operator=(const WriteTxn&) = delete;

    MDB_txn* get() const noexcept { return txn_; }
    // mdb_txn_commit frees the transaction whether it succeeds or not.
    int commit() noexcept { return mdb_txn_commit(std::exchange(txn_, nullptr)); }

private:
    MDB_txn* txn_ = nullptr;
};

// A cursor, closed when it goes (declare it after its transaction, so that it goes first).
class Cursor {
public:
    Cursor() noexcept = default;
    ~Cursor() {
        if (cursor_ != nullptr) mdb_cursor_close(cursor_);
    }
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;

    int open(MDB_txn* txn, MDB_dbi dbi) noexcept { return mdb_cursor_open(txn, dbi, &cursor_); }
    MDB_cursor* get() const noexcept { return cursor_; }
    // Before a write transaction commits: LMDB frees a write transaction's cursors with it.
    void close() noexcept {
        if (cursor_ != nullptr) mdb_cursor_close(cursor_);
        cursor_ = nullptr;
    }

private:
    MDB_cursor* cursor_ = nullptr;
};

class Environment;

// The environment's one read transaction, renewed by Environment::read() and reset (or, once
// the reader was released, aborted) when the scope ends however it ends: no snapshot
// outlives a read (a pinned snapshot would make the file grow under a steady stream of
// writes). get() is null when the read could not begin (see rc()).
class ReadScope {
public:
    ~ReadScope();
    ReadScope(ReadScope&& other) noexcept
        : env_(std::exchange(other.env_, nullptr)), rc_(other.rc_) {}
    ReadScope& operator=(ReadScope&&) = delete;
    ReadScope(const ReadScope&) = delete;
    ReadScope& operator=(const ReadScope&) = delete;

    int rc() const noexcept { return rc_; }
    MDB_txn* get() const noexcept;
    // The id of the commit this read sees (Environment::last_commit); 0 when it did not begin.
    std::uint64_t commit() const noexcept;

private:
    friend class Environment;
    ReadScope(Environment* env, int rc) noexcept : env_(rc == MDB_SUCCESS ? env : nullptr), rc_(rc) {}
    Environment* env_;
    int rc_;
};

class Environment {
public:
    // Opens (creating if needed) the environment with MDB_NOTLS (one read transaction
    // recycled by reset/renew), MDB_NOSYNC (a crash may lose the last commits, never the
    // file's integrity) and MDB_NORDAHEAD; refuses a data.mdb cut short; clears reader slots
    // of dead processes. Returns nullptr and sets `error` on failure; `damaged`, when given,
    // says whether the failure was the file's rather than the machine's.
    static std::unique_ptr<Environment> open(const EnvironmentOptions& options, std::string& error,
                                             bool* damaged = nullptr) noexcept;

    ~Environment();
    Environment(const Environment&) = delete;
    Environment& operator=(const Environment&) = delete;

    // A write transaction; on failure an empty one, with `rc` and `error` set.
    WriteTxn begin_write(int& rc, std::string& error) noexcept;
    // The transaction that opens the tables: a write one, or in a read-only environment a
    // read one (committed all the same, so that its table handles stay usable).
    WriteTxn begin_setup(int& rc, std::string& error) noexcept;

    // The named-table registry, used inside the write transaction that opens a store:
    // opens `name` (created if absent), or drops a retired table if the file has it. In a
    // read-only environment nothing is created (an absent table is MDB_NOTFOUND) or dropped.
    int open_table(WriteTxn& txn, const char* name, MDB_dbi& dbi, std::string& error) noexcept;
    int drop_table(WriteTxn& txn, const char* name, std::string& error) noexcept;

    // Takes this process's reader slot now, so that MDB_READERS_FULL shows at open (where it
    // is a configuration error) rather than on the first request.
    int take_reader(std::string& error) noexcept;

    // The recycled read transaction, for the scope's duration. Reads must not run
    // concurrently: nginx workers read from their one event-loop thread.
    ReadScope read() noexcept;

    // The id of the last transaction committed, by any process (LMDB's meta page, read without
    // a transaction): what a read under it found is still true (store/recent_reads.h). 0 when
    // it cannot be told.
    std::uint64_t last_commit() const noexcept;

    // Whether the pages holding data reach 7/8 of the map: the eviction trigger, judged
    // before a commit (in a full map even deletes fail, since LMDB copies every page it
    // changes). Pages on LMDB's free list count as room.
    bool nearly_full() noexcept;

    // Bytes of the map in use ((last page + 1) * page size) and the bytes it may grow to.
    bool map_usage(std::uint64_t& used, std::uint64_t& size, std::string& error) noexcept;

    // Clears the reader slots of processes that died holding one; returns how many.
    int clear_stale_readers() noexcept;

    // Gives the reader slot back (a worker that stops serving hits); later reads take one
    // for their own duration only.
    void release_reader() noexcept;

private:
    friend class ReadScope;
    Environment() noexcept = default;
    bool adopt_map_size() noexcept;
    int renew_read() noexcept;
    void end_read() noexcept;
    std::uint64_t free_pages() noexcept;

    MDB_env* env_ = nullptr;
    MDB_txn* read_txn_ = nullptr;
    bool released_ = false;
    bool read_only_ = false;
};

}  // namespace registry_cache::store
