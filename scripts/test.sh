#!/usr/bin/env bash
# `make test`: every layer of tests, against one real registry that this script starts on a
# free loopback port, seeds with the demo images, and stops on exit.
#   1. unit tests of the core (GoogleTest, ctest), with the checks of the exposition and of
#      the example dashboard and alerts (promtool, scripts/check-monitoring.sh)
#   2. t/*.t, Test::Nginx::Socket blocks run against stock /usr/sbin/nginx with the module
#   3. t/e2e/*.t, skopeo pulling and pushing images through an edge
#   4. the module built from a full nginx source tree with --with-compat, loaded by stock nginx
#   5. the libFuzzer targets of t/fuzz/, FUZZ_SECONDS each (3 by default here)
#   6. the unit tests again under valgrind
#   7. t/*.t again, on nginx and the module built with ASan and UBSan (scripts/test-asan.sh)
# ONLY=asan runs just the last one (make test-asan).
# Exits non-zero when any layer fails; the layers after a failure still run.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build}
module="$build/ngx_http_registry_cache_module.so"
nginx_bin=${NGINX_BIN:-/usr/sbin/nginx}
work=$(mktemp -d "${TMPDIR:-/tmp}/registry-cache-test.XXXXXX")

cleanup() {
    "$repo/t/fixtures/registry.sh" stop "$work/registry" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
# A signal ends the run through the EXIT trap too: the registry never outlives it.
trap 'exit 130' INT
trap 'exit 143' TERM

passed=0
failed=()
layer() {
    local name=$1
    shift
    echo
    echo "=== $name"
    local began=$SECONDS
    if "$@"; then
        passed=$((passed + 1))
    else
        failed+=("$name")
    fi
    echo "=== $name: $((SECONDS - began))s"
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

start_registry() {
    local port
    port=$("$repo/t/fixtures/registry.sh" start "$work/registry")
    "$repo/t/fixtures/seed.sh" "127.0.0.1:$port" "$work/fixtures"
    export REGISTRY_PORT=$port TEST_NGINX_REGISTRY_PORT=$port
    export_fixture_digests
}

test_nginx() {
    # The project's runner stands in for Test::Nginx::Socket only where CPAN's is missing.
    local inc=()
    perl -MTest::Nginx::Socket -e1 2>/dev/null || inc=(-I "$repo/t/lib")
    (cd "$repo" && TEST_NGINX_BINARY=$nginx_bin TEST_NGINX_LOAD_MODULES=$module \
        prove "${inc[@]}" t/*.t)
}

e2e() { (cd "$repo" && MODULE_SO=$module NGINX_BIN=$nginx_bin prove --timer t/e2e/); }

nginx_source_route() { "$repo/scripts/check-nginx-source-build.sh" "$build"; }

# 3 s a target here keeps `make test` within its 15 minutes (six targets); `make fuzz` runs 30 by default.
fuzz() { BUILD=$build FUZZ_SECONDS=${FUZZ_SECONDS:-3} "$repo/scripts/fuzz.sh"; }

asan() { BUILD=$build "$repo/scripts/test-asan.sh"; }

# Definite leaks and every memory error fail; the store tests fork children that _exit
# holding the parent's LMDB buffers, which valgrind would call possibly lost.
valgrind_unit() {
    valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
        --child-silent-after-fork=yes "$build/unit_tests" --gtest_brief=1
}

start=$SECONDS
if [ "${ONLY:-}" = asan ]; then
    start_registry
    layer "Test::Nginx tests under ASan and UBSan" asan
    echo "layers: $passed passed, ${#failed[@]} failed"
    [ ${#failed[@]} -eq 0 ]
    exit
fi
layer "unit tests (ctest)" unit
start_registry
layer "Test::Nginx tests (t/*.t)" test_nginx
layer "end-to-end tests with skopeo (t/e2e)" e2e
layer "module built from nginx source with --with-compat" nginx_source_route
layer "fuzzing (t/fuzz, ${FUZZ_SECONDS:-3}s a target)" fuzz
layer "unit tests under valgrind" valgrind_unit
layer "Test::Nginx tests under ASan and UBSan" asan

echo
echo "make test finished in $((SECONDS - start))s"
for f in "${failed[@]}"; do echo "FAILED: $f"; done
echo "layers: $passed passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
