#include "registry_cache/store/blob_links.h"

#include <cerrno>
#include <new>

#include "registry_cache/digest.h"
#include "registry_cache/keys.h"
#include "registry_cache/store/eviction.h"

namespace registry_cache::store {
namespace {

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

}  // namespace

int BlobLinks::open(Environment& env, WriteTxn& txn, std::string& error) noexcept {
    // Older layouts: "descriptors" (version 1) and "links" (version 2, keys with the digest
    // as text). Nothing would ever read or free their pages again; the entries are learned
    // again on use.
    for (const char* retired : {"descriptors", "links"}) {
        const int rc = env.drop_table(txn, retired, error);
        if (rc != MDB_SUCCESS) return rc;
    }
    return env.open_table(txn, table_name, dbi_, error);
}

LookupStatus BlobLinks::read(MDB_txn* txn, std::string_view key_bytes, LinkRecord& out,
                             std::string* error) const noexcept {
    MDB_val key = to_val(key_bytes);
    MDB_val value;
    int rc = mdb_get(txn, dbi_, &key, &value);
    if (rc == MDB_NOTFOUND) return LookupStatus::miss;
    if (rc != MDB_SUCCESS) {
        if (error != nullptr) set_lmdb_error(*error, "mdb_get(blob_links)", rc);
        return LookupStatus::error;
    }
    switch (decode(to_view(value), out)) {
        case DecodeStatus::ok: return LookupStatus::hit;
        case DecodeStatus::unknown_version: return LookupStatus::miss;
        case DecodeStatus::damaged: break;
    }
    if (error != nullptr) set_error(*error, table_name, "damaged record");
    return LookupStatus::error;
}

int BlobLinks::apply(MDB_txn* txn, const StoreWrite& w, std::string& error, bool& kept) const {
    kept = true;
    const Digest digest = parse_digest(w.digest).digest;
    const Key link = link_key(w.repository, digest);
    MDB_val link_k = to_val(link.view());
    int rc;

    if (w.kind == StoreWrite::Kind::clear_link) {
        rc = mdb_del(txn, dbi_, &link_k, nullptr);
        if (rc == MDB_NOTFOUND) return MDB_SUCCESS;
        if (rc != MDB_SUCCESS) set_lmdb_error(error, "mdb_del(blob_links)", rc);
        return rc;
    }

    if (w.link.scope == LinkScope::credentialed) {
        // What was learned with credentials may not replace nor alter what the upstream told
        // anyone: it only fills a place no public link holds.
        MDB_val existing;
        rc = mdb_get(txn, dbi_, &link_k, &existing);
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
            set_lmdb_error(error, "mdb_get(blob_links)", rc);
            return rc;
        }
        LinkRecord held;
        if (rc == MDB_SUCCESS && decode(to_view(existing), held) == DecodeStatus::ok &&
            held.scope == LinkScope::public_access) {
            kept = false;
            return MDB_SUCCESS;
        }
    }
    LinkRecord record;
    record.scope = w.link.scope;
    record.size = w.descriptor.size;
    // The link's time: the one eviction orders by (the glue gives both the same).
    record.stored_at = w.link.stored_at;
    record.media_type = w.descriptor.media_type;
    const std::string bytes = encode(record);
    MDB_val value = to_val(bytes);
    if ((rc = mdb_put(txn, dbi_, &link_k, &value, 0)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_put(blob_links)", rc);
    }
    return rc;
}

int BlobLinks::evict_oldest(Environment& env, std::uint64_t& evicted,
                            std::string& error) const noexcept {
    return evict_oldest_tenth(env, dbi_, table_name, evicted, error);
}

bool BlobLinks::count(MDB_txn* txn, std::uint64_t& entries, std::string& error) const noexcept {
    MDB_stat st;
    const int rc = mdb_stat(txn, dbi_, &st);
    if (rc != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_stat(blob_links)", rc);
        return false;
    }
    entries = st.ms_entries;
    return true;
}

}  // namespace registry_cache::store
