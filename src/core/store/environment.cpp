#include "registry_cache/store/environment.h"

#include <sys/stat.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <new>

namespace registry_cache::store {

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

bool is_damage(int rc) noexcept {
    return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED ||
           rc == MDB_PAGE_NOTFOUND || rc == MDB_INCOMPATIBLE || rc == MDB_BAD_DBI;
}

ReadScope::~ReadScope() {
    if (env_ != nullptr) env_->end_read();
}

MDB_txn* ReadScope::get() const noexcept { return env_ != nullptr ? env_->read_txn_ : nullptr; }

std::uint64_t ReadScope::commit() const noexcept {
    MDB_txn* txn = get();
    return txn != nullptr ? static_cast<std::uint64_t>(mdb_txn_id(txn)) : 0;
}

std::uint64_t Environment::last_commit() const noexcept {
    MDB_envinfo info;
    if (env_ == nullptr || mdb_env_info(env_, &info) != MDB_SUCCESS) return 0;
    return static_cast<std::uint64_t>(info.me_last_txnid);
}

Environment::~Environment() {
    // Aborting a reset read transaction releases its reader slot.
    if (read_txn_ != nullptr) mdb_txn_abort(read_txn_);
    if (env_ != nullptr) mdb_env_close(env_);
}

std::unique_ptr<Environment> Environment::open(const EnvironmentOptions& options,
                                               std::string& error, bool* damaged) noexcept {
    bool ignored = false;
    bool& damage = damaged != nullptr ? *damaged : ignored;
    damage = false;
    std::unique_ptr<Environment> env(new (std::nothrow) Environment);
    if (!env) {
        set_error(error, "registry cache store", "out of memory");
        return nullptr;
    }

    int rc = mdb_env_create(&env->env_);
    if (rc != MDB_SUCCESS) {
        env->env_ = nullptr;
        set_lmdb_error(error, "mdb_env_create", rc);
        return nullptr;
    }
    // From here on the destructor closes the environment on every failure path.
    if ((rc = mdb_env_set_maxdbs(env->env_, max_tables)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_env_set_maxdbs", rc);
        return nullptr;
    }
    if ((rc = mdb_env_set_mapsize(env->env_, options.map_size)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_env_set_mapsize", rc);
        return nullptr;
    }
    if ((rc = mdb_env_set_maxreaders(env->env_, options.max_readers)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_env_set_maxreaders", rc);
        return nullptr;
    }
    // MDB_NOSYNC: a crash may lose the last commits but never breaks the file, which is the
    // right trade for a cache. MDB_NORDAHEAD: lookups touch a few random pages; readahead
    // would only evict useful page cache.
    env->read_only_ = options.read_only;
    rc = mdb_env_open(env->env_, options.directory.c_str(),
                      MDB_NOTLS | MDB_NOSYNC | MDB_NORDAHEAD | (options.read_only ? MDB_RDONLY : 0), 0600);
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
        if ((rc = mdb_env_get_fd(env->env_, &fd)) != MDB_SUCCESS ||
            (rc = mdb_env_info(env->env_, &info)) != MDB_SUCCESS ||
            (rc = mdb_env_stat(env->env_, &env_stat)) != MDB_SUCCESS) {
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
    if ((rc = mdb_reader_check(env->env_, &dead)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_reader_check", rc);
        return nullptr;
    }
    return env;
}

// Another process (a worker started after a reload with a larger max_size) may have grown
// the file past our map; adopting the size in the file makes its pages readable. Safe only
// while no transaction of this process is live, which is the case wherever it is called.
bool Environment::adopt_map_size() noexcept { return mdb_env_set_mapsize(env_, 0) == MDB_SUCCESS; }

WriteTxn Environment::begin_write(int& rc, std::string& error) noexcept {
    MDB_txn* txn = nullptr;
    rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc == MDB_MAP_RESIZED && adopt_map_size()) rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_txn_begin", rc);
        return WriteTxn{};
    }
    return WriteTxn{txn};
}

WriteTxn Environment::begin_setup(int& rc, std::string& error) noexcept {
    if (!read_only_) return begin_write(rc, error);
    MDB_txn* txn = nullptr;
    rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_txn_begin(MDB_RDONLY)", rc);
        return WriteTxn{};
    }
    return WriteTxn{txn};
}

int Environment::open_table(WriteTxn& txn, const char* name, MDB_dbi& dbi,
                            std::string& error) noexcept {
    const int rc = mdb_dbi_open(txn.get(), name, read_only_ ? 0 : MDB_CREATE, &dbi);
    if (rc != MDB_SUCCESS) {
        char call[64];
        std::snprintf(call, sizeof call, "mdb_dbi_open(%s)", name);
        set_lmdb_error(error, call, rc);
    }
    return rc;
}

int Environment::drop_table(WriteTxn& txn, const char* name, std::string& error) noexcept {
    if (read_only_) return MDB_SUCCESS;
    MDB_dbi dbi;
    char call[64];
    int rc = mdb_dbi_open(txn.get(), name, 0, &dbi);
    if (rc == MDB_NOTFOUND) return MDB_SUCCESS;
    if (rc != MDB_SUCCESS) {
        std::snprintf(call, sizeof call, "mdb_dbi_open(%s)", name);
        set_lmdb_error(error, call, rc);
        return rc;
    }
    if ((rc = mdb_drop(txn.get(), dbi, 1)) != MDB_SUCCESS) {
        std::snprintf(call, sizeof call, "mdb_drop(%s)", name);
        set_lmdb_error(error, call, rc);
    }
    return rc;
}

int Environment::take_reader(std::string& error) noexcept {
    const int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &read_txn_);
    if (rc != MDB_SUCCESS) {
        read_txn_ = nullptr;
        set_lmdb_error(error, "mdb_txn_begin(MDB_RDONLY)", rc);
        return rc;
    }
    // Reset: the slot stays taken (a read never takes the reader table lock) but pins no
    // snapshot (writers can reuse pages).
    mdb_txn_reset(read_txn_);
    return MDB_SUCCESS;
}

// After release_reader() every read begins a transaction of its own (and so takes a slot)
// and the end of the read aborts it, giving the slot back.
int Environment::renew_read() noexcept {
    if (released_) {
        int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &read_txn_);
        if (rc == MDB_MAP_RESIZED && adopt_map_size()) {
            rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &read_txn_);
        }
        if (rc != MDB_SUCCESS) read_txn_ = nullptr;
        return rc;
    }
    int rc = mdb_txn_renew(read_txn_);
    if (rc == MDB_MAP_RESIZED && adopt_map_size()) rc = mdb_txn_renew(read_txn_);
    return rc;
}

void Environment::end_read() noexcept {
    if (!released_) {
        mdb_txn_reset(read_txn_);
    } else if (read_txn_ != nullptr) {
        mdb_txn_abort(read_txn_);
        read_txn_ = nullptr;
    }
}

ReadScope Environment::read() noexcept { return ReadScope(this, renew_read()); }

bool Environment::nearly_full() noexcept {
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(env_, &info) != MDB_SUCCESS || mdb_env_stat(env_, &st) != MDB_SUCCESS) {
        return false;
    }
    // Another process grew the file past our map (a reload with a larger max_size): judge
    // against the map as it now is. No transaction of this process is live here.
    if ((static_cast<std::uint64_t>(info.me_last_pgno) + 1) * st.ms_psize > info.me_mapsize &&
        (!adopt_map_size() || mdb_env_info(env_, &info) != MDB_SUCCESS)) {
        return false;
    }
    const std::uint64_t limit = info.me_mapsize / st.ms_psize / 8 * 7;
    const std::uint64_t high_water = static_cast<std::uint64_t>(info.me_last_pgno) + 1;
    if (high_water < limit) return false;
    // The file's high-water mark never goes down: pages freed by evictions and overwrites
    // (reused by later writes) are room.
    return high_water - free_pages() >= limit;
}

// Pages on the free list: each record of LMDB's free database (dbi 0) is a list of page
// numbers whose first word is its length. Read only near the cap, once per commit.
std::uint64_t Environment::free_pages() noexcept {
    ReadScope scope = read();
    if (scope.get() == nullptr) return 0;
    std::uint64_t pages = 0;
    Cursor cursor;
    if (cursor.open(scope.get(), 0) == MDB_SUCCESS) {
        MDB_val k, v;
        for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
             rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
            if (v.mv_size >= sizeof(std::size_t)) {
                std::size_t count;
                std::memcpy(&count, v.mv_data, sizeof count);
                pages += count;
            }
        }
    }
    return pages;
}

bool Environment::map_usage(std::uint64_t& used, std::uint64_t& size, std::string& error) noexcept {
    MDB_stat env_stat;
    MDB_envinfo info;
    int rc;
    if ((rc = mdb_env_stat(env_, &env_stat)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_env_stat", rc);
        return false;
    }
    if ((rc = mdb_env_info(env_, &info)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_env_info", rc);
        return false;
    }
    used = (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * env_stat.ms_psize;
    size = info.me_mapsize;
    return true;
}

int Environment::clear_stale_readers() noexcept {
    int dead = 0;
    // Fails only on a misused environment; "none cleared" is the honest answer then.
    if (mdb_reader_check(env_, &dead) != MDB_SUCCESS) return 0;
    return dead;
}

void Environment::release_reader() noexcept {
    if (released_) return;
    if (read_txn_ != nullptr) mdb_txn_abort(read_txn_);
    read_txn_ = nullptr;
    released_ = true;
}

}  // namespace registry_cache::store
