#include "registry_cache/store/upstream_answers.h"

#include <new>

namespace registry_cache::store {
namespace {

constexpr std::string_view ping_key = "/v2/";

}  // namespace

int UpstreamAnswers::open(Environment& env, WriteTxn& txn, std::string& error) noexcept {
    return env.open_table(txn, table_name, dbi_, error);
}

LookupStatus UpstreamAnswers::read_ping(MDB_txn* txn, PingRecord& out, std::string* error) const noexcept {
    MDB_val key = to_val(ping_key);
    MDB_val value;
    const int rc = mdb_get(txn, dbi_, &key, &value);
    if (rc == MDB_NOTFOUND) return LookupStatus::miss;
    if (rc != MDB_SUCCESS) {
        if (error != nullptr) set_lmdb_error(*error, "mdb_get(upstream_answers)", rc);
        return LookupStatus::error;
    }
    try {
        switch (decode(to_view(value), out)) {
            case DecodeStatus::ok: return LookupStatus::hit;
            case DecodeStatus::unknown_version: return LookupStatus::miss;
            case DecodeStatus::damaged: break;
        }
        if (error != nullptr) set_error(*error, table_name, "damaged record");
    } catch (const std::bad_alloc&) {
        if (error != nullptr) set_error(*error, table_name, "out of memory");
    }
    return LookupStatus::error;
}

int UpstreamAnswers::apply(MDB_txn* txn, const StoreWrite& w, std::string& error) const {
    MDB_val key = to_val(ping_key);
    const std::string bytes = encode(w.ping);  // replayable: validated by Store::commit
    MDB_val value = to_val(bytes);
    const int rc = mdb_put(txn, dbi_, &key, &value, 0);
    if (rc != MDB_SUCCESS) set_lmdb_error(error, "mdb_put(upstream_answers)", rc);
    return rc;
}

}  // namespace registry_cache::store
