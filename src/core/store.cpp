#include "registry_cache/store.h"

#include <lmdb.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <new>
#include <utility>

#include "registry_cache/keys.h"

namespace registry_cache {
namespace {

// Named tables the environment may hold: far more than the links table needs, so that the
// tables to come (manifests, tags, blob files, tokens) and retired ones fit.
constexpr MDB_dbi max_tables = 16;

// Never throws: a failure to build the message must not turn an LMDB error into a crash,
// so the message is dropped instead.
void set_error(std::string& error, const char* what, const char* detail) noexcept {
    try {
        error.assign(what);
        error += ": ";
        error += detail;
    } catch (...) {
        error.clear();
    }
}

void set_lmdb_error(std::string& error, const char* call, int rc) noexcept {
    set_error(error, call, mdb_strerror(rc));
}

MDB_val to_val(std::string_view s) noexcept {
    MDB_val v;
    v.mv_size = s.size();
    // LMDB never writes through mv_data of a key or of a value given to mdb_put.
    v.mv_data = const_cast<char*>(s.data());
    return v;
}

std::string_view to_view(const MDB_val& v) noexcept {
    return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// Aborts a write transaction on every path that does not reach mdb_txn_commit, including
// an exception thrown while a record is being encoded.
class WriteTxn {
public:
    explicit WriteTxn(MDB_txn* txn) noexcept : txn_(txn) {}
    ~WriteTxn() {
        if (txn_ != nullptr) mdb_txn_abort(txn_);
    }
    WriteTxn(const WriteTxn&) = delete;
    WriteTxn& operator=(const WriteTxn&) = delete;

    MDB_txn* get() const noexcept { return txn_; }
    // mdb_txn_commit frees the transaction whether it succeeds or not.
    int commit() noexcept { return mdb_txn_commit(std::exchange(txn_, nullptr)); }

private:
    MDB_txn* txn_;
};

}  // namespace

struct Store::Impl {
    MDB_env* env = nullptr;
    MDB_dbi links = 0;
    // The one read transaction of this Store, kept reset between uses: a reset transaction
    // holds its reader slot (so a lookup never takes the reader table lock) but pins no
    // snapshot (so writers can reuse pages). MDB_NOTLS ties the slot to this transaction
    // rather than to a thread. One read transaction means the methods of a Store must not
    // run concurrently; nginx workers call them from their one event-loop thread.
    MDB_txn* read_txn = nullptr;

    ~Impl() {
        // Aborting a reset read transaction releases its reader slot.
        if (read_txn != nullptr) mdb_txn_abort(read_txn);
        if (env != nullptr) mdb_env_close(env);
    }

    // Another process (a worker started after a reload with a larger max_size) may have
    // grown the file past our map; adopting the size in the file makes its pages readable.
    // Safe here only because no transaction of this process is live.
    bool adopt_map_size() noexcept { return mdb_env_set_mapsize(env, 0) == MDB_SUCCESS; }

    // After release_reader() every read begins a transaction of its own (and so takes a
    // slot) and the reset that ends it aborts it, giving the slot back.
    bool released = false;

    int renew_read() noexcept {
        if (released) {
            int rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &read_txn);
            if (rc == MDB_MAP_RESIZED && adopt_map_size()) rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &read_txn);
            if (rc != MDB_SUCCESS) read_txn = nullptr;
            return rc;
        }
        int rc = mdb_txn_renew(read_txn);
        if (rc == MDB_MAP_RESIZED && adopt_map_size()) rc = mdb_txn_renew(read_txn);
        return rc;
    }

    // A write transaction; on failure the LMDB code, with `error` set.
    int begin_write(MDB_txn** txn, std::string& error) noexcept {
        int rc = mdb_txn_begin(env, nullptr, 0, txn);
        if (rc == MDB_MAP_RESIZED && adopt_map_size()) rc = mdb_txn_begin(env, nullptr, 0, txn);
        if (rc != MDB_SUCCESS) set_lmdb_error(error, "mdb_txn_begin", rc);
        return rc;
    }

    // Whether the pages holding data reach 7/8 of the map (the cap that max_size sets). The
    // file's high-water mark never goes down, so pages on LMDB's free list (freed by
    // evictions and overwrites, reused by later writes) are not counted as used.
    bool nearly_full() noexcept {
        MDB_envinfo info;
        MDB_stat st;
        if (mdb_env_info(env, &info) != MDB_SUCCESS || mdb_env_stat(env, &st) != MDB_SUCCESS) {
            return false;
        }
        // Another process grew the file past our map (a reload with a larger max_size):
        // judge against the map as it now is. No transaction of this process is live here.
        if ((static_cast<std::uint64_t>(info.me_last_pgno) + 1) * st.ms_psize > info.me_mapsize &&
            (!adopt_map_size() || mdb_env_info(env, &info) != MDB_SUCCESS)) {
            return false;
        }
        const std::uint64_t limit = info.me_mapsize / st.ms_psize / 8 * 7;
        const std::uint64_t high_water = static_cast<std::uint64_t>(info.me_last_pgno) + 1;
        if (high_water < limit) return false;
        return high_water - free_pages() >= limit;
    }

    // Pages on the free list: each record of LMDB's free database (dbi 0) is a list of page
    // numbers whose first word is its length. Read only near the cap, once per commit.
    std::uint64_t free_pages() noexcept {
        if (renew_read() != MDB_SUCCESS) return 0;
        std::uint64_t pages = 0;
        MDB_cursor* cursor = nullptr;
        if (mdb_cursor_open(read_txn, 0, &cursor) == MDB_SUCCESS) {
            MDB_val k, v;
            for (int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
                 rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
                if (v.mv_size >= sizeof(std::size_t)) {
                    std::size_t count;
                    std::memcpy(&count, v.mv_data, sizeof count);
                    pages += count;
                }
            }
            mdb_cursor_close(cursor);
        }
        end_read();
        return pages;
    }

    // Ends a read begun by renew_read(): the snapshot is released, and the slot too once
    // the reader was released.
    void end_read() noexcept {
        if (!released) {
            mdb_txn_reset(read_txn);
        } else if (read_txn != nullptr) {
            mdb_txn_abort(read_txn);
            read_txn = nullptr;
        }
    }

    int write(const std::vector<StoreWrite>& batch, std::string& error) noexcept;
    int evict_oldest(std::uint64_t& evicted, std::string& error) noexcept;
};

namespace {

// Resets the read transaction however the lookup ends, so that no snapshot outlives it
// (a pinned snapshot would make the file grow under a steady stream of writes).
template <typename Impl>
class ReadScope {
public:
    explicit ReadScope(Impl& impl) noexcept : impl_(impl) {}
    ~ReadScope() { impl_.end_read(); }
    ReadScope(const ReadScope&) = delete;
    ReadScope& operator=(const ReadScope&) = delete;

private:
    Impl& impl_;
};

void report(std::string* error, const char* what, const char* detail) noexcept {
    if (error != nullptr) set_error(*error, what, detail);
}

void report_lmdb(std::string* error, const char* call, int rc) noexcept {
    if (error != nullptr) set_lmdb_error(*error, call, rc);
}

// Reads and decodes the link record under `key`: hit when decoded, miss when absent or of a
// version this code does not know, error (reported) when LMDB fails or the record is
// damaged. Values point into the map and live only until the reset: decoding copies them.
LookupStatus read_link(MDB_txn* txn, MDB_dbi dbi, std::string_view key_bytes, LinkRecord& out,
                       std::string* error) noexcept {
    MDB_val key = to_val(key_bytes);
    MDB_val value;
    int rc = mdb_get(txn, dbi, &key, &value);
    if (rc == MDB_NOTFOUND) return LookupStatus::miss;
    if (rc != MDB_SUCCESS) {
        report_lmdb(error, "mdb_get(links)", rc);
        return LookupStatus::error;
    }
    switch (decode(to_view(value), out)) {
        case DecodeStatus::ok: return LookupStatus::hit;
        case DecodeStatus::unknown_version: return LookupStatus::miss;
        case DecodeStatus::damaged: break;
    }
    report(error, "links", "damaged record");
    return LookupStatus::error;
}

}  // namespace

Store::Store(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}

Store::~Store() = default;

namespace {

// Codes that say the file is not (or no longer) a sound LMDB environment of ours, as opposed
// to a failure of the machine (permissions, memory, a full disk).
bool is_damage(int rc) noexcept {
    return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED ||
           rc == MDB_PAGE_NOTFOUND || rc == MDB_INCOMPATIBLE || rc == MDB_BAD_DBI;
}

// Named tables of an older layout, whose pages would otherwise stay taken for good (nothing
// reads or evicts them any more): "descriptors", the global digest -> descriptor table of
// record version 1, replaced by link records that carry the descriptor.
int drop_retired_tables(MDB_txn* txn, std::string& error) noexcept {
    MDB_dbi dbi;
    int rc = mdb_dbi_open(txn, "descriptors", 0, &dbi);
    if (rc == MDB_NOTFOUND) return MDB_SUCCESS;
    if (rc != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_dbi_open(descriptors)", rc);
        return rc;
    }
    if ((rc = mdb_drop(txn, dbi, 1)) != MDB_SUCCESS) set_lmdb_error(error, "mdb_drop(descriptors)", rc);
    return rc;
}

}  // namespace

std::unique_ptr<Store> Store::open(const StoreOptions& options, std::string& error,
                                   bool* damaged) noexcept {
    bool ignored = false;
    bool& damage = damaged != nullptr ? *damaged : ignored;
    damage = false;
    std::unique_ptr<Impl> impl(new (std::nothrow) Impl);
    if (!impl) {
        set_error(error, "registry cache store", "out of memory");
        return nullptr;
    }

    int rc = mdb_env_create(&impl->env);
    if (rc != MDB_SUCCESS) {
        impl->env = nullptr;
        set_lmdb_error(error, "mdb_env_create", rc);
        return nullptr;
    }
    // From here on ~Impl closes the environment on every failure path.
    // Room for the tables to come (manifests, tags, blob files, tokens) and for the one
    // of an older layout that open() drops.
    if ((rc = mdb_env_set_maxdbs(impl->env, max_tables)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_env_set_maxdbs", rc);
        return nullptr;
    }
    if ((rc = mdb_env_set_mapsize(impl->env, options.map_size)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_env_set_mapsize", rc);
        return nullptr;
    }
    if ((rc = mdb_env_set_maxreaders(impl->env, options.max_readers)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_env_set_maxreaders", rc);
        return nullptr;
    }
    // MDB_NOSYNC: a crash may lose the last commits but never breaks the file, which is the
    // right trade for a cache. MDB_NORDAHEAD: lookups touch a few random pages; readahead
    // would only evict useful page cache.
    rc = mdb_env_open(impl->env, options.directory.c_str(), MDB_NOTLS | MDB_NOSYNC | MDB_NORDAHEAD,
                      0600);
    if (rc != MDB_SUCCESS) {
        damage = is_damage(rc);
        set_lmdb_error(error, "mdb_env_open", rc);
        return nullptr;
    }
    // A data.mdb cut short (a full disk during a copy, a bad restore) is not detected by
    // LMDB: its pages past the end of the file are read through the map and the process
    // dies of SIGBUS, in the master at start or in every worker. Refused here instead, so
    // the caller can move the file aside. (Truncation while open cannot be caught.)
    {
        mdb_filehandle_t fd;
        MDB_envinfo info;
        MDB_stat env_stat;
        struct stat file;
        if ((rc = mdb_env_get_fd(impl->env, &fd)) != MDB_SUCCESS ||
            (rc = mdb_env_info(impl->env, &info)) != MDB_SUCCESS ||
            (rc = mdb_env_stat(impl->env, &env_stat)) != MDB_SUCCESS) {
            set_lmdb_error(error, "mdb_env_info", rc);
            return nullptr;
        }
        if (fstat(fd, &file) != 0) {
            set_lmdb_error(error, "fstat(data.mdb)", errno);
            return nullptr;
        }
        const std::uint64_t needed =
            (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * env_stat.ms_psize;
        if (static_cast<std::uint64_t>(file.st_size) < needed) {
            char detail[128];
            std::snprintf(detail, sizeof detail,
                          "truncated: %" PRIu64 " bytes, its pages need %" PRIu64,
                          static_cast<std::uint64_t>(file.st_size), needed);
            set_error(error, "data.mdb", detail);
            damage = true;
            return nullptr;
        }
    }

    // Slots left behind by workers that died holding a snapshot would pin old pages forever.
    int dead = 0;
    if ((rc = mdb_reader_check(impl->env, &dead)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_reader_check", rc);
        return nullptr;
    }

    {
        MDB_txn* raw = nullptr;
        if ((rc = impl->begin_write(&raw, error)) != MDB_SUCCESS) {
            return nullptr;
        }
        WriteTxn txn(raw);
        if ((rc = drop_retired_tables(txn.get(), error)) != MDB_SUCCESS) {
            damage = is_damage(rc);
            return nullptr;
        }
        if ((rc = mdb_dbi_open(txn.get(), "links", MDB_CREATE, &impl->links)) != MDB_SUCCESS) {
            damage = is_damage(rc);
            set_lmdb_error(error, "mdb_dbi_open(links)", rc);
            return nullptr;
        }
        // The handles become usable by other transactions only once this one commits.
        if ((rc = txn.commit()) != MDB_SUCCESS) {
            set_lmdb_error(error, "mdb_txn_commit", rc);
            return nullptr;
        }
    }

    // Begun now so that the reader slot is taken at open (where MDB_READERS_FULL is a
    // configuration error) rather than on the first request.
    if ((rc = mdb_txn_begin(impl->env, nullptr, MDB_RDONLY, &impl->read_txn)) != MDB_SUCCESS) {
        impl->read_txn = nullptr;
        set_lmdb_error(error, "mdb_txn_begin(MDB_RDONLY)", rc);
        return nullptr;
    }
    mdb_txn_reset(impl->read_txn);

    std::unique_ptr<Store> store(new (std::nothrow) Store(std::move(impl)));
    if (!store) set_error(error, "registry cache store", "out of memory");
    return store;
}

LookupResult Store::lookup(std::string_view repository, const Digest& digest,
                           std::string* error) noexcept {
    LookupResult result;
    // Keys that cannot be built name nothing the cache could hold: not cacheable is a miss.
    const Key link = link_key(repository, digest);
    if (link.empty()) return result;

    int rc = impl_->renew_read();
    if (rc != MDB_SUCCESS) {
        result.status = LookupStatus::error;
        report_lmdb(error, "mdb_txn_renew", rc);
        return result;
    }
    ReadScope<Impl> scope(*impl_);

    // One record: this repository's link, which carries all a hit sends.
    LinkRecord record;
    result.status = read_link(impl_->read_txn, impl_->links, link.view(), record, error);
    if (result.status == LookupStatus::hit) {
        result.descriptor.size = record.size;
        result.descriptor.stored_at = record.stored_at;
        result.descriptor.media_type = record.media_type;
        result.link.scope = record.scope;
        result.link.stored_at = record.stored_at;
    }
    return result;
}

bool Store::commit(const std::vector<StoreWrite>& batch, std::string& error,
                   std::uint64_t* evicted) noexcept {
    if (batch.empty()) return true;

    // Everything is validated before the write lock is taken: a bad write fails the batch
    // without making other writers wait, and nothing that would later read back as damaged
    // (an invalid media type, an unknown scope) reaches the file.
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const StoreWrite& w = batch[i];
        const DigestParse parsed = parse_digest(w.digest);
        if (parsed.status != DigestStatus::ok || link_key(w.repository, parsed.digest).empty()) {
            set_error(error, "registry cache store commit", "invalid repository or digest");
            return false;
        }
        if (w.kind == StoreWrite::Kind::record) {
            if (!is_valid_media_type(w.descriptor.media_type.view())) {
                set_error(error, "registry cache store commit", "invalid media type");
                return false;
            }
            if (w.link.scope != LinkScope::public_access &&
                w.link.scope != LinkScope::credentialed) {
                set_error(error, "registry cache store commit", "invalid link scope");
                return false;
            }
        }
    }

    // Room is made before the map is full: in a full map even deletes fail, since LMDB
    // copies every page it changes.
    std::uint64_t count = 0;
    std::string evict_error;
    if (impl_->nearly_full() && impl_->evict_oldest(count, evict_error) == MDB_SUCCESS &&
        evicted != nullptr) {
        *evicted = count;
    }
    int rc = impl_->write(batch, error);
    if (rc == MDB_MAP_FULL && impl_->evict_oldest(count, evict_error) == MDB_SUCCESS && count > 0) {
        if (evicted != nullptr) *evicted += count;
        error.clear();
        rc = impl_->write(batch, error);
    }
    if (rc != MDB_SUCCESS && !evict_error.empty()) {
        // Why no room could be made says more than the write's own failure.
        try {
            error += "; evicting: " + evict_error;
        } catch (...) {
        }
    }
    return rc == MDB_SUCCESS;
}


// One write transaction for the batch; an LMDB code (MDB_SUCCESS on success), `error` set
// otherwise. The batch was validated by Store::commit.
int Store::Impl::write(const std::vector<StoreWrite>& batch, std::string& error) noexcept {
    MDB_txn* raw = nullptr;
    int rc = begin_write(&raw, error);
    if (rc != MDB_SUCCESS) {
        return rc;
    }
    WriteTxn txn(raw);

    try {
        for (const StoreWrite& w : batch) {
            const Digest digest = parse_digest(w.digest).digest;
            const Key link = link_key(w.repository, digest);
            MDB_val link_k = to_val(link.view());

            if (w.kind == StoreWrite::Kind::clear_link) {
                rc = mdb_del(txn.get(), links, &link_k, nullptr);
                if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
                    set_lmdb_error(error, "mdb_del(links)", rc);
                    return rc;
                }
                continue;
            }

            if (w.link.scope == LinkScope::credentialed) {
                // What was learned with credentials may not replace nor alter what the
                // upstream told anyone: it only fills a place no public link holds.
                MDB_val existing;
                rc = mdb_get(txn.get(), links, &link_k, &existing);
                if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
                    set_lmdb_error(error, "mdb_get(links)", rc);
                    return rc;
                }
                LinkRecord held;
                if (rc == MDB_SUCCESS && decode(to_view(existing), held) == DecodeStatus::ok &&
                    held.scope == LinkScope::public_access) {
                    continue;
                }
            }
            LinkRecord record;
            record.scope = w.link.scope;
            record.size = w.descriptor.size;
            // The link's time: the one eviction orders by (learn_filter gives both the same).
            record.stored_at = w.link.stored_at;
            record.media_type = w.descriptor.media_type;
            const std::string link_bytes = encode(record);
            MDB_val link_v = to_val(link_bytes);
            if ((rc = mdb_put(txn.get(), links, &link_k, &link_v, 0)) != MDB_SUCCESS) {
                set_lmdb_error(error, "mdb_put(links)", rc);
                return rc;
            }
        }
    } catch (const std::bad_alloc&) {
        set_error(error, "registry cache store commit", "out of memory");
        return ENOMEM;
    } catch (...) {
        set_error(error, "registry cache store commit", "unexpected exception");
        return EINVAL;
    }

    if ((rc = txn.commit()) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_txn_commit", rc);
        return rc;
    }
    return MDB_SUCCESS;
}


// Deletes the oldest tenth of the links (by the time they were learned: the cache's measure
// of least recently useful, since hits write nothing), in one transaction. Each link carries
// its own descriptor, so nothing else goes with it. Two passes, so that memory holds
// timestamps, not keys.
int Store::Impl::evict_oldest(std::uint64_t& evicted, std::string& error) noexcept {
    evicted = 0;
    MDB_txn* raw = nullptr;
    int rc = begin_write(&raw, error);
    if (rc != MDB_SUCCESS) {
        return rc;
    }
    WriteTxn txn(raw);
    MDB_cursor* cursor = nullptr;
    if ((rc = mdb_cursor_open(txn.get(), links, &cursor)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_cursor_open(links)", rc);
        return rc;
    }
    struct CursorCloser {
        MDB_cursor* c;
        ~CursorCloser() { mdb_cursor_close(c); }
    } closer{cursor};

    try {
        std::vector<std::uint64_t> times;
        MDB_val k, v;
        for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
             rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
            LinkRecord link;
            // A record this code cannot read (an older version included) counts as the
            // oldest: it is the first to go.
            times.push_back(decode(to_view(v), link) == DecodeStatus::ok ? link.stored_at : 0);
        }
        if (rc != MDB_NOTFOUND) {
            set_lmdb_error(error, "mdb_cursor_get(links)", rc);
            return rc;
        }
        if (times.empty()) return MDB_SUCCESS;
        std::size_t nth = times.size() / 10;
        std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(nth), times.end());
        const std::uint64_t cutoff = times[nth];

        for (rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
             rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
            LinkRecord link;
            if (decode(to_view(v), link) == DecodeStatus::ok && link.stored_at > cutoff) continue;
            if ((rc = mdb_cursor_del(cursor, 0)) != MDB_SUCCESS) {
                set_lmdb_error(error, "mdb_cursor_del(links)", rc);
                return rc;
            }
            ++evicted;
        }
        if (rc != MDB_NOTFOUND) {
            set_lmdb_error(error, "mdb_cursor_get(links)", rc);
            return rc;
        }
    } catch (const std::bad_alloc&) {
        set_error(error, "registry cache store eviction", "out of memory");
        return ENOMEM;
    }
    closer.c = nullptr;
    mdb_cursor_close(cursor);
    if ((rc = txn.commit()) != MDB_SUCCESS) {
        evicted = 0;
        set_lmdb_error(error, "mdb_txn_commit", rc);
    }
    return rc;
}

bool Store::stats(StoreStats& out, std::string& error) noexcept {
    int rc = impl_->renew_read();
    if (rc != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_txn_renew", rc);
        return false;
    }
    ReadScope<Impl> scope(*impl_);

    MDB_stat links;
    MDB_stat env_stat;
    MDB_envinfo info;
    if ((rc = mdb_stat(impl_->read_txn, impl_->links, &links)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_stat(links)", rc);
        return false;
    }
    if ((rc = mdb_env_stat(impl_->env, &env_stat)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_env_stat", rc);
        return false;
    }
    if ((rc = mdb_env_info(impl_->env, &info)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_env_info", rc);
        return false;
    }
    out.links = links.ms_entries;
    out.map_used = (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * env_stat.ms_psize;
    out.map_size = info.me_mapsize;
    return true;
}

void Store::release_reader() noexcept {
    if (impl_->released) return;
    if (impl_->read_txn != nullptr) mdb_txn_abort(impl_->read_txn);
    impl_->read_txn = nullptr;
    impl_->released = true;
}

int Store::clear_stale_readers() noexcept {
    int dead = 0;
    // Fails only on a misused environment; "none cleared" is the honest answer then.
    if (mdb_reader_check(impl_->env, &dead) != MDB_SUCCESS) return 0;
    return dead;
}

}  // namespace registry_cache
