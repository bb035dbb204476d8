// What every table of link records (blob links, manifest links) does the same way: the
// credential rule of a write, the record a write puts, and eviction of the oldest.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "registry_cache/store.h"
#include "registry_cache/store/environment.h"

namespace registry_cache::store {

// Whether `w`, learned with credentials, must leave the link under `key` as it is: what was
// learned with credentials never replaces nor alters what the upstream told anyone, it only
// fills a place no public link holds. An LMDB code; `keep` says the answer.
int keeps_public_link(MDB_txn* txn, MDB_dbi dbi, const char* table, const MDB_val& key,
                      const StoreWrite& w, bool& keep, std::string& error) noexcept;

// Puts the record of `w` (scope, size, media type, the link's time) under `key`.
int put_link_record(MDB_txn* txn, MDB_dbi dbi, const char* table, const MDB_val& key,
                    const StoreWrite& w, std::string& error);

// Eviction of the oldest tenth: by the time each link was learned (hits write nothing, so
// that is the cache's measure of least recently useful), in one write transaction.
// Called, inside the transaction, for each record before it is deleted (a manifest link
// gives back its hold on the body); an LMDB code, `error` set on failure.
using OnEvict = std::function<int(MDB_txn*, const MDB_val& key, std::string& error)>;

// When a record was learned: a link record's time by default; 0 for one this code cannot
// read, which is then the first to go.
using LearnedAt = std::uint64_t (*)(const MDB_val& value) noexcept;
std::uint64_t link_learned_at(const MDB_val& value) noexcept;

// Deletes the oldest tenth of the records of `dbi` (named `table` in errors). Returns an LMDB
// code; `evicted` counts what went.
int evict_oldest_tenth(Environment& env, MDB_dbi dbi, const char* table, std::uint64_t& evicted,
                       std::string& error, const OnEvict& on_evict = nullptr,
                       LearnedAt learned_at = link_learned_at) noexcept;

// Deletes the record under `key`, calling `on_delete` first when there is one; `gone` says
// whether there was. An LMDB code.
int delete_key(MDB_txn* txn, MDB_dbi dbi, const char* table, std::string_view key, const OnEvict& on_delete,
               bool& gone, std::string& error) noexcept;
// Deletes every record whose key starts with `prefix` (a repository's, "name \0"), calling
// `on_delete` for each first; `count` adds how many went. An LMDB code.
int delete_with_prefix(MDB_txn* txn, MDB_dbi dbi, const char* table, std::string_view prefix,
                       const OnEvict& on_delete, std::uint64_t& count, std::string& error) noexcept;

}  // namespace registry_cache::store
