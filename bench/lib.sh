# What the benchmarks that start nginx prefixes and a registry of their own share (sourced):
#
#   BENCH=name . "$HERE/lib.sh"; bench_require TOOL...; bench_workdir
#
# log/die say BENCH's name; bench_require checks the tools and the module; bench_workdir
# makes WORK and, on exit, stops every nginx under $WORK/nginx-* and the registry in
# $WORK/registry, then removes WORK. free_port and alive come from t/fixtures/processes.sh.
# shellcheck shell=bash

log() { echo "$BENCH: $*" >&2; }
die() { echo "$BENCH: $*" >&2; exit 1; }

bench_require() {
    local tool
    for tool in "$@" "$NGINX_BIN"; do
        command -v "$tool" >/dev/null || die "$tool not found (ab is in apache2-utils)"
    done
    [[ -f $MODULE_SO ]] || die "MODULE_SO=$MODULE_SO does not exist (cmake --build $BUILD --target module)"
}

# shellcheck source=../t/fixtures/processes.sh
. "$REPO/t/fixtures/processes.sh"

_bench_cleanup() {
    local rc=$? prefix
    set +e
    for prefix in "$WORK"/nginx-*; do
        [[ -s $prefix/nginx.pid ]] && kill -QUIT "$(<"$prefix/nginx.pid")" 2>/dev/null
    done
    "$REPO/t/fixtures/registry.sh" stop "$WORK/registry" >/dev/null 2>&1
    sleep 0.5
    rm -rf "$WORK"
    exit "$rc"
}

bench_workdir() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/registry-cache-$BENCH.XXXXXX")
    trap _bench_cleanup EXIT
}
