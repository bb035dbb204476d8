#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets of t/fuzz/ with clang (AddressSanitizer and
# UndefinedBehaviorSanitizer) and runs each for FUZZ_SECONDS (default 30), starting from its
# seed corpus in t/fuzz/corpus/<target>/. New inputs go to build/fuzz/corpus/, crashes to
# build/fuzz/; the script fails on the first target that finds one.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
out=${BUILD:-$repo/build}/fuzz
seconds=${FUZZ_SECONDS:-30}
cxx=${FUZZ_CXX:-clang++}
mkdir -p "$out"

# The core sources the targets need (no nginx, no LMDB; OpenSSL's libcrypto for tokens).
core=(digest reference route conditional keys descriptor media_types ping_record hasher
      upstream_namespace purge notifications rfc3339 auth/base64 auth/json auth/token auth/trust)

flags=(-std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I"$repo/include" -DTOKEN_VECTORS_DIR="\"$repo/t/unit/vectors\"")

# The core is compiled once, as many files at a time as there are CPUs, and linked into
# each target (instrumented for coverage, without libFuzzer's main).
objects=()
jobs=0
for c in "${core[@]}"; do
    obj=$out/obj/$c.o
    mkdir -p "$(dirname "$obj")"
    objects+=("$obj")
    "$cxx" "${flags[@]/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}" -c "$repo/src/core/$c.cpp" -o "$obj" &
    jobs=$((jobs + 1))
    if [ "$jobs" -ge "$(nproc)" ]; then wait -n; jobs=$((jobs - 1)); fi
done
while [ "$jobs" -gt 0 ]; do wait -n; jobs=$((jobs - 1)); done

status=0
for target in route digest media_type record token events; do
    bin=$out/${target}_fuzzer
    "$cxx" "${flags[@]}" "$repo/t/fuzz/${target}_fuzzer.cpp" "${objects[@]}" -lcrypto -o "$bin"
    mkdir -p "$out/corpus/$target"
    echo "=== fuzzing $target for ${seconds}s"
    if ! (cd "$out" && "$bin" -max_total_time="$seconds" -print_final_stats=0 \
            -artifact_prefix="$out/${target}-" "$out/corpus/$target" "$repo/t/fuzz/corpus/$target" \
            2>"$out/$target.log"); then
        tail -n 30 "$out/$target.log" >&2
        echo "fuzz: $target found a crash; the input is in $out/${target}-*" >&2
        status=1
        break
    fi
    grep -E '^#[0-9]+.*DONE|^Done [0-9]+ runs' "$out/$target.log" | tail -n 1 || true
done
exit "$status"
