#include "registry_cache/store/tags.h"

#include <cstring>

#include "registry_cache/keys.h"
#include "registry_cache/store/link_table.h"
#include "read_record.h"

namespace registry_cache::store {
namespace {

std::uint64_t tag_learned_at(const MDB_val& v) noexcept {
    TagRecord tag;
    return decode(to_view(v), tag) == DecodeStatus::ok ? tag.stored_at : 0;
}

}  // namespace

int Tags::open(Environment& env, WriteTxn& txn, std::string& error) noexcept {
    return env.open_table(txn, table_name, dbi_, error);
}

LookupStatus Tags::read(MDB_txn* txn, std::string_view repository, std::string_view tag,
                        TagRecord& out, std::string* error) const noexcept {
    const Key key_bytes = tag_key(repository, tag);
    if (key_bytes.empty()) return LookupStatus::miss;
    return read_record(txn, dbi_, key_bytes.view(), table_name, out, error,
                       [](std::string_view bytes, TagRecord& record) { return decode(bytes, record); });
}

int Tags::apply(MDB_txn* txn, const StoreWrite& w, std::string& error, bool& kept) const {
    kept = true;
    const Key key_bytes = tag_key(w.repository, w.tag);
    MDB_val key = to_val(key_bytes.view());
    int rc;
    if (w.kind == StoreWrite::Kind::clear_link) {
        rc = mdb_del(txn, dbi_, &key, nullptr);
        if (rc == MDB_NOTFOUND) return MDB_SUCCESS;
        if (rc != MDB_SUCCESS) set_lmdb_error(error, "mdb_del(tags)", rc);
        return rc;
    }
    // What is held decides two writes (one read for both): a credentialed record leaves a
    // public one as it is; and a client that does not name the Docker list type, told the
    // digest that one naming it learned, renews nothing: the tag may since have become a
    // list of which that is the linux/amd64 manifest (a single-platform image made
    // multi-platform), which only a client naming the list can tell; nor may it take the
    // record from those clients (each would then go upstream).
    if (w.link.scope == LinkScope::credentialed || !w.tag_learned_naming_list) {
        MDB_val existing;
        rc = mdb_get(txn, dbi_, &key, &existing);
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
            set_lmdb_error(error, "mdb_get(tags)", rc);
            return rc;
        }
        TagRecord held;
        if (rc == MDB_SUCCESS && decode(to_view(existing), held) == DecodeStatus::ok) {
            if (w.link.scope == LinkScope::credentialed && held.scope == LinkScope::public_access) {
                kept = false;
                return MDB_SUCCESS;
            }
            if (!w.tag_learned_naming_list && held.learned_naming_list && held.digest.view() == w.digest) {
                return MDB_SUCCESS;
            }
        }
    }
    TagRecord record;
    record.scope = w.link.scope;
    record.stored_at = w.link.stored_at;
    record.media_type = w.descriptor.media_type;
    record.learned_naming_list = w.tag_learned_naming_list;
    record.size = w.descriptor.size;
    (void) record.digest.assign(w.digest);  // validated by Store::commit
    const std::string bytes = encode(record);
    MDB_val value = to_val(bytes);
    if ((rc = mdb_put(txn, dbi_, &key, &value, 0)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_put(tags)", rc);
    }
    return rc;
}

int Tags::forget_pointing_to(MDB_txn* txn, std::string_view repository, std::string_view digest,
                             std::string& error, std::uint64_t* forgotten) const {
    // The repository's tags sort together, right after "repository \0".
    std::string prefix(repository);
    prefix.push_back('\0');
    Cursor cursor;
    int rc = cursor.open(txn, dbi_);
    if (rc != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_cursor_open(tags)", rc);
        return rc;
    }
    MDB_val k = to_val(prefix);
    MDB_val v;
    for (rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
         rc == MDB_SUCCESS && to_view(k).substr(0, prefix.size()) == prefix;
         rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
        TagRecord tag;
        if (decode(to_view(v), tag) == DecodeStatus::ok && tag.digest.view() != digest) continue;
        // A record this code cannot read may name the digest too: it goes as well.
        if ((rc = mdb_cursor_del(cursor.get(), 0)) != MDB_SUCCESS) {
            set_lmdb_error(error, "mdb_cursor_del(tags)", rc);
            return rc;
        }
        if (forgotten != nullptr) ++*forgotten;
    }
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
        set_lmdb_error(error, "mdb_cursor_get(tags)", rc);
        return rc;
    }
    return MDB_SUCCESS;
}

int Tags::evict_oldest(Environment& env, std::uint64_t& evicted, std::string& error) const noexcept {
    return evict_oldest_tenth(env, dbi_, table_name, evicted, error, nullptr, tag_learned_at);
}

bool Tags::count(MDB_txn* txn, std::uint64_t& tags, std::string& error) const noexcept {
    MDB_stat st;
    const int rc = mdb_stat(txn, dbi_, &st);
    if (rc != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_stat(tags)", rc);
        return false;
    }
    tags = st.ms_entries;
    return true;
}

int Tags::forget(MDB_txn* txn, std::string_view key, bool& gone, std::string& error) const noexcept {
    return delete_key(txn, dbi_, table_name, key, nullptr, gone, error);
}

int Tags::forget_repository(MDB_txn* txn, std::string_view prefix, std::uint64_t& count,
                            std::string& error) const noexcept {
    return delete_with_prefix(txn, dbi_, table_name, prefix, nullptr, count, error);
}

}  // namespace registry_cache::store
