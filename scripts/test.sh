#!/usr/bin/env bash
# `make test`: every layer of tests, against real registries that this script starts on free
# loopback ports, seeds with the demo images, and stops on exit.
#   1. unit tests of the core (GoogleTest, ctest), with the checks of the exposition and of
#      the example dashboard and alerts (promtool, scripts/check-monitoring.sh)
#   2. t/*.t, Test::Nginx::Socket blocks run against stock /usr/sbin/nginx with the module
#   3. t/e2e/*.t, skopeo pulling and pushing images through an edge
#   4. the module built from a full nginx source tree with --with-compat, loaded by stock nginx
#   5. the libFuzzer targets of t/fuzz/, FUZZ_SECONDS each (3 by default here)
#   6. the unit tests again under valgrind
#   7. t/*.t again, on nginx and the module built with ASan and UBSan (scripts/test-asan.sh)
#   8. and t/e2e/*.t on them, but for the files that test-asan.sh names
# The layers run in two tracks side by side, each against a registry of its own, so that the
# 15 minutes of `make test` hold on two cores: 1, 2 and 7 (Test::Nginx's port 1984 is theirs,
# one after the other), and 3 to 6 and 8 (3 two files at a time; 8 once 7 has built), whose
# output is printed when both tracks are done.
# ONLY=asan runs just the last two, one after the other (make test-asan).
# Exits non-zero when any layer fails; the layers after a failure still run.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build}
module="$build/ngx_http_registry_cache_module.so"
nginx_bin=${NGINX_BIN:-/usr/sbin/nginx}
work=$(mktemp -d "${TMPDIR:-/tmp}/registry-cache-test.XXXXXX")

second_track=
cleanup() {
    if [ -n "$second_track" ]; then
        pkill -TERM -P "$second_track" 2>/dev/null || true
        kill "$second_track" 2>/dev/null || true
        wait "$second_track" 2>/dev/null || true
    fi
    local registry
    for registry in "$work"/registry*; do
        "$repo/t/fixtures/registry.sh" stop "$registry" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
# A signal ends the run through the EXIT trap too: the registry never outlives it.
trap 'exit 130' INT
trap 'exit 143' TERM

# One line a layer, "passed NAME" or "failed NAME", appended by both tracks.
results=$work/results
: >"$results"
layer() {
    local name=$1
    shift
    echo
    echo "=== $name"
    local began=$SECONDS
    if "$@"; then
        echo "passed $name" >>"$results"
    else
        echo "failed $name" >>"$results"
    fi
    echo "=== $name: $((SECONDS - began))s"
}

# summary LAYERS: passes when that many layers passed (a track that died early ran fewer).
summary() {
    local passed
    passed=$(grep -c '^passed ' "$results" || true)
    echo
    [ "${ONLY:-}" = asan ] || echo "make test finished in $((SECONDS - start))s"
    sed -n 's/^failed /FAILED: /p' "$results"
    echo "layers: $passed passed, $(grep -c '^failed ' "$results" || true) failed, of $1"
    [ "$passed" -eq "$1" ]
}

unit() { (cd "$build" && ctest --output-on-failure); }

# Digests of the seeded demo/hello image, for tests that ask the registry about it.
export_fixture_digests() {
    local layout="$work/fixtures/images/hello" manifest
    manifest=$(jq -r '.manifests[0].digest' "$layout/index.json")
    TEST_NGINX_HELLO_MANIFEST=$manifest
    TEST_NGINX_HELLO_CONFIG=$(jq -r '.config.digest' "$layout/blobs/${manifest/://}")
    # The largest layer: the one whose transfer is not trivial.
    TEST_NGINX_HELLO_LAYER=$(jq -r '.layers | max_by(.size) | .digest' "$layout/blobs/${manifest/://}")
    # The first layer is the base layer that demo/other shares (build-image.sh).
    TEST_NGINX_HELLO_BASE=$(jq -r '.layers[0].digest' "$layout/blobs/${manifest/://}")
    TEST_NGINX_HELLO_LAYOUT=$layout
    export TEST_NGINX_HELLO_MANIFEST TEST_NGINX_HELLO_CONFIG TEST_NGINX_HELLO_LAYER \
        TEST_NGINX_HELLO_BASE TEST_NGINX_HELLO_LAYOUT
    # Caches that must outlive one Test::Nginx block live outside its server root.
    export TEST_NGINX_CACHE_DIR="$work/caches"
}

# start_registry DIR: a registry of its own in DIR, seeded (the layouts are built once, in
# $work/fixtures); prints its port.
start_registry() {
    local port
    port=$("$repo/t/fixtures/registry.sh" start "$1")
    "$repo/t/fixtures/seed.sh" "127.0.0.1:$port" "$work/fixtures" >&2
    echo "$port"
}

use_registry() {
    export REGISTRY_PORT=$1 TEST_NGINX_REGISTRY_PORT=$1
    export_fixture_digests
}

test_nginx() {
    # The project's runner stands in for Test::Nginx::Socket only where CPAN's is missing.
    local inc=()
    perl -MTest::Nginx::Socket -e1 2>/dev/null || inc=(-I "$repo/t/lib")
    (cd "$repo" && TEST_NGINX_BINARY=$nginx_bin TEST_NGINX_LOAD_MODULES=$module \
        prove "${inc[@]}" t/*.t)
}

# Two files at a time: each brings its own edges, daemons and ports, and much of a file's time
# is spent waiting (on TTLs, reloads, clients), which the other fills.
e2e() { (cd "$repo" && MODULE_SO=$module NGINX_BIN=$nginx_bin prove -j2 --timer t/e2e/); }

nginx_source_route() { "$repo/scripts/check-nginx-source-build.sh" "$build"; }

# 3 s a target here keeps `make test` within its 15 minutes (six targets); `make fuzz` runs 30 by default.
fuzz() { BUILD=$build FUZZ_SECONDS=${FUZZ_SECONDS:-3} "$repo/scripts/fuzz.sh"; }

asan() { BUILD=$build "$repo/scripts/test-asan.sh"; }
# The two halves of it in make test: t/*.t in the first track, which builds first, and the
# end-to-end files in the second, once the build is there ($asan_built says how it went).
asan_built=$work/asan-built
asan_t() { BUILD=$build ASAN_PART=t ASAN_BUILT=$asan_built "$repo/scripts/test-asan.sh"; }
asan_e2e() {
    until [ -s "$asan_built" ]; do sleep 1; done
    [ "$(cat "$asan_built")" = ok ] || { echo "the ASan build failed (the first track says why)"; return 1; }
    BUILD=$build ASAN_PART=e2e "$repo/scripts/test-asan.sh"
}

# Definite leaks and every memory error fail; the store tests fork children that _exit
# holding the parent's LMDB buffers, which valgrind would call possibly lost.
valgrind_unit() {
    valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
        --child-silent-after-fork=yes "$build/unit_tests" --gtest_brief=1
}

start=$SECONDS
if [ "${ONLY:-}" = asan ]; then
    use_registry "$(start_registry "$work/registry")"
    layer "Test::Nginx tests under ASan and UBSan" asan
    summary 1
    exit
fi
# Both tracks build from Debian's nginx source: it is fetched once, before they start.
"$repo/scripts/nginx-source.sh" "$build/nginx-full" >/dev/null
first=$(start_registry "$work/registry")
second=$(start_registry "$work/registry-second")
second_log=$work/second-track.log
(
    use_registry "$second"
    layer "end-to-end tests with skopeo (t/e2e)" e2e
    layer "module built from nginx source with --with-compat" nginx_source_route
    layer "fuzzing (t/fuzz, ${FUZZ_SECONDS:-3}s a target)" fuzz
    layer "end-to-end tests under ASan and UBSan" asan_e2e
) >"$second_log" 2>&1 </dev/null &
second_track=$!
use_registry "$first"
layer "unit tests (ctest)" unit
# (Here rather than in the second track, which the end-to-end layer makes the longer.)
layer "unit tests under valgrind" valgrind_unit
layer "Test::Nginx tests (t/*.t)" test_nginx
layer "Test::Nginx tests under ASan and UBSan" asan_t
# A first track that never got to the build must not leave the second waiting for it.
[ -s "$asan_built" ] || echo failed >"$asan_built"
wait "$second_track" || true
second_track=
echo
echo "=== the second track: end-to-end, nginx source build, fuzzing, valgrind, end-to-end under ASan"
cat "$second_log"
summary 8
