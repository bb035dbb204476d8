#include "registry_cache/store/upstream_answers.h"

#include <new>

#include "registry_cache/store/read_record.h"

namespace registry_cache::store {
namespace {

constexpr std::string_view ping_key = "/v2/";

}  // namespace

int UpstreamAnswers::open(Environment& env, WriteTxn& txn, std::string& error) noexcept {
    return env.open_table(txn, table_name, dbi_, error);
}

LookupStatus UpstreamAnswers::read_ping(MDB_txn* txn, PingRecord& out, std::string* error) const noexcept {
    try {
        return read_record(txn, dbi_, ping_key, table_name, out, error,
                           [](std::string_view bytes, PingRecord& record) { return decode(bytes, record); });
    } catch (const std::bad_alloc&) {
        if (error != nullptr) set_error(*error, table_name, "out of memory");
        return LookupStatus::error;
    }
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
