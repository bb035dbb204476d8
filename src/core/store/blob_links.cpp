#include "registry_cache/store/blob_links.h"

#include "read_record.h"

#include <algorithm>
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

int BlobLinks::forget(MDB_txn* txn, std::string_view key, bool& gone, std::string& error) const noexcept {
    return delete_key(txn, dbi_, table_name, key, nullptr, gone, error);
}

int BlobLinks::forget_repository(MDB_txn* txn, std::string_view prefix, std::vector<std::string>& contents,
                                 std::uint64_t& count, std::string& error) const noexcept {
    return delete_with_prefix(
        txn, dbi_, table_name, prefix,
        [&contents](MDB_txn*, const MDB_val& key, std::string&) {
            const std::string_view content = content_key_of_link(to_view(key));
            if (!content.empty()) contents.emplace_back(content);
            return MDB_SUCCESS;
        },
        count, error);
}

int BlobLinks::keep_unlinked(MDB_txn* txn, std::vector<std::string>& contents, std::string& error) const noexcept {
    if (contents.empty()) return MDB_SUCCESS;
    try {
        std::sort(contents.begin(), contents.end());
        contents.erase(std::unique(contents.begin(), contents.end()), contents.end());
        std::vector<bool> linked(contents.size(), false);
        Cursor cursor;
        int rc = cursor.open(txn, dbi_);
        if (rc != MDB_SUCCESS) {
            set_lmdb_error(error, "mdb_cursor_open(blob_links)", rc);
            return rc;
        }
        MDB_val k, v;
        for (rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
             rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
            const std::string_view content = content_key_of_link(to_view(k));
            const auto at = std::lower_bound(contents.begin(), contents.end(), content);
            if (at != contents.end() && *at == content) linked[static_cast<std::size_t>(at - contents.begin())] = true;
        }
        if (rc != MDB_NOTFOUND) {
            set_lmdb_error(error, "mdb_cursor_get(blob_links)", rc);
            return rc;
        }
        std::vector<std::string> unlinked;
        for (std::size_t i = 0; i < contents.size(); ++i) {
            if (!linked[i]) unlinked.push_back(std::move(contents[i]));
        }
        contents = std::move(unlinked);
    } catch (...) {
        set_error(error, "registry cache store purge", "out of memory");
        return ENOMEM;
    }
    return MDB_SUCCESS;
}

}  // namespace registry_cache::store
