// The table of an Environment that keeps what the upstream itself answered, apart from any
// repository: "upstream_answers", "/v2/ <host>" -> PingRecord (its last answer to an anonymous
// ping asked by that Host), replayed when the upstream fails; max_ping_hosts of them at most.
// Written only when the answer changes.
#pragma once

#include <string>

#include "registry_cache/ping_record.h"
#include "registry_cache/store.h"
#include "registry_cache/store/environment.h"

namespace registry_cache::store {

class UpstreamAnswers {
public:
    static constexpr const char* table_name = "upstream_answers";

    int open(Environment& env, WriteTxn& txn, std::string& error) noexcept;

    LookupStatus read_ping(MDB_txn* txn, std::string_view host, PingRecord& out, std::string* error) const;

    // Records the ping of `write` (a record; the table keeps no credentialed answer), unless
    // it is of a new Host and max_ping_hosts are kept already.
    int apply(MDB_txn* txn, const StoreWrite& write, std::string& error) const;

private:
    MDB_dbi dbi_ = 0;
};

}  // namespace registry_cache::store
