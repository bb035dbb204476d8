#!/usr/bin/env bash
# Reloads and a binary upgrade under load: for LOAD_SECONDS (10 here; LOAD_SECONDS=60 for
# the full run) three clients drive HEAD hits, HEAD misses (new blobs every time) and GETs
# through a 2-worker edge while `nginx -s reload` runs every 2 seconds, then the binary is
# upgraded (USR2, then QUIT to the old master) under the same load. Not one request may
# fail, and the counters of the zone still add up.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

LOAD_SECONDS=${LOAD_SECONDS:-10}
INC=$(cd "$(dirname "$0")/../inc" && pwd)
export E2E_WORKERS=2
e2e_init
e2e_registry_with_hello
e2e_edge_start
diag "edge on $EDGE with 2 workers, registry on $REGISTRY, $LOAD_SECONDS s of load"

nginx_() { "$NGINX_BIN" -p "$EDGE_DIR/" -c "$EDGE_DIR/nginx.conf" -e "$EDGE_DIR/error.log" "$@"; }

# Each client loops until the stop file appears, one request at a time, and writes one
# status line per request (000 when curl got no answer at all).
STOP=$T/stop
client() {
    local name=$1 i=0
    # Also gone with the temp dir: a run cut short must not leave clients looping.
    while [[ ! -e $STOP && -d $T ]]; do
        case $name in
            hits) curl -s -o /dev/null -I -w '%{http_code}\n' --max-time 10 "http://$EDGE/v2/demo/hello/blobs/$LAYER" ;;
            misses) curl -s -o /dev/null -I -w '%{http_code}\n' --max-time 10 \
                "http://$EDGE/v2/demo/hello/blobs/sha256:$(printf '%064x' "$((RANDOM * 32768 + RANDOM))$i")" ;;
            gets) curl -s -o /dev/null -w '%{http_code}\n' --max-time 10 "http://$EDGE/v2/demo/hello/blobs/$LAYER" ;;
        esac
        i=$((i + 1))
    done >"$T/$name.txt" 2>&1 || true
}
curl -s -o /dev/null -I "http://$EDGE/v2/demo/hello/blobs/$LAYER"  # learn it: later HEADs hit
CLIENTS=()
for name in hits misses gets; do
    client "$name" &
    CLIENTS+=($!)
done
E2E_HELPERS+=("${CLIENTS[@]}")  # stopped by the cleanup, however the file ends

end=$((SECONDS + LOAD_SECONDS))
reloads=0
while ((SECONDS < end)); do
    sleep 2  # the cadence of the reloads under test, not a wait for anything
    nginx_ -s reload 2>/dev/null
    reloads=$((reloads + 1))
done

# The binary upgrade: a new master from the same binary, then the old one quits.
old_master=$(<"$EDGE_DIR/nginx.pid")
kill -USR2 "$old_master"
for _ in $(seq 100); do
    [[ -s $EDGE_DIR/nginx.pid.oldbin && -s $EDGE_DIR/nginx.pid && "$(<"$EDGE_DIR/nginx.pid")" != "$old_master" ]] && break
    sleep 0.1
done
check "a new master runs beside the old one" test "$(<"$EDGE_DIR/nginx.pid")" != "$old_master"
for _ in $(seq 20); do [[ $(pgrep -P "$(<"$EDGE_DIR/nginx.pid")" | wc -l) -ge 2 ]] && break; sleep 0.1; done
kill -QUIT "$old_master"
for _ in $(seq 100); do alive "$old_master" || break; sleep 0.1; done
check "the old master quit" bash -c "! kill -0 $old_master 2>/dev/null || [[ \$(awk '{print \$3}' /proc/$old_master/stat) == Z ]]"
sleep 2  # load goes on through the new master for a while
touch "$STOP"
wait "${CLIENTS[@]}"

for name in hits misses gets; do
    total=$(wc -l <"$T/$name.txt")
    expected=$([[ $name == misses ]] && echo 404 || echo 200)
    bad=$(grep -cvx "$expected" "$T/$name.txt" || true)
    check "$name: $total requests through $reloads reloads and an upgrade, none failed ($bad did)" \
        test "$bad" -eq 0 -a "$total" -gt 0
done
requests=$(edge_metric 'registry_storage_cache_requests_total{cache="edge"}')
hits=$(edge_metric 'registry_storage_cache_hits_total{cache="edge"}')
misses=$(edge_metric 'nginx_registry_cache_misses_total{cache="edge"}')
errors=$(edge_metric 'registry_storage_cache_errors_total{cache="edge"}')
is "$errors" 0 "no store errors"
is "$requests" "$((hits + misses))" "the new master's counters add up: lookups = hits + misses ($hits + $misses)"
check "no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
