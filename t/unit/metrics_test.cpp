// The Prometheus exposition: the text is the contract (dashboards and promtool read it), so
// these tests compare whole texts.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "registry_cache/metrics.h"

namespace registry_cache {
namespace {

// Every field a distinct value, so that a field rendered under the wrong name shows.
CacheMetrics sample_cache(const std::string& zone, std::uint64_t base, bool store_ok) {
    CacheMetrics m;
    m.zone = zone;
    CacheCounters& c = m.counters;
    c.lookups = base + 1;
    c.hits = base + 2;
    c.misses = base + 3;
    c.bypasses = base + 4;
    c.errors = base + 5;
    c.refused = base + 6;
    c.recorded = base + 7;
    c.cleared = base + 8;
    c.verified = base + 18;
    c.verified_bytes = base + 19;
    c.upstream_body_bytes = base + 44;
    c.digest_mismatches = base + 20;
    c.evictions = base + 21;
    c.manifests_recorded = base + 22;
    c.stale = base + 31;
    c.manifest_hits = base + 23;
    c.manifest_misses = base + 24;
    c.bodies_stored = base + 32;
    c.body_bytes_served = base + 33;
    c.bodies_evicted = base + 38;
    c.upstream_tokens_fetched = base + 39;
    c.upstream_token_failures = base + 40;
    c.upstream_tokens_refused = base + 41;
    c.flight_waits = base + 45;
    c.flights_full = base + 46;
    c.body_hits = base + 34;
    c.body_misses = base + 35;
    c.upstream_1xx = 0;  // zero still gets its sample
    c.upstream_2xx = base + 10;
    c.upstream_3xx = base + 11;
    c.upstream_4xx = base + 12;
    c.upstream_5xx = base + 13;
    m.store_ok = store_ok;
    m.store.links = base + 15;
    m.store.map_used = base + 16;
    m.store.map_size = base + 17;
    m.store.manifest_links = base + 25;
    m.store.manifest_bodies = base + 26;
    m.store.tags = base + 27;
    m.store.blob_bodies = base + 36;
    m.store.blob_body_bytes = base + 37;
    m.counters.tag_hits = base + 28;
    m.counters.tag_misses = base + 29;
    m.counters.tag_revalidated = base + 30;
    m.counters.manifest_revalidated = base + 42;
    m.counters.body_revalidated = base + 43;
    m.counters.blob_revalidated = base + 44;
    return m;
}

const char* const header_requests =
    "# HELP registry_storage_cache_requests_total Blob requests looked up in the cache.\n"
    "# TYPE registry_storage_cache_requests_total counter\n";

TEST(Metrics, ExactTextForOneCache) {
    std::vector<CacheMetrics> caches{sample_cache("edge", 0, true)};
    caches[0].store.map_size = 1073741824;
    caches[0].counters.hits = 18446744073709551615ULL;  // all 20 digits of a uint64
    std::string out;
    render_metrics(caches, out);
    const std::string expected =
        "# HELP registry_storage_cache_requests_total Blob requests looked up in the cache.\n"
        "# TYPE registry_storage_cache_requests_total counter\n"
        "registry_storage_cache_requests_total{cache=\"edge\"} 1\n"
        "# HELP registry_storage_cache_hits_total Blob requests answered from the cache.\n"
        "# TYPE registry_storage_cache_hits_total counter\n"
        "registry_storage_cache_hits_total{cache=\"edge\"} 18446744073709551615\n"
        "# HELP registry_storage_cache_errors_total Cache store failures and damaged records, "
        "on reads and writes.\n"
        "# TYPE registry_storage_cache_errors_total counter\n"
        "registry_storage_cache_errors_total{cache=\"edge\"} 5\n"
        "# HELP nginx_registry_cache_misses_total Requests looked up in the cache but not "
        "servable from it, passed upstream.\n"
        "# TYPE nginx_registry_cache_misses_total counter\n"
        "nginx_registry_cache_misses_total{cache=\"edge\"} 3\n"
        "# HELP nginx_registry_cache_bypasses_total Requests passed upstream without a cache "
        "lookup (blob GETs, uploads, pushes...).\n"
        "# TYPE nginx_registry_cache_bypasses_total counter\n"
        "nginx_registry_cache_bypasses_total{cache=\"edge\"} 4\n"
        "# HELP nginx_registry_cache_refused_total Requests answered locally with an OCI error "
        "(invalid name or digest).\n"
        "# TYPE nginx_registry_cache_refused_total counter\n"
        "nginx_registry_cache_refused_total{cache=\"edge\"} 6\n"
        "# HELP nginx_registry_cache_recorded_total Blob descriptors learned from the upstream "
        "and committed to the store.\n"
        "# TYPE nginx_registry_cache_recorded_total counter\n"
        "nginx_registry_cache_recorded_total{cache=\"edge\"} 7\n"
        "# HELP nginx_registry_cache_cleared_total Repository links cleared after a DELETE the "
        "upstream accepted.\n"
        "# TYPE nginx_registry_cache_cleared_total counter\n"
        "nginx_registry_cache_cleared_total{cache=\"edge\"} 8\n"
        "# HELP nginx_registry_cache_verified_total Bodies relayed from the upstream whose bytes "
        "hashed to their digest.\n"
        "# TYPE nginx_registry_cache_verified_total counter\n"
        "nginx_registry_cache_verified_total{cache=\"edge\"} 18\n"
        "# HELP nginx_registry_cache_verified_bytes_total Bytes of the bodies that were verified.\n"
        "# TYPE nginx_registry_cache_verified_bytes_total counter\n"
        "nginx_registry_cache_verified_bytes_total{cache=\"edge\"} 19\n"
        "# HELP nginx_registry_cache_upstream_body_bytes_total Bytes of bodies named by digest that the upstream "
        "sent and that verified as they passed: what the edge fetched (bodies served from its disk are not "
        "counted).\n"
        "# TYPE nginx_registry_cache_upstream_body_bytes_total counter\n"
        "nginx_registry_cache_upstream_body_bytes_total{cache=\"edge\"} 44\n"
        "# HELP nginx_registry_cache_digest_mismatches_total Bodies that did not hash to their "
        "digest or that the upstream ended short: cut before their end, never recorded.\n"
        "# TYPE nginx_registry_cache_digest_mismatches_total counter\n"
        "nginx_registry_cache_digest_mismatches_total{cache=\"edge\"} 20\n"
        "# HELP nginx_registry_cache_evictions_total Entries evicted, oldest first, to make room "
        "when the store reached max_size.\n"
        "# TYPE nginx_registry_cache_evictions_total counter\n"
        "nginx_registry_cache_evictions_total{cache=\"edge\"} 21\n"
        "# HELP nginx_registry_cache_stale_total Answers from the cache that the upstream could not "
        "confirm (registry_cache_use_stale).\n"
        "# TYPE nginx_registry_cache_stale_total counter\n"
        "nginx_registry_cache_stale_total{cache=\"edge\"} 31\n"
        "# HELP nginx_registry_cache_manifests_recorded_total Manifests, verified against their "
        "digest, committed to the store with their bodies.\n"
        "# TYPE nginx_registry_cache_manifests_recorded_total counter\n"
        "nginx_registry_cache_manifests_recorded_total{cache=\"edge\"} 22\n"
        "# HELP nginx_registry_cache_blob_bodies_stored_total Blob bodies verified against their "
        "digest and written to the store's disk.\n"
        "# TYPE nginx_registry_cache_blob_bodies_stored_total counter\n"
        "nginx_registry_cache_blob_bodies_stored_total{cache=\"edge\"} 32\n"
        "# HELP nginx_registry_cache_blob_bodies_evicted_total Blob bodies removed from the store's "
        "disk, least recently used first, for blobs_max_size.\n"
        "# TYPE nginx_registry_cache_blob_bodies_evicted_total counter\n"
        "nginx_registry_cache_blob_bodies_evicted_total{cache=\"edge\"} 38\n"
        "# HELP nginx_registry_cache_blob_body_bytes_served_total Bytes of blob bodies answered "
        "from the store's disk (whole bodies; ranges count whole).\n"
        "# TYPE nginx_registry_cache_blob_body_bytes_served_total counter\n"
        "nginx_registry_cache_blob_body_bytes_served_total{cache=\"edge\"} 33\n"
        "# HELP nginx_registry_cache_upstream_tokens_fetched_total Tokens the edge fetched from "
        "the token service for its upstream requests (mirror mode).\n"
        "# TYPE nginx_registry_cache_upstream_tokens_fetched_total counter\n"
        "nginx_registry_cache_upstream_tokens_fetched_total{cache=\"edge\"} 39\n"
        "# HELP nginx_registry_cache_upstream_token_failures_total Token requests of mirror mode "
        "that brought no usable token.\n"
        "# TYPE nginx_registry_cache_upstream_token_failures_total counter\n"
        "nginx_registry_cache_upstream_token_failures_total{cache=\"edge\"} 40\n"
        "# HELP nginx_registry_cache_upstream_tokens_refused_total Edge tokens the upstream "
        "refused as invalid (forgotten, fetched again).\n"
        "# TYPE nginx_registry_cache_upstream_tokens_refused_total counter\n"
        "nginx_registry_cache_upstream_tokens_refused_total{cache=\"edge\"} 41\n"
        "# HELP nginx_registry_cache_flight_waits_total Waits of requests for another's upstream "
        "exchange of the same object (a miss, or a revalidation past a TTL) instead of asking the "
        "upstream themselves.\n"
        "# TYPE nginx_registry_cache_flight_waits_total counter\n"
        "nginx_registry_cache_flight_waits_total{cache=\"edge\"} 45\n"
        "# HELP nginx_registry_cache_flights_full_total Requests that would have led or followed a "
        "flight but found the single-flight table full near their key, and asked the upstream alone.\n"
        "# TYPE nginx_registry_cache_flights_full_total counter\n"
        "nginx_registry_cache_flights_full_total{cache=\"edge\"} 46\n"
        "# HELP registry_storage_cache_total The number of cache request received, by type.\n"
        "# TYPE registry_storage_cache_total counter\n"
        "registry_storage_cache_total{cache=\"edge\",type=\"Request\"} 1\n"
        "registry_storage_cache_total{cache=\"edge\",type=\"Hit\"} 18446744073709551615\n"
        "registry_storage_cache_total{cache=\"edge\",type=\"Miss\"} 3\n"
        "registry_storage_cache_total{cache=\"edge\",type=\"Error\"} 5\n"
        "# HELP nginx_registry_cache_lookups_total Requests looked up in the cache, by what they "
        "asked for and what was found.\n"
        "# TYPE nginx_registry_cache_lookups_total counter\n"
        "nginx_registry_cache_lookups_total{cache=\"edge\",kind=\"blob\",result=\"hit\"} "
        "18446744073709551615\n"
        "nginx_registry_cache_lookups_total{cache=\"edge\",kind=\"blob\",result=\"miss\"} 3\n"
        "nginx_registry_cache_lookups_total{cache=\"edge\",kind=\"blob\",result=\"revalidated\"} 44\n"
        "nginx_registry_cache_lookups_total{cache=\"edge\",kind=\"blob_body\",result=\"hit\"} 34\n"
        "nginx_registry_cache_lookups_total{cache=\"edge\",kind=\"blob_body\",result=\"miss\"} 35\n"
        "nginx_registry_cache_lookups_total{cache=\"edge\",kind=\"blob_body\",result=\"revalidated\"} 43\n"
        "nginx_registry_cache_lookups_total{cache=\"edge\",kind=\"manifest\",result=\"hit\"} 23\n"
        "nginx_registry_cache_lookups_total{cache=\"edge\",kind=\"manifest\",result=\"miss\"} 24\n"
        "nginx_registry_cache_lookups_total{cache=\"edge\",kind=\"manifest\",result=\"revalidated\"} 42\n"
        "nginx_registry_cache_lookups_total{cache=\"edge\",kind=\"tag\",result=\"hit\"} 28\n"
        "nginx_registry_cache_lookups_total{cache=\"edge\",kind=\"tag\",result=\"miss\"} 29\n"
        "nginx_registry_cache_lookups_total{cache=\"edge\",kind=\"tag\",result=\"revalidated\"} 30\n"
        "# HELP nginx_registry_cache_upstream_responses_total Upstream responses to requests "
        "the cache passed on, by status class.\n"
        "# TYPE nginx_registry_cache_upstream_responses_total counter\n"
        "nginx_registry_cache_upstream_responses_total{cache=\"edge\",status=\"1xx\"} 0\n"
        "nginx_registry_cache_upstream_responses_total{cache=\"edge\",status=\"2xx\"} 10\n"
        "nginx_registry_cache_upstream_responses_total{cache=\"edge\",status=\"3xx\"} 11\n"
        "nginx_registry_cache_upstream_responses_total{cache=\"edge\",status=\"4xx\"} 12\n"
        "nginx_registry_cache_upstream_responses_total{cache=\"edge\",status=\"5xx\"} 13\n"
        "# HELP nginx_registry_cache_entries Entries in the cache's store, by kind.\n"
        "# TYPE nginx_registry_cache_entries gauge\n"
        "nginx_registry_cache_entries{cache=\"edge\",kind=\"links\"} 15\n"
        "nginx_registry_cache_entries{cache=\"edge\",kind=\"manifest_links\"} 25\n"
        "nginx_registry_cache_entries{cache=\"edge\",kind=\"manifest_bodies\"} 26\n"
        "nginx_registry_cache_entries{cache=\"edge\",kind=\"tags\"} 27\n"
        "nginx_registry_cache_entries{cache=\"edge\",kind=\"blob_bodies\"} 36\n"
        "# HELP nginx_registry_cache_map_bytes_used Bytes of the store's memory map in use.\n"
        "# TYPE nginx_registry_cache_map_bytes_used gauge\n"
        "nginx_registry_cache_map_bytes_used{cache=\"edge\"} 16\n"
        "# HELP nginx_registry_cache_map_bytes_limit Bytes the store's memory map may grow to "
        "(max_size).\n"
        "# TYPE nginx_registry_cache_map_bytes_limit gauge\n"
        "nginx_registry_cache_map_bytes_limit{cache=\"edge\"} 1073741824\n"
        "# HELP nginx_registry_cache_blob_bytes Bytes of blob bodies the store holds on disk "
        "(blobs_max_size).\n"
        "# TYPE nginx_registry_cache_blob_bytes gauge\n"
        "nginx_registry_cache_blob_bytes{cache=\"edge\"} 37\n";
    EXPECT_EQ(out, expected);
}

TEST(Metrics, AppendsToWhatIsAlreadyThere) {
    std::string out = "prefix\n";
    render_metrics({sample_cache("edge", 0, true)}, out);
    EXPECT_EQ(out.rfind("prefix\n# HELP registry_storage_cache_requests_total ", 0), 0u);
}

TEST(Metrics, TwoCachesAreGroupedPerFamily) {
    std::string out;
    render_metrics({sample_cache("hub", 100, true), sample_cache("ghcr", 200, true)}, out);

    // Within a family: HELP, TYPE, then hub's sample, then ghcr's; and the next family only
    // after both.
    const std::string requests = std::string(header_requests) +
                                 "registry_storage_cache_requests_total{cache=\"hub\"} 101\n"
                                 "registry_storage_cache_requests_total{cache=\"ghcr\"} 201\n"
                                 "# HELP registry_storage_cache_hits_total ";
    EXPECT_EQ(out.rfind(requests, 0), 0u) << out;

    const std::string upstream =
        "# TYPE nginx_registry_cache_upstream_responses_total counter\n"
        "nginx_registry_cache_upstream_responses_total{cache=\"hub\",status=\"1xx\"} 0\n"
        "nginx_registry_cache_upstream_responses_total{cache=\"hub\",status=\"2xx\"} 110\n"
        "nginx_registry_cache_upstream_responses_total{cache=\"hub\",status=\"3xx\"} 111\n"
        "nginx_registry_cache_upstream_responses_total{cache=\"hub\",status=\"4xx\"} 112\n"
        "nginx_registry_cache_upstream_responses_total{cache=\"hub\",status=\"5xx\"} 113\n"
        "nginx_registry_cache_upstream_responses_total{cache=\"ghcr\",status=\"1xx\"} 0\n"
        "nginx_registry_cache_upstream_responses_total{cache=\"ghcr\",status=\"2xx\"} 210\n"
        "nginx_registry_cache_upstream_responses_total{cache=\"ghcr\",status=\"3xx\"} 211\n"
        "nginx_registry_cache_upstream_responses_total{cache=\"ghcr\",status=\"4xx\"} 212\n"
        "nginx_registry_cache_upstream_responses_total{cache=\"ghcr\",status=\"5xx\"} 213\n"
        "# HELP nginx_registry_cache_entries ";
    EXPECT_NE(out.find(upstream), std::string::npos) << out;

    const std::string tail =
        "# TYPE nginx_registry_cache_blob_bytes gauge\n"
        "nginx_registry_cache_blob_bytes{cache=\"hub\"} 137\n"
        "nginx_registry_cache_blob_bytes{cache=\"ghcr\"} 237\n";
    ASSERT_GE(out.size(), tail.size());
    EXPECT_EQ(out.substr(out.size() - tail.size()), tail);

    // Each family declared exactly once: 30 families, 30 HELP and 30 TYPE lines.
    std::size_t help = 0, type = 0;
    for (std::size_t pos = 0; (pos = out.find("# HELP ", pos)) != std::string::npos; ++pos)
        ++help;
    for (std::size_t pos = 0; (pos = out.find("# TYPE ", pos)) != std::string::npos; ++pos)
        ++type;
    EXPECT_EQ(help, 30u);
    EXPECT_EQ(type, 30u);
}

TEST(Metrics, LabelValuesAreEscaped) {
    std::string out;
    render_metrics({sample_cache("a\\b\"c\nd", 0, true)}, out);
    EXPECT_NE(out.find("registry_storage_cache_requests_total{cache=\"a\\\\b\\\"c\\nd\"} 1\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("nginx_registry_cache_entries{cache=\"a\\\\b\\\"c\\nd\",kind=\"links\"} 15\n"),
              std::string::npos)
        << out;
    // The raw newline never reaches the output: every line is a comment or a sample.
    std::size_t start = 0;
    while (start < out.size()) {
        std::size_t end = out.find('\n', start);
        ASSERT_NE(end, std::string::npos);
        std::string line = out.substr(start, end - start);
        EXPECT_TRUE(line.rfind("# ", 0) == 0 || line.rfind("registry_storage_cache_", 0) == 0 ||
                    line.rfind("nginx_registry_cache_", 0) == 0)
            << line;
        start = end + 1;
    }
}

TEST(Metrics, StoreGaugesLeftOutWithoutStore) {
    std::string out;
    render_metrics({sample_cache("down", 0, false), sample_cache("up", 100, true)}, out);
    // The counters of the cache without a store are still there...
    EXPECT_NE(out.find("registry_storage_cache_hits_total{cache=\"down\"} 2\n"), std::string::npos);
    EXPECT_NE(out.find("nginx_registry_cache_upstream_responses_total{cache=\"down\",status=\"5xx\"} 13\n"),
              std::string::npos);
    // ...its gauges are not (no made-up zeros)...
    EXPECT_EQ(out.find("nginx_registry_cache_entries{cache=\"down\""), std::string::npos);
    EXPECT_EQ(out.find("nginx_registry_cache_map_bytes_used{cache=\"down\""), std::string::npos);
    EXPECT_EQ(out.find("nginx_registry_cache_map_bytes_limit{cache=\"down\""), std::string::npos);
    // ...while the other cache's are.
    EXPECT_NE(out.find("nginx_registry_cache_entries{cache=\"up\",kind=\"links\"} 115\n"),
              std::string::npos);
    EXPECT_NE(out.find("nginx_registry_cache_map_bytes_used{cache=\"up\"} 116\n"),
              std::string::npos);
    EXPECT_NE(out.find("nginx_registry_cache_map_bytes_limit{cache=\"up\"} 117\n"),
              std::string::npos);
}

TEST(Metrics, NoCachesDeclaresTheFamiliesOnly) {
    std::string out;
    render_metrics({}, out);
    EXPECT_EQ(out.rfind(header_requests, 0), 0u) << out;
    std::size_t start = 0, lines = 0;
    while (start < out.size()) {
        std::size_t end = out.find('\n', start);
        ASSERT_NE(end, std::string::npos);
        EXPECT_EQ(out.compare(start, 2, "# "), 0) << out.substr(start, end - start);
        ++lines;
        start = end + 1;
    }
    EXPECT_EQ(lines, 60u);
}

}  // namespace
}  // namespace registry_cache
