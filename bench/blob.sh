#!/usr/bin/env bash
# Blob bodies from the store (registry_cache_path ... blobs_max_size) against nginx serving the
# same file from disk with sendfile (the limit), for a 1 MiB and a 64 MiB blob; and a cold GET
# of the 64 MiB blob (hashed, written to the store) against plain proxy_pass (see
# bench/README.md, "Blob bodies").
#
#   bench/blob.sh [--record]
#
# Env:     BLOB_ROUNDS        rounds over the targets; a figure is the median (3)
#          BLOB_DURATION      seconds per warm target and round (5)
#          BLOB_COLD          cold transfers per target and round (3)
#          BUILD, MODULE_SO, NGINX_BIN as for bench/scale.sh
# One nginx worker each, on CPU 1; the client on CPU 0. --record appends to bench/RESULTS.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
ROUNDS=${BLOB_ROUNDS:-3}
DURATION=${BLOB_DURATION:-5}
COLD=${BLOB_COLD:-3}
BUILD=${BUILD:-$REPO/build}
MODULE_SO=${MODULE_SO:-$BUILD/ngx_http_registry_cache_module.so}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
RECORD=0
[[ ${1:-} == --record ]] && RECORD=1

BENCH=blob  # shellcheck disable=SC2034  # read by lib.sh
# log, die, bench_require, bench_workdir, free_port
# shellcheck source=lib.sh
. "$HERE/lib.sh"
bench_require ab curl jq openssl taskset
bench_workdir

REGISTRY_PORT=$("$REPO/t/fixtures/registry.sh" start "$WORK/registry")
REGISTRY=127.0.0.1:$REGISTRY_PORT

# Two blobs of incompressible bytes, pushed with the registry's monolithic upload.
push_blob() {  # FILE -> digest
    local digest location
    digest=sha256:$(sha256sum "$1" | cut -d' ' -f1)
    location=$(curl -sf -X POST -D - -o /dev/null "http://$REGISTRY/v2/bench/blobs/blobs/uploads/" |
        tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
    [[ $location == http* ]] || location=http://$REGISTRY$location
    curl -sf -X PUT --data-binary "@$1" -H 'Content-Type: application/octet-stream' \
        "$location&digest=$digest" -o /dev/null || die "pushing $1 failed"
    echo "$digest"
}
declare -A SIZE=([1m]=1048576 [64m]=67108864) DIGEST=() FILE=()
for name in 1m 64m; do
    FILE[$name]=$WORK/$name.bin
    head -c "${SIZE[$name]}" /dev/zero | openssl enc -aes-256-ctr -K "$(printf '%064d' 7)" \
        -iv "$(printf '%032d' 7)" -nosalt >"${FILE[$name]}"
    DIGEST[$name]=$(push_blob "${FILE[$name]}")
done

user_line=''
[[ $(id -u) == 0 ]] && user_line='user root root;'
# An nginx prefix: DIR, then the lines inside http { }.
start_nginx() {  # DIR [main lines] <<< http lines
    local dir=$1 main=${2:-}
    mkdir -p "$dir/tmp"
    {
        [[ $dir == *module* ]] && echo "load_module $MODULE_SO;"
        cat <<EOF
$user_line
worker_processes 1;
worker_cpu_affinity 10;
daemon on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
$main
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $dir/tmp/client_body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
EOF
        cat
        echo "}"
    } >"$dir/nginx.conf"
    "$NGINX_BIN" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log"
}
proxy_lines() {
    cat <<EOF
            proxy_pass http://$REGISTRY;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Accept-Encoding "";
            proxy_buffer_size 256k;
            proxy_buffers 8 256k;
            proxy_busy_buffers_size 1m;
            proxy_max_temp_file_size 0;
EOF
}

# The module, keeping bodies (its cache emptied for each cold transfer by a fresh prefix);
# LINES: more of its /v2/ location.
module_server() {  # DIR PORT [LINES]
    start_nginx "$1" "thread_pool bench threads=2;" <<EOF
    registry_cache_path $1/cache zone=edge:1m max_size=64m blobs_max_size=1g;
    server {
        listen 127.0.0.1:$2;
        location /v2/ {
            registry_cache edge;
            registry_cache_pass @registry;
            registry_cache_verify threads=bench;
            ${3:-}
        }
        location @registry {
$(proxy_lines)
        }
    }
EOF
}
MODULE_PORT=$(free_port)
module_server "$WORK/nginx-module" "$MODULE_PORT"
# The same, with each worker's proof of a file kept for an hour: a stored body is hashed by
# the first GET of it, then sent as nginx sends a static file.
TRUSTING_PORT=$(free_port)
module_server "$WORK/nginx-module-trusting" "$TRUSTING_PORT" "registry_cache_stored_proof_ttl 1h;"

# The limit: the same files from disk, with sendfile; the plain proxy for cold transfers.
LIMIT_PORT=$(free_port) PROXY_PORT=$(free_port)
start_nginx "$WORK/nginx-limit" <<EOF
    server {
        listen 127.0.0.1:$LIMIT_PORT;
        location = /1m { alias ${FILE[1m]}; }
        location = /64m { alias ${FILE[64m]}; }
    }
    server {
        listen 127.0.0.1:$PROXY_PORT;
        location /v2/ {
$(proxy_lines)
        }
    }
EOF
sleep 0.5

path_of() { echo "/v2/bench/blobs/blobs/${DIGEST[$1]}"; }
status_of() { curl -s -o "$WORK/body" -w '%{http_code}' "http://127.0.0.1:$1$2"; }
for port in "$MODULE_PORT" "$TRUSTING_PORT"; do
    for name in 1m 64m; do
        [[ $(status_of "$port" "$(path_of "$name")") == 200 ]] || die "the module's first GET of $name failed"
    done
done
for dir in nginx-module nginx-module-trusting; do
    port=$MODULE_PORT
    [[ $dir == *trusting ]] && port=$TRUSTING_PORT
    for name in 1m 64m; do
        [[ $(status_of "$port" "$(path_of "$name")") == 200 &&
            sha256:$(sha256sum <"$WORK/body" | cut -d' ' -f1) == "${DIGEST[$name]}" ]] ||
            die "the module's answer for $name is not the blob"
        [[ $(find "$WORK/$dir/cache/blobs" -name "${DIGEST[$name]#sha256:}" | wc -l) == 1 ]] ||
            die "the $name blob is not in the store of $dir"
    done
done
before=$(grep -c 'blobs/sha256' "$WORK/registry/registry.log" || true)

declare -A RESULT=()
run_ab() {  # PORT PATH -> req/s
    taskset -c 0 ab -q -k -c 4 -t "$DURATION" -n 50000000 "http://127.0.0.1:$1$2" 2>/dev/null |
        awk '/Requests per second/{print $4} /Non-2xx/{print "bad"}'
}
# Seconds of one cold GET of the 64 MiB blob (client on CPU 0).
cold_get() {  # PORT
    taskset -c 0 curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$1$(path_of 64m)"
}
for ((round = 1; round <= ROUNDS; round++)); do
    for name in 1m 64m; do
        for target in module trusting limit; do
            case $target in
                module) out=$(run_ab "$MODULE_PORT" "$(path_of "$name")") ;;
                trusting) out=$(run_ab "$TRUSTING_PORT" "$(path_of "$name")") ;;
                limit) out=$(run_ab "$LIMIT_PORT" "/$name") ;;
            esac
            [[ $out == *bad* ]] && die "$target $name: non-2xx answers"
            RESULT[$target-$name]+="$out "
            log "round $round $target $name: $out req/s"
        done
    done
done
after=$(grep -c 'blobs/sha256' "$WORK/registry/registry.log" || true)
[[ $before == "$after" ]] || die "the module went upstream during the warm measurement ($before -> $after)"

for ((round = 1; round <= ROUNDS; round++)); do
    for ((i = 1; i <= COLD; i++)); do
        dir=$WORK/nginx-module-cold-$round-$i port=$(free_port)
        module_server "$dir" "$port"
        sleep 0.3
        t=$(cold_get "$port") tm=$t
        kill -QUIT "$(<"$dir/nginx.pid")"
        [[ $(find "$dir/cache/blobs" -name "${DIGEST[64m]#sha256:}" | wc -l) == 1 ]] ||
            die "a cold GET did not keep the blob"
        RESULT[cold-module]+="$t "
        t=$(cold_get "$PROXY_PORT")
        RESULT[cold-proxy]+="$t "
        log "round $round cold $i: module $tm s, proxy $t s"
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
row() {  # LABEL MODULE LIMIT UNIT (higher is better) / time (lower is better)
    local m l
    m=$(echo "${RESULT[$2]}" | median) l=$(echo "${RESULT[$3]}" | median)
    printf '| %s | %s | %s | %.2f | %s| %s|\n' "$1" "$m" "$l" \
        "$(awk -v a="$m" -v b="$l" -v t="$4" 'BEGIN{print t == "time" ? b/a : a/b}')" "${RESULT[$2]}" "${RESULT[$3]}"
}
table=$(
    echo "| what | module | limit | ratio | module rounds | limit rounds |"
    echo "| --- | ---: | ---: | ---: | --- | --- |"
    row "GET of a stored 1 MiB blob, req/s (limit: nginx static, sendfile)" module-1m limit-1m rate
    row "GET of a stored 64 MiB blob, req/s (limit: nginx static, sendfile)" module-64m limit-64m rate
    row "the same 1 MiB GET, proofs kept 1h (registry_cache_stored_proof_ttl)" trusting-1m limit-1m rate
    row "the same 64 MiB GET, proofs kept 1h (registry_cache_stored_proof_ttl)" trusting-64m limit-64m rate
    row "cold GET of the 64 MiB blob, seconds (limit: plain proxy_pass)" cold-module cold-proxy time
)
echo "$table"
cmd="BLOB_ROUNDS=$ROUNDS BLOB_DURATION=$DURATION BLOB_COLD=$COLD bench/blob.sh"
if ((RECORD)); then
    {
        echo
        echo "## $(date -u +%F) blob bodies from the store — $(git -C "$REPO" rev-parse --short HEAD)"
        echo
        echo "One nginx worker each on CPU 1, the client on CPU 0: \`ab -k -c 4 -t $DURATION\` for stored"
        echo "blobs (the limit serves the same files with \`sendfile on\`), one \`curl\` per cold GET (the"
        echo "module on an empty store, so that it hashes and writes the body; a plain \`proxy_pass\` with the"
        echo "same buffers). Ratios: module over limit for rates, limit over module for times. Median of"
        echo "$ROUNDS rounds; the registry's log shows no blob request during the warm measurement."
        echo "The rows \"proofs kept 1h\": the same module with \`registry_cache_stored_proof_ttl 1h\`, whose"
        echo "worker hashes a stored body at its first GET and then sends it with sendfile alone."
        echo
        echo "$table"
        echo
        echo "Command: \`$cmd\`."
    } >>"$REPO/bench/RESULTS.md"
fi
