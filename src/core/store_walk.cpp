// What an operator's tool reads of a Store (registry-cache ls, show, stats, verify) and the one
// repair it makes (verify --fix): a walk of one table's records, keys taken apart and values
// decoded as the tables themselves decode them, so that the tool shows what a hit would read.
#include "registry_cache/store.h"

#include <new>

#include "registry_cache/keys.h"
#include "registry_cache/reference.h"
#include "registry_cache/upstream_namespace.h"
#include "store_impl.h"

namespace registry_cache {

using store::set_error;
using store::set_lmdb_error;
using store::to_val;
using store::to_view;

const char* table_name(StoreTable table) noexcept {
    switch (table) {
        case StoreTable::blob_links: return store::BlobLinks::table_name;
        case StoreTable::manifest_links: return store::Manifests::links_table;
        case StoreTable::tags: return store::Tags::table_name;
        case StoreTable::blob_bodies: return store::BlobBodies::table_name;
        case StoreTable::manifest_bodies: return store::Manifests::bodies_table;
    }
    return "?";
}

namespace {

bool is_stored_repository(std::string_view stored) noexcept {
    std::string_view ns, name;
    return split_namespace(stored, ns, name) && is_valid_name(name);
}

// A link key: "repository \0 content key". False for bytes that are none.
bool split_link_key(std::string_view key, std::string_view& repository, std::string_view& content) noexcept {
    content = content_key_of_link(key);
    if (content.empty()) return false;
    repository = key.substr(0, key.size() - content.size() - 1);
    return is_stored_repository(repository);
}

// A tag key: "repository \0 tag", the repository perhaps "mark namespace \0 name".
bool split_tag_key(std::string_view key, std::string_view& repository, std::string_view& tag) noexcept {
    std::size_t start = 0;
    if (!key.empty() && key[0] == namespace_mark) {
        start = key.find('\0');
        if (start == std::string_view::npos) return false;
        ++start;
    }
    const std::size_t nul = key.find('\0', start);
    if (nul == std::string_view::npos) return false;
    repository = key.substr(0, nul);
    tag = key.substr(nul + 1);
    return is_stored_repository(repository) && is_valid_tag(tag);
}

// Fills `record` from one key and value of `record.table`; `text` holds a digest's text.
void read_entry(StoredRecord& record, std::string_view key, std::string_view value, char* text) noexcept {
    record.key = key;
    record.repository = {};
    record.reference = {};
    record.status = DecodeStatus::damaged;
    std::string_view content;
    switch (record.table) {
        case StoreTable::blob_links:
        case StoreTable::manifest_links:
            if (!split_link_key(key, record.repository, content)) return;
            record.reference = {text, digest_text_of_content_key(content, text)};
            record.status = decode(value, record.link);
            return;
        case StoreTable::tags:
            if (!split_tag_key(key, record.repository, record.reference)) return;
            record.status = decode(value, record.tag);
            return;
        case StoreTable::blob_bodies: {
            const std::size_t length = digest_text_of_content_key(key, text);
            if (length == 0) return;
            record.reference = {text, length};
            record.status = store::BlobBodies::decode(value, record.body);
            return;
        }
        case StoreTable::manifest_bodies: {
            const std::size_t length = digest_text_of_content_key(key, text);
            if (length == 0) return;
            record.reference = {text, length};
            const bool known = !value.empty() && static_cast<unsigned char>(value[0]) == 1;
            record.status = !known ? DecodeStatus::unknown_version
                            : store::Manifests::decode_body(value, record.holders, record.manifest)
                                ? DecodeStatus::ok
                                : DecodeStatus::damaged;
            return;
        }
    }
}

void set_table_error(std::string& error, const char* call, StoreTable table, int rc) noexcept {
    try {
        set_lmdb_error(error, (std::string(call) + "(" + table_name(table) + ")").c_str(), rc);
    } catch (...) {
        set_lmdb_error(error, call, rc);
    }
}

}  // namespace

MDB_dbi Store::Impl::dbi_of(StoreTable table) const noexcept {
    switch (table) {
        case StoreTable::blob_links: return links.dbi();
        case StoreTable::manifest_links: return manifests.links_dbi();
        case StoreTable::tags: return tags.dbi();
        case StoreTable::blob_bodies: return bodies.dbi();
        case StoreTable::manifest_bodies: return manifests.bodies_dbi();
    }
    return 0;
}

bool Store::walk(StoreTable table, std::string_view repository, const RecordVisitor& visit,
                 std::string& error) noexcept {
    store::ReadScope read = impl_->env->read();
    if (read.get() == nullptr) {
        set_lmdb_error(error, "mdb_txn_begin(MDB_RDONLY)", read.rc());
        return false;
    }
    store::Cursor cursor;
    int rc = cursor.open(read.get(), impl_->dbi_of(table));
    if (rc != MDB_SUCCESS) {
        set_table_error(error, "mdb_cursor_open", table, rc);
        return false;
    }
    try {
        // A repository's records sort together, right after "repository \0".
        std::string prefix;
        if (!repository.empty()) {
            prefix.assign(repository);
            prefix.push_back('\0');
        }
        MDB_val k = to_val(prefix), v;
        StoredRecord record;
        record.table = table;
        char text[max_digest_length];
        for (rc = mdb_cursor_get(cursor.get(), &k, &v, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
             rc == MDB_SUCCESS; rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
            const std::string_view key = to_view(k);
            if (!prefix.empty() && key.substr(0, prefix.size()) != prefix) break;
            if (table == StoreTable::blob_bodies && store::BlobBodies::is_total_key(key)) continue;
            read_entry(record, key, to_view(v), text);
            if (!visit(record)) return true;
        }
    } catch (const std::bad_alloc&) {
        set_error(error, "registry cache store walk", "out of memory");
        return false;
    }
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        set_table_error(error, "mdb_cursor_get", table, rc);
        return false;
    }
    return true;
}

bool Store::forget_records(StoreTable table, const std::vector<std::string>& keys, std::uint64_t& forgotten,
                           std::string& error) noexcept {
    forgotten = 0;
    int rc;
    store::WriteTxn txn = impl_->env->begin_write(rc, error);
    if (rc != MDB_SUCCESS) return false;
    try {
        for (const std::string& key : keys) {
            bool gone = false;
            switch (table) {
                case StoreTable::blob_links: rc = impl_->links.forget(txn.get(), key, gone, error); break;
                case StoreTable::manifest_links: rc = impl_->manifests.forget(txn.get(), key, gone, error); break;
                case StoreTable::tags: rc = impl_->tags.forget(txn.get(), key, gone, error); break;
                case StoreTable::blob_bodies: rc = impl_->bodies.forget(txn.get(), key, gone, error); break;
                case StoreTable::manifest_bodies: {
                    // Its links then read as misses (a link without its body is one), and
                    // give nothing back when they go.
                    MDB_val k = to_val(key);
                    rc = mdb_del(txn.get(), impl_->manifests.bodies_dbi(), &k, nullptr);
                    gone = rc == MDB_SUCCESS;
                    if (rc == MDB_NOTFOUND) rc = MDB_SUCCESS;
                    if (rc != MDB_SUCCESS) set_table_error(error, "mdb_del", table, rc);
                    break;
                }
            }
            if (rc != MDB_SUCCESS) return false;
            forgotten += gone ? 1 : 0;
        }
    } catch (const std::bad_alloc&) {
        set_error(error, "registry cache store forget", "out of memory");
        return false;
    }
    if ((rc = txn.commit()) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_txn_commit", rc);
        forgotten = 0;
        return false;
    }
    return true;
}

}  // namespace registry_cache
