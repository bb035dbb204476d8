// Prometheus text exposition (format 0.0.4) of the caches' counters.
//
// Layout: each family's "# HELP" and "# TYPE" once, then one sample per cache, so that the
// samples of a family are grouped as the format requires. Families are always declared, even
// when no cache contributes a sample (an empty vector, or no cache whose store could be read):
// the set of families then does not depend on the state of the caches, and promtool accepts
// a declared family without samples.
#include "registry_cache/metrics.h"

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace registry_cache {
namespace {

using std::string_view_literals::operator""sv;

// Appends `value` in decimal; std::to_chars neither allocates nor depends on the locale.
void append_uint(std::string& out, std::uint64_t value) {
    char buf[20];  // UINT64_MAX has 20 digits
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    (void)ec;  // cannot fail: the buffer fits every uint64_t
    out.append(buf, static_cast<std::size_t>(end - buf));
}

// Label values escape backslash, double quote and line feed (format 0.0.4). Runs of bytes
// that need no escape are appended at once.
void append_label_value(std::string& out, std::string_view value) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < value.size(); ++i) {
        std::string_view escaped;
        switch (value[i]) {
        case '\\': escaped = "\\\\"sv; break;
        case '"': escaped = "\\\""sv; break;
        case '\n': escaped = "\\n"sv; break;
        default: continue;
        }
        out.append(value.data() + start, i - start);
        out.append(escaped);
        start = i + 1;
    }
    out.append(value.data() + start, value.size() - start);
}

void append_header(std::string& out, std::string_view name, std::string_view type,
                   std::string_view help) {
    out.append("# HELP "sv).append(name).append(" "sv).append(help).append("\n"sv);
    out.append("# TYPE "sv).append(name).append(" "sv).append(type).append("\n"sv);
}

// name{cache="<zone>"[,<extra_label>="<extra_value>"]} value
struct Label {
    std::string_view name;  // empty: none
    std::string_view value;
};

void append_label(std::string& out, const Label& label) {
    if (label.name.empty()) return;
    out.append(","sv).append(label.name).append("=\""sv);
    append_label_value(out, label.value);  // constants today; escaped all the same
    out.append("\""sv);
}

void append_sample(std::string& out, std::string_view name, std::string_view zone,
                   const Label& first, const Label& second, std::uint64_t value) {
    out.append(name).append("{cache=\""sv);
    append_label_value(out, zone);
    out.append("\""sv);
    append_label(out, first);
    append_label(out, second);
    out.append("} "sv);
    append_uint(out, value);
    out.append("\n"sv);
}

void append_sample(std::string& out, std::string_view name, std::string_view zone,
                   std::string_view extra_label, std::string_view extra_value,
                   std::uint64_t value) {
    append_sample(out, name, zone, Label{extra_label, extra_value}, Label{}, value);
}

// Families with one sample per cache and no label but cache="...".
struct PlainFamily {
    std::string_view name;
    std::string_view type;
    std::string_view help;
    std::uint64_t (*value)(const CacheMetrics&);
    bool needs_store;  // a gauge of the store: only for caches with store_ok
};

constexpr std::string_view counter = "counter"sv;
constexpr std::string_view gauge = "gauge"sv;

// The families of REGISTRY_CACHE_COUNTERS, in its order: distribution's
// registry_storage_cache_* names first (see also append_distribution_total), then this
// module's. Counters without a family of their own are left out here.
const PlainFamily counter_families[] = {
#define REGISTRY_CACHE_COUNTER_FAMILY(field, family, help) \
    {family ""sv, counter, help ""sv, [](const CacheMetrics& m) { return m.counters.field; }, false},
    REGISTRY_CACHE_COUNTERS(REGISTRY_CACHE_COUNTER_FAMILY)
#undef REGISTRY_CACHE_COUNTER_FAMILY
};

const PlainFamily map_families[] = {
    {"nginx_registry_cache_map_bytes_used"sv, gauge,
     "Bytes of the store's memory map in use."sv,
     [](const CacheMetrics& m) { return m.store.map_used; }, true},
    {"nginx_registry_cache_map_bytes_limit"sv, gauge,
     "Bytes the store's memory map may grow to (max_size)."sv,
     [](const CacheMetrics& m) { return m.store.map_size; }, true},
    {"nginx_registry_cache_blob_bytes"sv, gauge,
     "Bytes of blob bodies the store holds on disk (blobs_max_size)."sv,
     [](const CacheMetrics& m) { return m.store.blob_body_bytes; }, true},
};

constexpr std::string_view upstream_name = "nginx_registry_cache_upstream_responses_total"sv;
constexpr std::string_view entries_name = "nginx_registry_cache_entries"sv;

void append_plain(std::string& out, const PlainFamily& f,
                  const std::vector<CacheMetrics>& caches) {
    append_header(out, f.name, f.type, f.help);
    for (const CacheMetrics& m : caches) {
        if (f.needs_store && !m.store_ok) continue;
        append_sample(out, f.name, m.zone, Label{}, Label{}, f.value(m));
    }
}

// distribution 2.x and 3.x export their cache counters as one family labelled by type
// (registry/storage/cache/cachedblobdescriptorstore.go): the same series here, so that a
// dashboard built on the registry's own metrics works against the edge unchanged.
void append_distribution_total(std::string& out, const std::vector<CacheMetrics>& caches) {
    constexpr std::string_view name = "registry_storage_cache_total"sv;
    append_header(out, name, counter, "The number of cache request received, by type."sv);
    for (const CacheMetrics& m : caches) {
        const CacheCounters& c = m.counters;
        append_sample(out, name, m.zone, "type"sv, "Request"sv, c.lookups);
        append_sample(out, name, m.zone, "type"sv, "Hit"sv, c.hits);
        append_sample(out, name, m.zone, "type"sv, "Miss"sv, c.misses);
        append_sample(out, name, m.zone, "type"sv, "Error"sv, c.errors);
    }
}

void append_upstream(std::string& out, const std::vector<CacheMetrics>& caches) {
    append_header(out, upstream_name, counter,
                  "Upstream responses to requests the cache passed on, by status class."sv);
    for (const CacheMetrics& m : caches) {
        const CacheCounters& c = m.counters;
        // Every class, zero included: a series that appears only on its first event breaks
        // rate() and alerting on absent().
        append_sample(out, upstream_name, m.zone, "status"sv, "1xx"sv, c.upstream_1xx);
        append_sample(out, upstream_name, m.zone, "status"sv, "2xx"sv, c.upstream_2xx);
        append_sample(out, upstream_name, m.zone, "status"sv, "3xx"sv, c.upstream_3xx);
        append_sample(out, upstream_name, m.zone, "status"sv, "4xx"sv, c.upstream_4xx);
        append_sample(out, upstream_name, m.zone, "status"sv, "5xx"sv, c.upstream_5xx);
    }
}

void append_lookups(std::string& out, const std::vector<CacheMetrics>& caches) {
    constexpr std::string_view name = "nginx_registry_cache_lookups_total"sv;
    append_header(out, name, counter,
                  "Requests looked up in the cache, by what they asked for and what was found."sv);
    for (const CacheMetrics& m : caches) {
        const CacheCounters& c = m.counters;
        append_sample(out, name, m.zone, {"kind"sv, "blob"sv}, {"result"sv, "hit"sv}, c.hits);
        append_sample(out, name, m.zone, {"kind"sv, "blob"sv}, {"result"sv, "miss"sv}, c.misses);
        append_sample(out, name, m.zone, {"kind"sv, "blob"sv}, {"result"sv, "revalidated"sv},
                      c.blob_revalidated);
        append_sample(out, name, m.zone, {"kind"sv, "blob_body"sv}, {"result"sv, "hit"sv}, c.body_hits);
        append_sample(out, name, m.zone, {"kind"sv, "blob_body"sv}, {"result"sv, "miss"sv}, c.body_misses);
        append_sample(out, name, m.zone, {"kind"sv, "blob_body"sv}, {"result"sv, "revalidated"sv},
                      c.body_revalidated);
        append_sample(out, name, m.zone, {"kind"sv, "manifest"sv}, {"result"sv, "hit"sv}, c.manifest_hits);
        append_sample(out, name, m.zone, {"kind"sv, "manifest"sv}, {"result"sv, "miss"sv}, c.manifest_misses);
        append_sample(out, name, m.zone, {"kind"sv, "manifest"sv}, {"result"sv, "revalidated"sv},
                      c.manifest_revalidated);
        append_sample(out, name, m.zone, {"kind"sv, "tag"sv}, {"result"sv, "hit"sv}, c.tag_hits);
        append_sample(out, name, m.zone, {"kind"sv, "tag"sv}, {"result"sv, "miss"sv}, c.tag_misses);
        append_sample(out, name, m.zone, {"kind"sv, "tag"sv}, {"result"sv, "revalidated"sv},
                      c.tag_revalidated);
    }
}

void append_entries(std::string& out, const std::vector<CacheMetrics>& caches) {
    append_header(out, entries_name, gauge, "Entries in the cache's store, by kind."sv);
    for (const CacheMetrics& m : caches) {
        if (!m.store_ok) continue;
        append_sample(out, entries_name, m.zone, "kind"sv, "links"sv, m.store.links);
        append_sample(out, entries_name, m.zone, "kind"sv, "manifest_links"sv, m.store.manifest_links);
        append_sample(out, entries_name, m.zone, "kind"sv, "manifest_bodies"sv, m.store.manifest_bodies);
        append_sample(out, entries_name, m.zone, "kind"sv, "tags"sv, m.store.tags);
        append_sample(out, entries_name, m.zone, "kind"sv, "blob_bodies"sv, m.store.blob_bodies);
    }
}

// Room for the HELP/TYPE lines and, per cache, its samples: the longest sample line is about
// 100 bytes plus the zone (escaping can at most double it); 48 samples per cache at most.
std::size_t estimate_size(const std::vector<CacheMetrics>& caches) {
    std::size_t size = 3072;
    for (const CacheMetrics& m : caches) size += 48 * (112 + 2 * m.zone.size());
    return size;
}

}  // namespace

void render_metrics(const std::vector<CacheMetrics>& caches, std::string& out) {
    out.reserve(out.size() + estimate_size(caches));
    for (const PlainFamily& f : counter_families) {
        if (!f.name.empty()) append_plain(out, f, caches);
    }
    append_distribution_total(out, caches);
    append_lookups(out, caches);
    append_upstream(out, caches);
    append_entries(out, caches);
    for (const PlainFamily& f : map_families) append_plain(out, f, caches);
}

}  // namespace registry_cache
