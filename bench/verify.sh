#!/usr/bin/env bash
# What verification costs a large transfer: GET of one 256 MiB blob through the edge with
# registry_cache_verify threads (hashed in nginx's thread pool), on (hashed on the event loop)
# and off, each with proxy_buffering off (one 256k buffer) and on (8 buffers of 256k in
# memory, as in conf-examples/edge-local-registry.conf), in one run, alternating, from one
# registry.
#
#   bench/verify.sh [--record]
#
# Env: VERIFY_SIZE_MIB (256), VERIFY_ROUNDS (7), MODULE_SO, NGINX_BIN. The figure of each
# setting is the median of its rounds in MB/s (curl -o /dev/null, size_download / time_total);
# its ratio to verify off with the same buffering is the cost. The edge's one worker has CPU 1
# to itself; the registry and curl, which stand for other machines, share CPU 0. Loopback only;
# everything it starts is stopped on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
FIXTURES=$REPO/t/fixtures
# shellcheck source=../t/fixtures/processes.sh
. "$FIXTURES/processes.sh"

SIZE_MIB=${VERIFY_SIZE_MIB:-256}
ROUNDS=${VERIFY_ROUNDS:-7}
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

# The settings compared: proxy_buffering, then registry_cache_verify.
SETTINGS=("off threads" "off on" "off off" "on threads" "on on" "on off")

# One server of the edge for a setting.
server_conf() {
    local port=$1 buffering=$2 verify=$3 buffers
    if [[ $buffering == off ]]; then
        buffers="proxy_buffer_size 256k; proxy_buffers 4 256k; proxy_busy_buffers_size 256k;"
    else
        buffers="proxy_buffer_size 256k; proxy_buffers 8 256k; proxy_busy_buffers_size 1m;
                         proxy_max_temp_file_size 0;"
    fi
    cat <<CONF
  server {
    listen 127.0.0.1:$port;
    location /v2/ { registry_cache edge; registry_cache_verify $verify; registry_cache_pass @registry; }
    location @registry { proxy_pass http://registry; proxy_http_version 1.1;
                         proxy_set_header Connection ""; proxy_buffering $buffering;
                         $buffers }
  }
CONF
}

start_edge() {
    local dir=$WORK/edge setting
    mkdir -p "$dir"
    PORTS=()
    for setting in "${SETTINGS[@]}"; do PORTS+=("$(free_port)"); done
    {
        cat <<CONF
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
CONF
        for i in "${!SETTINGS[@]}"; do
            # shellcheck disable=SC2086 # a setting is two words
            server_conf "${PORTS[$i]}" ${SETTINGS[$i]}
        done
        echo "}"
    } >"$dir/nginx.conf"
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
# Every thread of the registry on CPU 0, with curl: the edge's worker keeps CPU 1.
taskset -a -cp 0 "$(<"$WORK/registry/registry.pid")" >/dev/null
log "registry on 127.0.0.1:$REGISTRY_PORT; pushing a ${SIZE_MIB} MiB blob"
push_blob
start_edge
transfer "${PORTS[0]}" >/dev/null  # warm the page cache of the registry's file
# CPU time of the worker so far (all its threads), in ms: utime + stime, in clock ticks.
WORKER=$(pgrep -P "$(<"$WORK/edge/nginx.pid")" | head -n1)
TICK_MS=$((1000 / $(getconf CLK_TCK)))
worker_cpu_ms() {
    local stat
    read -r -a stat <"/proc/$WORKER/stat"
    echo $(((stat[13] + stat[14]) * TICK_MS))
}
for ((round = 1; round <= ROUNDS; round++)); do
    line="round $round:"
    for i in "${!SETTINGS[@]}"; do
        before=$(worker_cpu_ms)
        transfer "${PORTS[$i]}" >>"$WORK/figures.$i"
        echo $(($(worker_cpu_ms) - before)) >>"$WORK/cpu.$i"
        line+=" [${SETTINGS[$i]}] $(tail -n1 "$WORK/figures.$i")"
    done
    log "$line MB/s"
done
grep -q 'digest mismatch' "$WORK/edge/error.log" && { log "a mismatch was logged"; exit 1; }

# The rows of the report; ratios against verify off with the same buffering.
rows() {
    local i buffering verify mbs off
    for i in "${!SETTINGS[@]}"; do
        read -r buffering verify <<<"${SETTINGS[$i]}"
        mbs=$(median <"$WORK/figures.$i")
        [[ $buffering == off ]] && off=$(median <"$WORK/figures.2") || off=$(median <"$WORK/figures.5")
        printf '| %s | %s | %s | %s | %s | %s |\n' "$buffering" "$verify" "$mbs" \
            "$(awk -v a="$mbs" -v b="$off" 'BEGIN { printf "%.3f", a / b }')" \
            "$(median <"$WORK/cpu.$i")" "$(tr '\n' ' ' <"$WORK/figures.$i")"
    done
}
REPORT="$(cat <<MD
## $(date -u +%F) verified GET, ${SIZE_MIB} MiB blob — $(git -C "$REPO" rev-parse --short HEAD)

| proxy_buffering | registry_cache_verify | MB/s (median of $ROUNDS) | of verify off | worker CPU ms | rounds (MB/s) |
| --- | --- | ---: | ---: | ---: | --- |
$(rows)

One nginx worker alone on CPU 1; the registry and curl on CPU 0; loopback. Worker CPU ms:
the median CPU time the worker (with its threads) spent on one transfer.
Command: \`VERIFY_ROUNDS=$ROUNDS VERIFY_SIZE_MIB=$SIZE_MIB bench/verify.sh\`.
MD
)"
echo "$REPORT"
((RECORD)) && printf '\n%s\n' "$REPORT" >>"$HERE/RESULTS.md"
exit 0
