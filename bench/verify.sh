#!/usr/bin/env bash
# What verification costs a large transfer: GET of one 256 MiB blob through the edge with
# registry_cache_verify on against off, in one run, alternating, from one registry.
#
#   bench/verify.sh [--record]
#
# Env: VERIFY_SIZE_MIB (256), VERIFY_ROUNDS (5), MODULE_SO, NGINX_BIN. The figure of each side
# is the median of its rounds in MB/s (curl -o /dev/null, size_download / time_total); the
# ratio on/off is the cost. Loopback only; everything it starts is stopped on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
FIXTURES=$REPO/t/fixtures
# shellcheck source=../t/fixtures/processes.sh
. "$FIXTURES/processes.sh"

SIZE_MIB=${VERIFY_SIZE_MIB:-256}
ROUNDS=${VERIFY_ROUNDS:-5}
MODULE_SO=${MODULE_SO:-$REPO/build/ngx_http_registry_cache_module.so}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
RECORD=0
[[ ${1:-} == --record ]] && RECORD=1

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-verify.XXXXXX")
cleanup() {
    [[ -s $WORK/edge/nginx.pid ]] && kill -QUIT "$(<"$WORK/edge/nginx.pid")" 2>/dev/null
    "$FIXTURES/registry.sh" stop "$WORK/registry" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "verify-bench: $*" >&2; }

# One blob of random bytes, pushed with a POST and a monolithic PUT.
push_blob() {
    head -c "$((SIZE_MIB << 20))" /dev/urandom >"$WORK/blob"
    DIGEST=sha256:$(sha256sum "$WORK/blob" | cut -d' ' -f1)
    local location
    location=$(curl -sf -X POST -D - -o /dev/null "http://127.0.0.1:$REGISTRY_PORT/v2/bench/big/blobs/uploads/" |
        tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
    curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary @"$WORK/blob" \
        "$location&digest=$DIGEST" -o /dev/null
    rm -f "$WORK/blob"
}

# One server of the edge: the same but for registry_cache_verify.
server_conf() {
    cat <<CONF
  server {
    listen 127.0.0.1:$1;
    location /v2/ { registry_cache edge; registry_cache_verify $2; registry_cache_pass @registry; }
    location @registry { proxy_pass http://registry; proxy_http_version 1.1;
                         proxy_set_header Connection ""; proxy_buffering off;
                         proxy_buffer_size 256k; proxy_buffers 4 256k;
                         proxy_busy_buffers_size 256k; }
  }
CONF
}

start_edge() {
    local dir=$WORK/edge
    mkdir -p "$dir"
    ON_PORT=$(free_port)
    OFF_PORT=$(free_port)
    cat >"$dir/nginx.conf" <<CONF
load_module $MODULE_SO;
$([[ $(id -u) == 0 ]] && echo 'user root root;')
worker_processes 1;
worker_cpu_affinity 10;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  proxy_temp_path $dir/proxy;
  client_body_temp_path $dir/client_body;
  registry_cache_path $dir/cache zone=edge:1m;
  upstream registry { server 127.0.0.1:$REGISTRY_PORT; keepalive 8; }
$(server_conf "$ON_PORT" on)
$(server_conf "$OFF_PORT" off)
}
CONF
    "$NGINX_BIN" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log"
}

# MB/s of one GET on PORT; fails unless every byte arrived.
transfer() {
    local out
    out=$(taskset -c 0 curl -sf -o /dev/null -w '%{size_download} %{time_total}' \
        "http://127.0.0.1:$1/v2/bench/big/blobs/$DIGEST")
    [[ ${out%% *} == $((SIZE_MIB << 20)) ]] || { log "short transfer: $out"; return 1; }
    awk -v b="${out%% *}" -v t="${out#* }" 'BEGIN { printf "%.0f\n", b / t / 1e6 }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

REGISTRY_PORT=$("$FIXTURES/registry.sh" start "$WORK/registry")
log "registry on 127.0.0.1:$REGISTRY_PORT; pushing a ${SIZE_MIB} MiB blob"
push_blob
start_edge
transfer "$OFF_PORT" >/dev/null  # warm the page cache of the registry's file
: >"$WORK/on"
: >"$WORK/off"
for ((round = 1; round <= ROUNDS; round++)); do
    transfer "$ON_PORT" >>"$WORK/on"
    transfer "$OFF_PORT" >>"$WORK/off"
    log "round $round: on $(tail -n1 "$WORK/on") MB/s, off $(tail -n1 "$WORK/off") MB/s"
done
grep -q 'digest mismatch' "$WORK/edge/error.log" && { log "a mismatch was logged"; exit 1; }

ON=$(median <"$WORK/on")
OFF=$(median <"$WORK/off")
RATIO=$(awk -v a="$ON" -v b="$OFF" 'BEGIN { printf "%.3f", a / b }')
REPORT="$(cat <<MD
## $(date -u +%F) verified GET, ${SIZE_MIB} MiB blob — $(git -C "$REPO" rev-parse --short HEAD)

| registry_cache_verify | MB/s (median of $ROUNDS) | rounds |
| --- | ---: | --- |
| on | $ON | $(tr '\n' ' ' <"$WORK/on") |
| off | $OFF | $(tr '\n' ' ' <"$WORK/off") |

Verified transfer at **$RATIO** of unverified. One nginx worker (CPU 1), curl on CPU 0,
proxy_buffering off with 256k proxy buffers, loopback. Command: \`VERIFY_ROUNDS=$ROUNDS VERIFY_SIZE_MIB=$SIZE_MIB bench/verify.sh\`.
MD
)"
echo "$REPORT"
((RECORD)) && printf '\n%s\n' "$REPORT" >>"$HERE/RESULTS.md"
exit 0
