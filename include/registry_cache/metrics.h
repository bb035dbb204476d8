// Prometheus text exposition of the caches' counters (format 0.0.4).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "registry_cache/store.h"

namespace registry_cache {

// Every counter of a cache, in one table: X(field, family, help). The field names the counter
// in CacheCounters and in the nginx glue's shared zone; the family is the Prometheus name of
// its sample (empty: it is a sample of a labelled family, rendered apart). A new counter is one
// line here; nothing else needs to list it.
#define REGISTRY_CACHE_COUNTERS(X)                                                                  \
    X(lookups, "registry_storage_cache_requests_total", "Blob requests looked up in the cache.")    \
    X(hits, "registry_storage_cache_hits_total", "Blob requests answered from the cache.")         \
    X(errors, "registry_storage_cache_errors_total",                                                 \
      "Cache store failures and damaged records, on reads and writes.")                             \
    X(misses, "nginx_registry_cache_misses_total",                                                   \
      "Requests looked up in the cache but not servable from it, passed upstream.")                 \
    X(bypasses, "nginx_registry_cache_bypasses_total",                                               \
      "Requests passed upstream without a cache lookup (blob GETs, uploads, pushes...).")              \
    X(refused, "nginx_registry_cache_refused_total",                                                 \
      "Requests answered locally with an OCI error (invalid name or digest).")                      \
    X(recorded, "nginx_registry_cache_recorded_total",                                               \
      "Blob descriptors learned from the upstream and committed to the store.")                     \
    X(cleared, "nginx_registry_cache_cleared_total",                                                 \
      "Repository links cleared after a DELETE the upstream accepted.")                             \
    X(verified, "nginx_registry_cache_verified_total",                                               \
      "Bodies relayed from the upstream whose bytes hashed to their digest.")                       \
    X(verified_bytes, "nginx_registry_cache_verified_bytes_total",                                   \
      "Bytes of the bodies that were verified.")                                                    \
    X(upstream_body_bytes, "nginx_registry_cache_upstream_body_bytes_total",                         \
      "Bytes of bodies named by digest that the upstream sent and that verified as they passed: "   \
      "what the edge fetched (bodies served from its disk are not counted).")                       \
    X(digest_mismatches, "nginx_registry_cache_digest_mismatches_total",                             \
      "Bodies that did not hash to their digest or that the upstream ended short: cut before "      \
      "their end, never recorded.")                                                                 \
    X(evictions, "nginx_registry_cache_evictions_total",                                             \
      "Entries evicted, oldest first, to make room when the store reached max_size.")               \
    X(stale, "nginx_registry_cache_stale_total",                                                     \
      "Answers from the cache that the upstream could not confirm (registry_cache_use_stale).")      \
    X(manifests_recorded, "nginx_registry_cache_manifests_recorded_total",                           \
      "Manifests, verified against their digest, committed to the store with their bodies.")         \
    X(bodies_stored, "nginx_registry_cache_blob_bodies_stored_total",                                \
      "Blob bodies verified against their digest and written to the store's disk.")                  \
    X(bodies_evicted, "nginx_registry_cache_blob_bodies_evicted_total",                              \
      "Blob bodies removed from the store's disk, least recently used first, for blobs_max_size.") \
    X(body_bytes_served, "nginx_registry_cache_blob_body_bytes_served_total",                        \
      "Bytes of blob bodies answered from the store's disk (whole bodies; ranges count whole).")     \
    X(upstream_tokens_fetched, "nginx_registry_cache_upstream_tokens_fetched_total",                 \
      "Tokens the edge fetched from the token service for its upstream requests (mirror mode).")     \
    X(upstream_token_failures, "nginx_registry_cache_upstream_token_failures_total",                 \
      "Token requests of mirror mode that brought no usable token.")                                \
    X(upstream_tokens_refused, "nginx_registry_cache_upstream_tokens_refused_total",                 \
      "Edge tokens the upstream refused as invalid (forgotten, fetched again).")                    \
    X(flight_waits, "nginx_registry_cache_flight_waits_total",                                       \
      "Waits of requests for another's upstream exchange of the same object (a miss, or a "      \
      "revalidation past a TTL) instead of asking the upstream themselves.")                         \
    X(flights_full, "nginx_registry_cache_flights_full_total",                                       \
      "Requests that would have led or followed a flight but found the single-flight table full "  \
      "near their key, and asked the upstream alone.")                                               \
    /* Lookups by kind and result (nginx_registry_cache_lookups_total): blobs' are the */           \
    /* hits and misses above; manifests' are counted apart. */                                       \
    X(manifest_hits, "", "")                                                                         \
    X(manifest_misses, "", "")                                                                       \
    X(tag_hits, "", "")                                                                              \
    X(tag_misses, "", "")                                                                            \
    X(tag_revalidated, "", "")                                                                       \
    X(manifest_revalidated, "", "")                                                                  \
    X(body_revalidated, "", "")                                                                      \
    X(blob_revalidated, "", "")                                                                      \
    X(body_hits, "", "")                                                                             \
    X(body_misses, "", "")                                                                           \
    /* Upstream responses to requests the module passed on, by status class. */                     \
    X(upstream_1xx, "", "")                                                                          \
    X(upstream_2xx, "", "")                                                                          \
    X(upstream_3xx, "", "")                                                                          \
    X(upstream_4xx, "", "")                                                                          \
    X(upstream_5xx, "", "")

// One cache's counters, read from shared memory.
struct CacheCounters {
#define REGISTRY_CACHE_COUNTER_FIELD(field, family, help) std::uint64_t field = 0;
    REGISTRY_CACHE_COUNTERS(REGISTRY_CACHE_COUNTER_FIELD)
#undef REGISTRY_CACHE_COUNTER_FIELD
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
// nginx_registry_cache_{verified,verified_bytes,upstream_body_bytes,digest_mismatches,evictions}_total,
// nginx_registry_cache_manifests_recorded_total,
// nginx_registry_cache_blob_bodies_stored_total, nginx_registry_cache_blob_body_bytes_served_total,
// nginx_registry_cache_lookups_total{kind="blob"|"blob_body"|"manifest"|"tag",result="hit"|"miss"},
// nginx_registry_cache_upstream_responses_total{status="2xx",...},
// nginx_registry_cache_entries{kind="links"|"manifest_links"|"manifest_bodies"|"tags"|"blob_bodies"},
// nginx_registry_cache_map_bytes_used, nginx_registry_cache_map_bytes_limit,
// nginx_registry_cache_blob_bytes (bodies on disk).
void render_metrics(const std::vector<CacheMetrics>& caches, std::string& out);

}  // namespace registry_cache
