#!/usr/bin/env bash
# The Debian package as an operator meets it: `apt-get install ./<deb>` enables the module for
# the stock nginx (a link in /etc/nginx/modules-enabled/, and Debian's own nginx.conf passes
# `nginx -t` with it); an edge run from the packaged example configuration pulls an image and
# answers from its cache; `apt-get remove` disables the module, `apt-get purge` leaves none of
# the package's files, and the stock nginx.conf still passes `nginx -t` after each.
#
# The package is DEB, else the one `make deb` builds: around MODULE_SO when it is set (`make
# test`: the module the other tests test, packaged as it is), else building its own. The system's nginx configuration is compared before and after; the package is
# purged on any exit. Skipped when not root or when the package was installed before the test
# (an operator's installation is not this test's to remove).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

PACKAGE=libnginx-mod-http-registry-cache
ENABLED=/etc/nginx/modules-enabled/50-mod-http-registry-cache.conf
AVAILABLE=/usr/share/nginx/modules-available/mod-http-registry-cache.conf
SO=/usr/lib/nginx/modules/ngx_http_registry_cache_module.so
EXAMPLES=/usr/share/doc/$PACKAGE/examples
REPO_DIR=$(cd "$(dirname "$0")/../.." && pwd)

E2E_OWN_MODULE=1 e2e_init
[[ $(id -u) == 0 ]] || skip_all "apt-get install needs root"
package_status() { dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null || true; }
case $(package_status) in
    "" | *not-installed) ;;
    *) skip_all "$PACKAGE is already installed ($(package_status)): not removing it" ;;
esac
e2e_registry
e2e_build_image hello 1.0 "$T/src"

apt_get() {
    DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120 "$@"
}

# Whatever happens below, the package goes (the edge first: it has the module mapped).
purge_on_exit() {
    local rc=$?
    set +e
    e2e_edge_stop
    [[ -n $(package_status) ]] && apt_get purge "$PACKAGE" >>"$T/logs/purge-on-exit.log" 2>&1
    (exit $rc)
    _e2e_cleanup
}
trap purge_on_exit EXIT

# Every path under /etc/nginx with its type, link target and content hash.
etc_nginx_state() {
    find /etc/nginx -printf '%p %y %l\n' | sort
    find /etc/nginx -type f -exec md5sum {} + | sort
}
etc_nginx_state >"$T/etc-before"

if [[ -n ${DEB:-} ]]; then
    diag "the package given: $DEB"
else
    MODULE_PREBUILT=${MODULE_SO:-} make -C "$REPO_DIR" deb >"$T/logs/make-deb.log" 2>&1 || {
        echo "Bail out! make deb failed:"
        tail -n 30 "$T/logs/make-deb.log"
        exit 1
    }
    DEB=$(sed -n 's/^built //p' "$T/logs/make-deb.log")
fi
[[ -f $DEB ]] || { echo "Bail out! no package at '$DEB'"; exit 1; }

# --- installed: enabled for the stock nginx -------------------------------------------
check "apt-get install $(basename "$DEB")" apt_get install "$DEB"
is "$(readlink "$ENABLED" || true)" "$AVAILABLE" "$ENABLED links to modules-available"
is "$(cat "$AVAILABLE" 2>/dev/null || true)" "load_module modules/ngx_http_registry_cache_module.so;" \
    "which loads the module from nginx's modules directory"
check "$SO is installed" test -f "$SO"
# -T parses as -t does and prints every file it read: the module's load line came from the
# link, and a module that did not load (an ABI mismatch) fails it.
stock_config_loads_module() {
    nginx -T >"$T/nginx-T.out" 2>&1 || { cat "$T/nginx-T.out"; return 1; }
    awk -v f="# configuration file $ENABLED:" '$0 == f { getline; print }' "$T/nginx-T.out" |
        grep -x "load_module modules/ngx_http_registry_cache_module.so;"
}
check "the stock nginx.conf passes nginx -t, loading the module from modules-enabled" \
    stock_config_loads_module

# --- an edge from the packaged example ------------------------------------------------
# Loopback ports of our own, the test registry upstream, the packaged .so by its path (the
# example names it relative to its prefix), one worker, run as root (the prefix is 0700),
# and the logs and pid in the prefix itself, where lib.sh looks for them.
EDGE_DIR=$T/edge
mkdir -p "$EDGE_DIR"/{temp,cache}
EDGE=127.0.0.1:$(free_port)
METRICS=127.0.0.1:$(free_port)
example=$EXAMPLES/edge-local-registry.conf
[[ -f $example ]] || { zcat "$example.gz" >"$T/example.conf"; example=$T/example.conf; }
sed -e "s|^load_module modules/|load_module /usr/lib/nginx/modules/|" \
    -e "s|^worker_processes auto;|worker_processes 1;\nuser root root;|" \
    -e "s|logs/||" \
    -e "s|server 127.0.0.1:5000;|server $REGISTRY;|" \
    -e "s|listen 127.0.0.1:8080;|listen $EDGE;|" \
    -e "s|listen 127.0.0.1:9145;|listen $METRICS;|" \
    "$example" >"$EDGE_DIR/nginx.conf"
# Each edit took: an example that changed shape fails here, not with an edge elsewhere.
edits_took() {
    local want
    for want in "load_module $SO;" "user root root;" "server $REGISTRY;" "listen $EDGE;" \
        "listen $METRICS;" "pid nginx.pid;"; do
        grep -qF "$want" "$EDGE_DIR/nginx.conf" || { echo "missing: $want"; return 1; }
    done
}
check "the packaged example, adapted to this test's ports and prefix" edits_took
check "an edge starts from it" \
    nginx -p "$EDGE_DIR/" -c "$EDGE_DIR/nginx.conf" -e "$EDGE_DIR/error.log"
check "and answers /v2/" _edge_wait_ready

check "skopeo pulls demo/hello:1.0 through it" \
    skopeo_ copy --src-tls-verify=false --src-no-creds "docker://$EDGE/demo/hello:1.0" "oci:$T/out:1.0"
HELLO=$(layout_manifest_digest "$T/src" 1.0)
is "$(layout_manifest_digest "$T/out" 1.0)" "$HELLO" "the pulled manifest is the pushed one"
check "every pulled blob hashes to its name" layout_verify_blobs "$T/out"
answer() {
    curl -s -o "$T/body" --max-time 10 \
        -w '%{http_code} %header{x-cache-status}' "$@" || true
}
is "$(answer -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$EDGE/v2/demo/hello/manifests/$HELLO")" "200 HIT" "the manifest again: a HIT"
LAYER=$(layout_largest_layer "$T/src" 1.0)
is "$(answer "http://$EDGE/v2/demo/hello/blobs/$LAYER")" "200 HIT" "its largest layer again: a HIT"
is "sha256:$(sha256sum <"$T/body" | cut -d' ' -f1)" "$LAYER" "with the layer's bytes"
like "$(curl -s --max-time 10 "http://$METRICS/metrics")" 'nginx_registry_cache_' \
    "the example's metrics server answers"
check "the edge's error log has no [alert], [crit] or [emerg]" edge_error_log_clean
e2e_edge_stop

# --- removed, then purged ---------------------------------------------------------------
dpkg -L "$PACKAGE" >"$T/package-files"
check "apt-get remove" apt_get remove "$PACKAGE"
check "removed: the module is no longer enabled" test ! -e "$ENABLED"
check "and the stock nginx.conf passes nginx -t" nginx -t -q
check "apt-get purge" apt_get purge "$PACKAGE"
is "$(package_status)" "" "dpkg knows the package no more"
# What dpkg listed is gone, but for directories other packages own too (/usr/lib/nginx/...)
# and the root, which dpkg lists as "/.".
left_behind() {
    local path
    while read -r path; do
        [[ $path != /. ]] || continue
        [[ -e $path || -L $path ]] || continue
        [[ -d $path ]] && dpkg -S "$path" >/dev/null 2>&1 && continue
        echo "$path"
    done <"$T/package-files"
    ls -d /etc/nginx/modules-enabled/*registry-cache* 2>/dev/null || true
}
is "$(left_behind)" "" "no file of the package is left ($(wc -l <"$T/package-files") listed)"
check "the stock nginx.conf passes nginx -t" nginx -t -q
etc_nginx_state >"$T/etc-after"
check "/etc/nginx is as it was before the test" diff "$T/etc-before" "$T/etc-after"

done_testing
