// Eviction of the oldest tenth of a table of link records, shared by the tables that hold
// them (blob links, manifest links): by the time each was learned (hits write nothing, so
// that is the cache's measure of least recently useful), in one write transaction.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "registry_cache/store/environment.h"

namespace registry_cache::store {

// Called, inside the transaction, for each record before it is deleted (a manifest link
// gives back its hold on the body); an LMDB code, `error` set on failure.
using OnEvict = std::function<int(MDB_txn*, const MDB_val& key, std::string& error)>;

// Deletes the oldest tenth of the records of `dbi` (named `table` in errors). Records this
// code cannot read count as the oldest. Returns an LMDB code; `evicted` counts what went.
int evict_oldest_tenth(Environment& env, MDB_dbi dbi, const char* table, std::uint64_t& evicted,
                       std::string& error, const OnEvict& on_evict = nullptr) noexcept;

}  // namespace registry_cache::store
