// How fast the core hashes a body as it streams (registry_cache::Hasher over OpenSSL EVP),
// in the chunk sizes nginx hands a body filter. Bytes per second is the figure: the verified
// GET path costs this much CPU per byte relayed.
#include <benchmark/benchmark.h>

#include <string>

#include "registry_cache/hasher.h"

namespace {

void hash_stream(benchmark::State& state, registry_cache::DigestAlgorithm algorithm) {
    const std::string chunk(static_cast<std::size_t>(state.range(0)), '\x5a');
    for (auto _ : state) {
        registry_cache::Hasher h;
        h.start(algorithm);
        // 64 chunks a round: start/finish are part of the cost, as once per body they are.
        for (int i = 0; i < 64; ++i) h.update(chunk.data(), chunk.size());
        benchmark::DoNotOptimize(h.finish());
    }
    state.SetBytesProcessed(state.iterations() * 64 * state.range(0));
}

void sha256(benchmark::State& state) { hash_stream(state, registry_cache::DigestAlgorithm::sha256); }
void sha512(benchmark::State& state) { hash_stream(state, registry_cache::DigestAlgorithm::sha512); }

BENCHMARK(sha256)->Arg(8 << 10)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK(sha512)->Arg(8 << 10)->Arg(64 << 10)->Arg(1 << 20);

}  // namespace

BENCHMARK_MAIN();
