#include "registry_cache/store/blob_bodies.h"

#include <algorithm>
#include <tuple>

#include "registry_cache/keys.h"
#include "read_record.h"
#include "../record_bytes.h"

namespace registry_cache::store {
namespace {

// version(1) size(8) stored_at(8)
constexpr unsigned char body_record_version = 1;
constexpr std::size_t body_record_size = 1 + 8 + 8;
// Sorts before every content key (their first byte is an algorithm's, 1 to 3).
constexpr std::string_view total_key("\0", 1);

std::string encode_body(const BodyRecord& record) {
    std::string out;
    out.push_back(static_cast<char>(body_record_version));
    record_bytes::put_u64(out, record.size);
    record_bytes::put_u64(out, record.stored_at);
    return out;
}

DecodeStatus decode_body(std::string_view bytes, BodyRecord& out) noexcept {
    if (bytes.empty()) return DecodeStatus::damaged;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    if (p[0] != body_record_version) return DecodeStatus::unknown_version;
    if (bytes.size() != body_record_size) return DecodeStatus::damaged;
    out.size = record_bytes::get_u64(p + 1);
    out.stored_at = record_bytes::get_u64(p + 9);
    return DecodeStatus::ok;
}

int read_total(MDB_txn* txn, MDB_dbi dbi, std::uint64_t& total, std::string& error) {
    MDB_val key = to_val(total_key);
    MDB_val value;
    const int rc = mdb_get(txn, dbi, &key, &value);
    total = 0;
    if (rc == MDB_NOTFOUND) return MDB_SUCCESS;
    if (rc != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_get(blob_bodies total)", rc);
        return rc;
    }
    if (value.mv_size != 8) {
        set_error(error, "blob_bodies", "damaged total");
        return MDB_CORRUPTED;
    }
    total = record_bytes::get_u64(static_cast<const unsigned char*>(value.mv_data));
    return MDB_SUCCESS;
}

int write_total(MDB_txn* txn, MDB_dbi dbi, std::uint64_t total, std::string& error) {
    std::string bytes;
    record_bytes::put_u64(bytes, total);
    MDB_val key = to_val(total_key);
    MDB_val value = to_val(bytes);
    const int rc = mdb_put(txn, dbi, &key, &value, 0);
    if (rc != MDB_SUCCESS) set_lmdb_error(error, "mdb_put(blob_bodies total)", rc);
    return rc;
}

}  // namespace

DecodeStatus BlobBodies::decode(std::string_view bytes, BodyRecord& out) noexcept {
    return decode_body(bytes, out);
}

int BlobBodies::open(Environment& env, WriteTxn& txn, std::string& error) noexcept {
    return env.open_table(txn, table_name, dbi_, error);
}

LookupStatus BlobBodies::read(MDB_txn* txn, std::string_view content_key, BodyRecord& out,
                              std::string* error) const noexcept {
    if (content_key.empty()) return LookupStatus::miss;
    return read_record(txn, dbi_, content_key, table_name, out, error, decode_body);
}

int BlobBodies::apply(MDB_txn* txn, const StoreWrite& w, std::string& error) const {
    const Key key_bytes = content_key(parse_digest(w.digest).digest);  // validated by commit
    MDB_val key = to_val(key_bytes.view());
    std::uint64_t total = 0;
    int rc = read_total(txn, dbi_, total, error);
    if (rc != MDB_SUCCESS) return rc;

    // What the record held before, so that the total counts each body once.
    std::uint64_t before = 0;
    MDB_val existing;
    rc = mdb_get(txn, dbi_, &key, &existing);
    if (rc == MDB_SUCCESS) {
        BodyRecord held;
        if (decode_body(to_view(existing), held) == DecodeStatus::ok) before = held.size;
    } else if (rc != MDB_NOTFOUND) {
        set_lmdb_error(error, "mdb_get(blob_bodies)", rc);
        return rc;
    }
    total = total >= before ? total - before : 0;

    if (w.kind == StoreWrite::Kind::clear_link) {
        rc = mdb_del(txn, dbi_, &key, nullptr);
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
            set_lmdb_error(error, "mdb_del(blob_bodies)", rc);
            return rc;
        }
        return write_total(txn, dbi_, total, error);
    }
    BodyRecord record;
    record.size = w.descriptor.size;
    record.stored_at = w.link.stored_at;
    const std::string bytes = encode_body(record);
    MDB_val value = to_val(bytes);
    if ((rc = mdb_put(txn, dbi_, &key, &value, 0)) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_put(blob_bodies)", rc);
        return rc;
    }
    return write_total(txn, dbi_, total + record.size, error);
}

int BlobBodies::forget(MDB_txn* txn, std::string_view content_key, bool& gone, std::string& error) const {
    gone = false;
    char text[max_digest_length];
    const std::size_t length = digest_text_of_content_key(content_key, text);
    if (length == 0) return MDB_SUCCESS;
    MDB_val key = to_val(content_key);
    MDB_val existing;
    int rc = mdb_get(txn, dbi_, &key, &existing);
    if (rc == MDB_NOTFOUND) return MDB_SUCCESS;
    if (rc != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_get(blob_bodies)", rc);
        return rc;
    }
    StoreWrite w;
    w.kind = StoreWrite::Kind::clear_link;
    w.object = StoreWrite::Object::blob_body;
    w.digest.assign(text, length);
    if ((rc = apply(txn, w, error)) == MDB_SUCCESS) gone = true;
    return rc;
}

int BlobBodies::evict_to(Environment& env, std::uint64_t target, std::vector<std::string>& removed,
                         std::string& error) const {
    removed.clear();
    int rc;
    WriteTxn txn = env.begin_write(rc, error);
    if (rc != MDB_SUCCESS) return rc;
    std::uint64_t total = 0;
    if ((rc = read_total(txn.get(), dbi_, total, error)) != MDB_SUCCESS) return rc;
    if (total <= target) return MDB_SUCCESS;

    // (stored_at, key, size) of every body: oldest first.
    std::vector<std::tuple<std::uint64_t, std::string, std::uint64_t>> bodies;
    {
        Cursor cursor;
        if ((rc = cursor.open(txn.get(), dbi_)) != MDB_SUCCESS) {
            set_lmdb_error(error, "mdb_cursor_open(blob_bodies)", rc);
            return rc;
        }
        MDB_val k, v;
        for (rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
             rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
            BodyRecord record;
            if (to_view(k) == total_key || decode_body(to_view(v), record) != DecodeStatus::ok) continue;
            bodies.emplace_back(record.stored_at, std::string(to_view(k)), record.size);
        }
        if (rc != MDB_NOTFOUND) {
            set_lmdb_error(error, "mdb_cursor_get(blob_bodies)", rc);
            return rc;
        }
    }
    std::sort(bodies.begin(), bodies.end());
    char text[max_digest_length];
    for (const auto& [stored_at, key_bytes, size] : bodies) {
        if (total <= target) break;
        MDB_val key = to_val(key_bytes);
        if ((rc = mdb_del(txn.get(), dbi_, &key, nullptr)) != MDB_SUCCESS) {
            set_lmdb_error(error, "mdb_del(blob_bodies)", rc);
            return rc;
        }
        total = total >= size ? total - size : 0;
        const std::size_t length = digest_text_of_content_key(key_bytes, text);
        if (length > 0) removed.emplace_back(text, length);
    }
    if ((rc = write_total(txn.get(), dbi_, total, error)) != MDB_SUCCESS) return rc;
    if ((rc = txn.commit()) != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_txn_commit", rc);
        removed.clear();
    }
    return rc;
}

bool BlobBodies::totals(MDB_txn* txn, std::uint64_t& bytes, std::uint64_t& bodies,
                        std::string& error) const noexcept {
    MDB_stat stat;
    int rc = mdb_stat(txn, dbi_, &stat);
    if (rc != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_stat(blob_bodies)", rc);
        return false;
    }
    MDB_val key = to_val(total_key);
    MDB_val value;
    rc = mdb_get(txn, dbi_, &key, &value);
    if (rc == MDB_NOTFOUND) {
        bytes = 0;
        bodies = stat.ms_entries;
        return true;
    }
    if (rc != MDB_SUCCESS || value.mv_size != 8) {
        set_error(error, table_name, rc != MDB_SUCCESS ? "reading the total failed" : "damaged total");
        return false;
    }
    bytes = record_bytes::get_u64(static_cast<const unsigned char*>(value.mv_data));
    bodies = stat.ms_entries - 1;  // the total's own entry
    return true;
}

}  // namespace registry_cache::store
