// The one way a table of the store reads a record (private to the store's tables): the
// value under a key, decoded by the record's own codec, and what its absence, an unknown
// version, damage or LMDB's failure make of the lookup.
#pragma once

#include <string>
#include <string_view>

#include "registry_cache/descriptor.h"
#include "registry_cache/store.h"
#include "registry_cache/store/environment.h"

namespace registry_cache::store {

// Reads `key` of `dbi` into `out` with `decode(bytes, out)` (a DecodeStatus): hit when
// decoded, miss when absent or of a version this code does not know, error (reported in
// `error` when given, naming `table`) when LMDB fails or the record is damaged.
template <typename Record, typename Decode>
LookupStatus read_record(MDB_txn* txn, MDB_dbi dbi, std::string_view key, const char* table, Record& out,
                         std::string* error, Decode&& decode) {
    MDB_val k = to_val(key);
    MDB_val value;
    const int rc = mdb_get(txn, dbi, &k, &value);
    if (rc == MDB_NOTFOUND) return LookupStatus::miss;
    if (rc != MDB_SUCCESS) {
        if (error != nullptr) {
            try {
                set_lmdb_error(*error, (std::string("mdb_get(") + table + ")").c_str(), rc);
            } catch (...) {
                set_lmdb_error(*error, "mdb_get", rc);  // out of memory: without the table
            }
        }
        return LookupStatus::error;
    }
    switch (decode(to_view(value), out)) {
        case DecodeStatus::ok: return LookupStatus::hit;
        case DecodeStatus::unknown_version: return LookupStatus::miss;
        case DecodeStatus::damaged: break;
    }
    if (error != nullptr) set_error(*error, table, "damaged record");
    return LookupStatus::error;
}

}  // namespace registry_cache::store
