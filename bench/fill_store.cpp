// Fills a cache directory with N public entries (bench/scale_keys.h names entry i) through
// the core's own Store::commit, as the nginx workers would, in large batches: the scale
// benchmark then measures hits on a store of that size.
//
//   fill_store DIR N [MAP_MIB]      DIR must exist; MAP_MIB is max_size in MiB (default 4096)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "registry_cache/store.h"
#include "scale_keys.h"

using namespace registry_cache;

namespace {

// Large enough that commits cost little per entry, small enough that a batch's strings stay
// far below the memory of a small machine.
constexpr std::uint64_t batch_size = 100000;

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s DIR N [MAP_MIB]\n", argv[0]);
        return 2;
    }
    const std::uint64_t n = std::strtoull(argv[2], nullptr, 10);
    const std::uint64_t map_mib = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 4096;

    StoreOptions options;
    options.directory = argv[1];
    options.map_size = map_mib << 20;
    std::string error;
    std::unique_ptr<Store> store = Store::open(options, error);
    if (!store) {
        std::fprintf(stderr, "fill_store: %s\n", error.c_str());
        return 1;
    }

    const auto start = std::chrono::steady_clock::now();
    const std::uint64_t now = static_cast<std::uint64_t>(std::time(nullptr));
    std::vector<StoreWrite> batch;
    batch.reserve(batch_size);
    char repository[32];
    char digest[72];
    for (std::uint64_t i = 0; i < n;) {
        batch.clear();
        for (; i < n && batch.size() < batch_size; ++i) {
            scale_repository(i, repository);
            scale_digest(i, digest);
            StoreWrite w;
            w.kind = StoreWrite::Kind::record;
            w.repository = repository;
            w.digest = digest;
            w.descriptor.size = SCALE_BLOB_SIZE;
            w.descriptor.stored_at = now;
            w.descriptor.media_type.assign(SCALE_MEDIA_TYPE);
            w.link.scope = LinkScope::public_access;
            w.link.stored_at = now;
            batch.push_back(std::move(w));
        }
        std::uint64_t evicted = 0;
        if (!store->commit(batch, error, &evicted)) {
            std::fprintf(stderr, "fill_store: commit at entry %llu: %s\n",
                         static_cast<unsigned long long>(i), error.c_str());
            return 1;
        }
        if (evicted != 0) {
            // A benchmark of a store that lost entries would measure misses.
            std::fprintf(stderr, "fill_store: %llu entries evicted: raise MAP_MIB\n",
                         static_cast<unsigned long long>(evicted));
            return 1;
        }
    }

    StoreStats stats;
    if (!store->stats(stats, error)) {
        std::fprintf(stderr, "fill_store: %s\n", error.c_str());
        return 1;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("entries %llu map_used %llu seconds %.1f\n",
                static_cast<unsigned long long>(stats.links),
                static_cast<unsigned long long>(stats.map_used), seconds);
    return stats.links == n ? 0 : 1;
}
