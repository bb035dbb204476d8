// What checking a Bearer token costs the core (registry_cache::auth::check_token), against the
// unit tests' vectors: a token whose `x5c` chain the worker verified before (each new token of
// a token server: its signature), one whose chain is new (the chain too: measured with a
// trust loaded afresh, so the figure includes reading the bundle), and one naming its key by
// `kid`. The edge pays this once per token and worker; hits after that compare the token only.
#include <benchmark/benchmark.h>

#include <fstream>
#include <map>
#include <string>

#include "registry_cache/auth/token.h"
#include "token_vectors.h"

namespace {

using registry_cache::auth::check_token;
using registry_cache::auth::CheckedToken;
using registry_cache::auth::TokenTrust;
using registry_cache::auth::TokenVerdict;

struct Vectors : TokenVectors {
    bool load(TokenTrust& trust) const {
        std::string error;
        return TokenVectors::load(trust, error);
    }
};

const Vectors& vectors() {
    static const Vectors v;
    return v;
}

void known_chain(benchmark::State& state, const char* name) {
    TokenTrust trust;
    if (!vectors().load(trust)) state.SkipWithError("cannot load the vectors");
    const std::string& token = vectors().tokens.at(name);
    CheckedToken out;
    check_token(token, trust, vectors().now, out);  // the chain, once
    for (auto _ : state) {
        if (check_token(token, trust, vectors().now, out) != TokenVerdict::valid) state.SkipWithError("not valid");
    }
}

void new_chain(benchmark::State& state, const char* name) {
    const std::string& token = vectors().tokens.at(name);
    CheckedToken out;
    for (auto _ : state) {
        TokenTrust trust;
        vectors().load(trust);
        if (check_token(token, trust, vectors().now, out) != TokenVerdict::valid) state.SkipWithError("not valid");
    }
}

void load_only(benchmark::State& state) {
    for (auto _ : state) {
        TokenTrust trust;
        vectors().load(trust);
    }
}

BENCHMARK_CAPTURE(known_chain, rs256_x5c, "valid_rs256");
BENCHMARK_CAPTURE(known_chain, es256_x5c, "valid_es256");
BENCHMARK_CAPTURE(known_chain, rs256_kid, "valid_kid_of_root");
BENCHMARK_CAPTURE(new_chain, rs256_x5c, "valid_rs256");
BENCHMARK(load_only);

}  // namespace

BENCHMARK_MAIN();
