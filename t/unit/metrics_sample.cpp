// Prints the exposition of two caches (one whose store could not be read, one with an
// awkward zone name) for `metrics_sample | promtool check metrics`.
#include <cstdio>
#include <string>
#include <vector>

#include "registry_cache/metrics.h"

int main() {
    using registry_cache::CacheMetrics;
    std::vector<CacheMetrics> caches(2);

    CacheMetrics& hub = caches[0];
    hub.zone = "hub";
    hub.counters.lookups = 1200;
    hub.counters.hits = 1100;
    hub.counters.misses = 100;
    hub.counters.bypasses = 40;
    hub.counters.errors = 1;
    hub.counters.refused = 2;
    hub.counters.recorded = 99;
    hub.counters.cleared = 3;
    hub.counters.upstream_2xx = 130;
    hub.counters.upstream_4xx = 10;
    hub.store_ok = true;
    hub.store.links = 120;
    hub.store.map_used = 65536;
    hub.store.map_size = 1073741824;

    CacheMetrics& other = caches[1];
    other.zone = "we\"ird\\zone\nname";  // every escape of a label value
    other.counters.lookups = 5;
    other.counters.misses = 5;
    other.counters.upstream_5xx = 5;
    other.store_ok = false;  // its gauges are left out

    std::string out;
    registry_cache::render_metrics(caches, out);
    return std::fwrite(out.data(), 1, out.size(), stdout) == out.size() ? 0 : 1;
}
