#include "registry_cache/store/blob_links.h"
#include "read_record.h"

#include <cerrno>
#include <new>

#include "registry_cache/digest.h"
#include "registry_cache/keys.h"
#include "registry_cache/store/link_table.h"

namespace registry_cache::store {

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
    return read_record(txn, dbi_, key_bytes, table_name, out, error,
                       [](std::string_view bytes, LinkRecord& record) { return decode(bytes, record); });
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

    bool keep_public = false;
    if ((rc = keeps_public_link(txn, dbi_, table_name, link_k, w, keep_public, error)) != MDB_SUCCESS) {
        return rc;
    }
    if (keep_public) {
        kept = false;
        return MDB_SUCCESS;
    }
    return put_link_record(txn, dbi_, table_name, link_k, w, error);
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
