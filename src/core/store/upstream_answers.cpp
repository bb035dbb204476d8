#include "registry_cache/store/upstream_answers.h"

#include <new>

#include "read_record.h"

namespace registry_cache::store {
namespace {

std::string ping_key(std::string_view host) { return "/v2/ " + std::string(host); }

}  // namespace

int UpstreamAnswers::open(Environment& env, WriteTxn& txn, std::string& error) noexcept {
    return env.open_table(txn, table_name, dbi_, error);
}

LookupStatus UpstreamAnswers::read_ping(MDB_txn* txn, std::string_view host, PingRecord& out,
                                        std::string* error) const {
    if (!is_ping_host(host)) return LookupStatus::miss;
    try {
        return read_record(txn, dbi_, ping_key(host), table_name, out, error,
                           [](std::string_view bytes, PingRecord& record) { return decode(bytes, record); });
    } catch (const std::bad_alloc&) {
        if (error != nullptr) set_error(*error, table_name, "out of memory");
        return LookupStatus::error;
    }
}

int UpstreamAnswers::apply(MDB_txn* txn, const StoreWrite& w, std::string& error) const {
    const std::string key_bytes = ping_key(w.repository);  // a ping host: validated by Store::commit
    MDB_val key = to_val(key_bytes);
    MDB_val existing;
    int rc = mdb_get(txn, dbi_, &key, &existing);
    if (rc == MDB_NOTFOUND) {
        MDB_stat stat;
        if ((rc = mdb_stat(txn, dbi_, &stat)) != MDB_SUCCESS) {
            set_lmdb_error(error, "mdb_stat(upstream_answers)", rc);
            return rc;
        }
        if (stat.ms_entries >= max_ping_hosts) return MDB_SUCCESS;  // a Host too many: not kept
    } else if (rc != MDB_SUCCESS) {
        set_lmdb_error(error, "mdb_get(upstream_answers)", rc);
        return rc;
    }
    const std::string bytes = encode(w.ping);  // replayable: validated by Store::commit
    MDB_val value = to_val(bytes);
    rc = mdb_put(txn, dbi_, &key, &value, 0);
    if (rc != MDB_SUCCESS) set_lmdb_error(error, "mdb_put(upstream_answers)", rc);
    return rc;
}

}  // namespace registry_cache::store
