#include "registry_cache/store/link_table.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <new>
#include <string_view>
#include <vector>

#include "registry_cache/descriptor.h"

namespace registry_cache::store {
namespace {

void set_call_error(std::string& error, const char* call, const char* table, int rc) noexcept {
    char what[64];
    std::snprintf(what, sizeof what, "%s(%s)", call, table);
    set_lmdb_error(error, what, rc);
}

}  // namespace

int keeps_public_link(MDB_txn* txn, MDB_dbi dbi, const char* table, const MDB_val& key,
                      const StoreWrite& w, bool& keep, std::string& error) noexcept {
    keep = false;
    if (w.link.scope != LinkScope::credentialed) return MDB_SUCCESS;
    MDB_val k = key;
    MDB_val existing;
    const int rc = mdb_get(txn, dbi, &k, &existing);
    if (rc == MDB_NOTFOUND) return MDB_SUCCESS;
    if (rc != MDB_SUCCESS) {
        set_call_error(error, "mdb_get", table, rc);
        return rc;
    }
    LinkRecord held;
    keep = decode(to_view(existing), held) == DecodeStatus::ok && held.scope == LinkScope::public_access;
    return MDB_SUCCESS;
}

int put_link_record(MDB_txn* txn, MDB_dbi dbi, const char* table, const MDB_val& key,
                    const StoreWrite& w, std::string& error) {
    LinkRecord record;
    record.scope = w.link.scope;
    record.size = w.descriptor.size;
    // The link's time: the one eviction orders by (the glue gives both the same).
    record.stored_at = w.link.stored_at;
    record.media_type = w.descriptor.media_type;
    const std::string bytes = encode(record);
    MDB_val k = key;
    MDB_val value = to_val(bytes);
    const int rc = mdb_put(txn, dbi, &k, &value, 0);
    if (rc != MDB_SUCCESS) set_call_error(error, "mdb_put", table, rc);
    return rc;
}

// Two passes, so that memory holds timestamps, not keys.
std::uint64_t link_learned_at(const MDB_val& v) noexcept {
    LinkRecord link;
    return decode(to_view(v), link) == DecodeStatus::ok ? link.stored_at : 0;
}

int evict_oldest_tenth(Environment& env, MDB_dbi dbi, const char* table, std::uint64_t& evicted,
                       std::string& error, const OnEvict& on_evict, LearnedAt learned_at) noexcept {
    evicted = 0;
    int rc;
    WriteTxn txn = env.begin_write(rc, error);
    if (rc != MDB_SUCCESS) return rc;
    Cursor cursor;
    if ((rc = cursor.open(txn.get(), dbi)) != MDB_SUCCESS) {
        set_call_error(error, "mdb_cursor_open", table, rc);
        return rc;
    }

    try {
        std::vector<std::uint64_t> times;
        MDB_val k, v;
        for (rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
             rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
            times.push_back(learned_at(v));
        }
        if (rc != MDB_NOTFOUND) {
            set_call_error(error, "mdb_cursor_get", table, rc);
            return rc;
        }
        if (times.empty()) return MDB_SUCCESS;
        std::size_t nth = times.size() / 10;
        std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(nth), times.end());
        const std::uint64_t cutoff = times[nth];

        for (rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
             rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
            if (learned_at(v) > cutoff) continue;
            if (on_evict && (rc = on_evict(txn.get(), k, error)) != MDB_SUCCESS) return rc;
            if ((rc = mdb_cursor_del(cursor.get(), 0)) != MDB_SUCCESS) {
                set_call_error(error, "mdb_cursor_del", table, rc);
                return rc;
            }
            ++evicted;
        }
        if (rc != MDB_NOTFOUND) {
            set_call_error(error, "mdb_cursor_get", table, rc);
            return rc;
        }
    } catch (const std::bad_alloc&) {
        set_error(error, "registry cache store eviction", "out of memory");
        return ENOMEM;
    } catch (...) {
        set_error(error, "registry cache store eviction", "unexpected exception");
        return EINVAL;
    }
    cursor.close();
    if ((rc = txn.commit()) != MDB_SUCCESS) {
        evicted = 0;
        set_lmdb_error(error, "mdb_txn_commit", rc);
    }
    return rc;
}

int delete_key(MDB_txn* txn, MDB_dbi dbi, const char* table, std::string_view key, const OnEvict& on_delete,
               bool& gone, std::string& error) noexcept {
    gone = false;
    MDB_val k = to_val(key);
    MDB_val v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) return MDB_SUCCESS;
    if (rc != MDB_SUCCESS) {
        set_call_error(error, "mdb_get", table, rc);
        return rc;
    }
    try {
        if (on_delete && (rc = on_delete(txn, k, error)) != MDB_SUCCESS) return rc;
    } catch (...) {
        set_error(error, "registry cache store purge", "out of memory");
        return ENOMEM;
    }
    k = to_val(key);
    if ((rc = mdb_del(txn, dbi, &k, nullptr)) != MDB_SUCCESS) {
        set_call_error(error, "mdb_del", table, rc);
        return rc;
    }
    gone = true;
    return MDB_SUCCESS;
}

int delete_with_prefix(MDB_txn* txn, MDB_dbi dbi, const char* table, std::string_view prefix,
                       const OnEvict& on_delete, std::uint64_t& count, std::string& error) noexcept {
    Cursor cursor;
    int rc = cursor.open(txn, dbi);
    if (rc != MDB_SUCCESS) {
        set_call_error(error, "mdb_cursor_open", table, rc);
        return rc;
    }
    MDB_val k = to_val(prefix);
    MDB_val v;
    try {
        for (rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
             rc == MDB_SUCCESS && to_view(k).substr(0, prefix.size()) == prefix;
             rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
            if (on_delete && (rc = on_delete(txn, k, error)) != MDB_SUCCESS) return rc;
            if ((rc = mdb_cursor_del(cursor.get(), 0)) != MDB_SUCCESS) {
                set_call_error(error, "mdb_cursor_del", table, rc);
                return rc;
            }
            ++count;
        }
    } catch (...) {
        set_error(error, "registry cache store purge", "out of memory");
        return ENOMEM;
    }
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        set_call_error(error, "mdb_cursor_get", table, rc);
        return rc;
    }
    return MDB_SUCCESS;
}

}  // namespace registry_cache::store
