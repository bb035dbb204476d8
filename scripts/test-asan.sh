#!/usr/bin/env bash
# `make test-asan`: nginx itself and the module, built from Debian's nginx source with
# --with-debug, AddressSanitizer and UndefinedBehaviorSanitizer, then the t/*.t and t/e2e
# suites on that binary. A sanitizer report aborts the process; nginx logs the worker's death as [alert],
# which every block's error-log check refuses. Needs the environment scripts/test.sh sets
# (a seeded registry); run through `make test-asan`, or as a layer of `make test`.
#   ASAN_PART=t    builds, then runs t/*.t alone; ASAN_BUILT (a file) then says "ok" or "failed"
#                  of the build, for another process waiting to run the end-to-end part
#   ASAN_PART=e2e  runs the end-to-end files alone, on what was built
set -euo pipefail
part=${ASAN_PART:-all}
built() { [ -z "${ASAN_BUILT:-}" ] || echo "$1" >"$ASAN_BUILT"; }

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build}
out=$build/asan
# nginx's own core passes null with a zero length to memcpy (ngx_pstrdup and the like),
# which UBSan's nonnull-attribute check calls undefined: that one check is left out.
san="-fsanitize=address,undefined -fno-sanitize=nonnull-attribute -fno-sanitize-recover=undefined -fsanitize-recover=alignment"
san+=" -fno-omit-frame-pointer"

# nginx and the module, configured again when config or this script changed. `set -e` does
# not hold in a function whose caller tests it: each step says its own failure.
build_asan() {
    local tree
    tree=$("$repo/scripts/nginx-source.sh" "$build/nginx-full") || return 1
    if [ ! -f "$out/.configured" ] || [ "$repo/config" -nt "$out/.configured" ] ||
       [ "$0" -nt "$out/.configured" ]; then
        rm -rf "$out"
        mkdir -p "$out"
        cp -a "$tree" "$out/src" || return 1
        (cd "$out/src" && ./configure --prefix="$out/prefix" --with-debug --with-compat --with-threads \
            --with-http_sub_module --with-http_realip_module --with-http_auth_request_module \
            --with-http_ssl_module --with-http_v2_module \
            --with-cc-opt="$san -O1 -g" --with-ld-opt="$san" --add-dynamic-module="$repo" \
            >"$out/configure.log" 2>&1) || { tail -n 30 "$out/configure.log" >&2; return 1; }
        touch "$out/.configured"
    fi
    make -s -C "$out/src" -j"$(nproc)" >"$out/make.log" 2>&1 || { tail -n 30 "$out/make.log" >&2; return 1; }
}
if [ "$part" != e2e ]; then
    if ! build_asan; then built failed; exit 1; fi
    built ok
fi

inc=()
perl -MTest::Nginx::Socket -e1 2>/dev/null || inc=(-I "$repo/t/lib")
# nginx frees little at exit by design: leak reports would be noise, memory errors are not.
# Every dynamic module defines ngx_modules/ngx_module_names, as the binary does (nginx's
# design, not a bug): the one-definition-rule check is off.
export ASAN_OPTIONS=detect_leaks=0:detect_odr_violation=0:abort_on_error=1:print_stacktrace=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$repo/scripts/ubsan.supp
cd "$repo"
if [ "$part" != e2e ]; then
    TEST_NGINX_BINARY=$out/src/objs/nginx \
    TEST_NGINX_LOAD_MODULES=$out/src/objs/ngx_http_registry_cache_module.so \
    TEST_NGINX_SERVROOT=$build/asan/servroot \
        prove "${inc[@]}" t/*.t
fi
[ "$part" != t ] || exit 0
# The end-to-end files too, their edges on this nginx with master and workers; but for the
# binary upgrade under load (12: its USR2 re-exec of a sanitized binary is not what it tests),
# the flat-memory check (13: ASan's allocator and quarantine make RssAnon meaningless), the
# count of LMDB reader slots across reloads (15: a property of processes, not of memory, and
# the slowest file here), the cache across restarts (03: a property of the file), the clients'
# pulls (18, 19, 24, 26, 33, 35: skopeo, podman, containerd and dockerd pull through edges whose
# code t/008, t/015, t/018 and e2e 23 run here), mirror mode's (25: its token fetching, waits and
# revalidations run here in t/018 and t/001), the bodies verified in threads, many at once
# and by ranges (14, 21, 22: the code t/013 runs here, on longer transfers), the verification
# of relayed bodies and its refusals (04, 16: t/005 runs that code here), the stored bodies'
# proofs (34: t/013's), the redirects followed to storage (36: three clients pulling; 39: in
# mirror mode; t/019 and t/018 run that code here), so that `make test` stays within 15 minutes; the Debian package (30: it installs the package and runs the stock
# nginx, none of this build), and the cache tool (31: a program of its own, built without the
# sanitizers).
E2E_SANITIZED=1 NGINX_BIN=$out/src/objs/nginx MODULE_SO=$out/src/objs/ngx_http_registry_cache_module.so \
    prove --timer $(ls t/e2e/*.t | grep -v -e '/03-' -e '/12-' -e '/13-' -e '/15-' -e '/18-' -e '/19-' -e '/24-' -e '/26-' -e '/30-' -e '/31-' -e '/33-' -e '/35-' \
        -e '/14-' -e '/21-' -e '/22-' -e '/25-' -e '/04-' -e '/16-' -e '/34-' -e '/36-' -e '/39-')
