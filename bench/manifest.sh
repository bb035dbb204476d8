#!/usr/bin/env bash
# GETs of a cached manifest, by digest and by tag within registry_cache_tag_ttl, and HEADs of
# the tag, against nginx's `return 200` with the same bytes and headers (see bench/README.md,
# "Manifests").
#
#   bench/manifest.sh [--record]
#
# Env:     MANIFEST_ROUNDS    rounds over the targets; a figure is the median (5)
#          MANIFEST_DURATION  seconds per target and round (5)
#          MANIFEST_CONCURRENCY  ab -c (32)
#          MANIFEST_HOST      the Host clients send (edge.bench; 127.0.0.1 measures a hit
#                             that looks up twice: see the comment at HOST below)
#          BUILD, MODULE_SO, NGINX_BIN as for bench/scale.sh
# One nginx worker each, on CPU 1; ab on CPU 0. --record appends the table to bench/RESULTS.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
ROUNDS=${MANIFEST_ROUNDS:-5}
DURATION=${MANIFEST_DURATION:-5}
CONCURRENCY=${MANIFEST_CONCURRENCY:-32}
BUILD=${BUILD:-$REPO/build}
MODULE_SO=${MODULE_SO:-$BUILD/ngx_http_registry_cache_module.so}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
OCI=application/vnd.oci.image.manifest.v1+json
RECORD=0
[[ ${1:-} == --record ]] && RECORD=1

BENCH=manifest  # shellcheck disable=SC2034  # read by lib.sh
# log, die, bench_require, bench_workdir, free_port
# shellcheck source=lib.sh
. "$HERE/lib.sh"
bench_require ab curl jq taskset
bench_workdir

REGISTRY_PORT=$("$REPO/t/fixtures/registry.sh" start "$WORK/registry")
"$REPO/t/fixtures/seed.sh" "127.0.0.1:$REGISTRY_PORT" "$WORK/fixtures" >/dev/null
LAYOUT=$WORK/fixtures/images/hello
DIGEST=$(jq -r '.manifests[0].digest' "$LAYOUT/index.json")
FILE=$LAYOUT/blobs/${DIGEST/://}
BY_DIGEST=/v2/demo/hello/manifests/$DIGEST
BY_TAG=/v2/demo/hello/manifests/1.0

user_line=''
[[ $(id -u) == 0 ]] && user_line='user root root;'
common() {
    cat <<EOF
$user_line
worker_processes 1;
worker_cpu_affinity 10;
daemon on;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 1024; }
EOF
}
http_common() {
    cat <<EOF
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $1/tmp/client_body;
    proxy_temp_path $1/tmp/proxy;
    fastcgi_temp_path $1/tmp/fastcgi;
    uwsgi_temp_path $1/tmp/uwsgi;
    scgi_temp_path $1/tmp/scgi;
EOF
}

# The module, with a tag trusted for an hour.
MODULE_PORT=$(free_port)
M=$WORK/nginx-module
mkdir -p "$M/tmp" "$M/cache"
{
    echo "load_module $MODULE_SO;"
    common "$M"
    echo "http {"
    http_common "$M"
    cat <<EOF
    registry_cache_path $M/cache zone=edge:1m max_size=64m;
    server {
        listen 127.0.0.1:$MODULE_PORT;
        location /v2/ {
            registry_cache edge;
            registry_cache_pass @registry;
            registry_cache_tag_ttl 1h;
        }
        location @registry {
            proxy_pass http://127.0.0.1:$REGISTRY_PORT;
        }
    }
}
EOF
} >"$M/nginx.conf"

# The limit: nginx's `return 200` with the manifest's bytes and the registry's headers.
# The bytes go into the config as a quoted string: nothing in them may be read as a quote, an
# escape or a variable.
MANIFEST=$(<"$FILE")
[[ $MANIFEST != *[\'\\\$]* ]] || die "the manifest holds a quote, a backslash or a \$"
LIMIT_PORT=$(free_port)
L=$WORK/nginx-limit
mkdir -p "$L/tmp"
{
    common "$L"
    echo "http {"
    http_common "$L"
    cat <<EOF
    server {
        listen 127.0.0.1:$LIMIT_PORT;
        location /v2/demo/hello/manifests/ {
            default_type $OCI;
            add_header Docker-Content-Digest $DIGEST;
            add_header Etag '"$DIGEST"';
            add_header Docker-Distribution-Api-Version registry/2.0;
            add_header X-Content-Type-Options nosniff;
            return 200 '$MANIFEST';
        }
    }
}
EOF
} >"$L/nginx.conf"

for prefix in "$M" "$L"; do
    "$NGINX_BIN" -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/error.log"
done
sleep 0.5

# Clients name the edge by a name of its own, as they do an edge in production. (With the
# loopback address for a name, the one the upstream is reached by too, the module would take
# its answers for ones that may depend on the client's Host and keep them under that Host:
# each hit would then cost a second lookup. bench/RESULTS.md of 2026-12-04 measures both.)
HOST=${MANIFEST_HOST:-edge.bench}
# Warm the module: one GET by digest and one by tag teach it; both must then be hits.
for path in "$BY_DIGEST" "$BY_TAG"; do
    curl -s -o /dev/null -H "Host: $HOST" -H "Accept: $OCI" "http://127.0.0.1:$MODULE_PORT$path"
done
sleep 0.2
for path in "$BY_DIGEST" "$BY_TAG"; do
    body=$(curl -s -H "Host: $HOST" -H "Accept: $OCI" "http://127.0.0.1:$MODULE_PORT$path" | sha256sum | cut -d' ' -f1)
    [[ sha256:$body == "$DIGEST" ]] || die "the module's answer to $path is not the manifest"
    limit_body=$(curl -s -H "Host: $HOST" "http://127.0.0.1:$LIMIT_PORT$path" | sha256sum | cut -d' ' -f1)
    [[ sha256:$limit_body == "$DIGEST" ]] || die "the limit's answer to $path is not the manifest"
done
# No X-Cache-Status header is configured (it would cost the module, not the limit): hits are
# proven by the registry's log instead, below.
before=$(grep -c 'manifests/' "$WORK/registry/registry.log" || true)

declare -A RPS=()
run_ab() {  # PORT PATH [-i] -> req/s
    # shellcheck disable=SC2086  # $3 unquoted: empty for a GET, no argument at all
    taskset -c 0 ab -q -k -c "$CONCURRENCY" -t "$DURATION" -n 50000000 -H "Host: $HOST" -H "Accept: $OCI" ${3:-} \
        "http://127.0.0.1:$1$2" 2>/dev/null | awk '/Requests per second/{print int($4)} /Non-2xx/{print "bad"}'
}
# GETs by digest and by tag against the limit's GET; HEADs of the tag against its HEAD. Each
# round measures the limit right before and after the module's targets it is compared with,
# and a round's ratio is the module's against the mean of those two: the speed of a shared VM
# drifts by more than the difference measured over the minutes a run takes, much less over
# the seconds between neighbours.
targets=(limit-get module-get-digest module-get-tag limit-get limit-head module-head-tag limit-head)
declare -A RATIO=()
for ((round = 1; round <= ROUNDS; round++)); do
    declare -A this=()
    for t in "${targets[@]}"; do
        port=$MODULE_PORT path=$BY_DIGEST head=
        [[ $t == limit-* ]] && port=$LIMIT_PORT
        [[ $t == *-tag ]] && path=$BY_TAG
        [[ $t == *head* ]] && head=-i
        out=$(run_ab "$port" "$path" "$head")
        [[ $out == *bad* ]] && die "$t: non-2xx answers"
        RPS[$t]+="$out "
        this[$t]+="$out "
        log "round $round $t: $out req/s"
    done
    for pair in module-get-digest:limit-get module-get-tag:limit-get module-head-tag:limit-head; do
        m=${pair%%:*} l=${pair##*:}
        RATIO[$m]+="$(echo "${this[$m]} ${this[$l]}" | awk '{printf "%.3f", $1 / (($2 + $3) / 2)}') "
    done
    unset this
done
after=$(grep -c 'manifests/' "$WORK/registry/registry.log" || true)
[[ $before == "$after" ]] || die "the module went upstream during the measurement ($before -> $after log lines)"

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
row() {  # LABEL MODULE-TARGET LIMIT-TARGET
    local m l
    m=$(echo "${RPS[$2]}" | median) l=$(echo "${RPS[$3]}" | median)
    printf '| %s | %s | %s | %.2f | %.2f | %s| %s| %s|\n' "$1" "$m" "$l" "$(awk -v a="$m" -v b="$l" 'BEGIN{print a/b}')" \
        "$(echo "${RATIO[$2]}" | median)" "${RATIO[$2]}" "${RPS[$2]}" "${RPS[$3]}"
}
table=$(
    echo "| request | module req/s | limit req/s | ratio of medians | median of round ratios | round ratios | module rounds | limit rounds |"
    echo "| --- | ---: | ---: | ---: | ---: | --- | --- | --- |"
    row "GET manifest by digest" module-get-digest limit-get
    row "GET manifest by tag (within the TTL)" module-get-tag limit-get
    row "HEAD manifest by tag (within the TTL)" module-head-tag limit-head
)
echo "$table"
cmd="MANIFEST_ROUNDS=$ROUNDS MANIFEST_DURATION=$DURATION MANIFEST_HOST=$HOST bench/manifest.sh"
echo "Command: \`$cmd\`; each target and round: \`taskset -c 0 ab -q -k -c $CONCURRENCY -t $DURATION -H 'Host: $HOST' -H 'Accept: $OCI' [-i] URL\`"
if ((RECORD)); then
    {
        echo
        echo "## $(date -u +%F) GET of a cached manifest ($(wc -c <"$FILE") bytes) — $(git -C "$REPO" rev-parse --short HEAD)"
        echo
        echo "One nginx worker each on CPU 1, ab on CPU 0; the limit is nginx's \`return 200\` with the same"
        echo "bytes and the registry's headers, measured before and after the module's targets in each of"
        echo "$ROUNDS rounds (a round's ratio is against their mean); the registry's log shows no manifest"
        echo "request during the measurement."
        echo
        echo "$table"
        echo
        echo "Command: \`$cmd\`."
    } >>"$REPO/bench/RESULTS.md"
fi
