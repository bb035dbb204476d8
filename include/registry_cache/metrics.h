// Prometheus text exposition of the caches' counters (format 0.0.4).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "registry_cache/store.h"

namespace registry_cache {

// One cache's counters, read from shared memory.
struct CacheCounters {
    std::uint64_t lookups = 0;    // HEAD blob requests looked up in the store
    std::uint64_t hits = 0;       // answered from the cache
    std::uint64_t misses = 0;     // looked up, not servable: sent upstream
    std::uint64_t bypasses = 0;   // not looked up (GET, uploads, manifests...): sent upstream
    std::uint64_t errors = 0;     // store failures and damaged records (reads and writes)
    std::uint64_t refused = 0;    // answered locally with an OCI error (invalid name/digest)
    std::uint64_t recorded = 0;   // descriptors learned from the upstream and committed
    std::uint64_t cleared = 0;    // links cleared after an accepted DELETE
    std::uint64_t verified = 0;        // GET bodies whose bytes hashed to their digest
    std::uint64_t verified_bytes = 0;  // bytes of those bodies
    std::uint64_t digest_mismatches = 0;  // bodies that did not: cut, never recorded
    std::uint64_t evictions = 0;  // links evicted to make room when the map was full
    // Upstream responses to requests the module passed on, by status class.
    std::uint64_t upstream_1xx = 0, upstream_2xx = 0, upstream_3xx = 0, upstream_4xx = 0,
                  upstream_5xx = 0;
};

struct CacheMetrics {
    std::string zone;        // the cache="..." label
    CacheCounters counters;
    bool store_ok = false;   // false: the store's gauges are left out for this cache
    StoreStats store;
};

// Appends the exposition of every cache to `out`: each family's HELP and TYPE once, then a
// sample per cache. Families: registry_storage_cache_requests_total,
// registry_storage_cache_hits_total, registry_storage_cache_errors_total, distribution's own
// registry_storage_cache_total{type="Request"|"Hit"|"Miss"|"Error"}, and
// nginx_registry_cache_{misses,bypasses,refused,recorded,cleared}_total,
// nginx_registry_cache_{verified,verified_bytes,digest_mismatches,evictions}_total,
// nginx_registry_cache_upstream_responses_total{status="2xx",...},
// nginx_registry_cache_entries{kind="links"},
// nginx_registry_cache_map_bytes_used, nginx_registry_cache_map_bytes_limit.
void render_metrics(const std::vector<CacheMetrics>& caches, std::string& out);

}  // namespace registry_cache
