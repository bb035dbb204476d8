#!/usr/bin/env bash
# HEAD hits on a large store against nginx's `return 200` for the same URLs (see
# bench/README.md, "Hits on a large store").
#
#   bench/scale.sh [--record] [N...]     default: 1000000 10000000
#
# For each N: bench/fill_store writes N public entries into a fresh cache directory, then one
# nginx with the module (bench/conf/scale-module.conf) and one without it
# (bench/conf/scale-limit.conf) answer HEADs of those entries' URLs, sent by
# bench/scale_load over 32 keep-alive connections. With N = 10^6 the requests rotate through
# 100,000 random entries; with more, each request names a random entry of the whole store.
# Env:     SCALE_ROUNDS       rounds over both targets; a figure is the median (3)
#          SCALE_DURATION     seconds measured per target and round (10)
#          SCALE_WARMUP       seconds of requests before each measurement (3)
#          SCALE_CONCURRENCY  connections of the load client (32)
#          SCALE_SAMPLE       entries the requests rotate through when N <= 10^6 (100000)
#          SCALE_KEEP=1       keep the temp dir (stores, configs, logs)
#          BUILD              the CMake build dir holding fill_store and scale_load (build)
#          MODULE_SO          default $BUILD/ngx_http_registry_cache_module.so
#          NGINX_BIN          default /usr/sbin/nginx
# --record appends the results to bench/RESULTS.md.
#
# One nginx worker each, on CPU 1 (worker_cpu_affinity); the load client on CPU 0 (taskset).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

SCALE_ROUNDS=${SCALE_ROUNDS:-3}
SCALE_DURATION=${SCALE_DURATION:-10}
SCALE_WARMUP=${SCALE_WARMUP:-3}
SCALE_CONCURRENCY=${SCALE_CONCURRENCY:-32}
SCALE_SAMPLE=${SCALE_SAMPLE:-100000}
SCALE_KEEP=${SCALE_KEEP:-0}
BUILD=${BUILD:-$REPO/build}
MODULE_SO=${MODULE_SO:-$BUILD/ngx_http_registry_cache_module.so}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
FILL=$BUILD/fill_store
LOAD=$BUILD/scale_load

# Must agree with bench/scale_keys.h: the media type and size of every filled entry.
MEDIA_TYPE=application/vnd.oci.image.layer.v1.tar+gzip
BODY=$(printf '%064d' 0)

RECORD=0
SIZES=()
WORK=
declare -A PORT=()
ROWS=()

log() { echo "scale: $*" >&2; }
die() { echo "scale: $*" >&2; exit 1; }

for arg in "$@"; do
    case $arg in
        --record) RECORD=1 ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
        *[!0-9]* | '') die "unknown argument $arg" ;;
        *) SIZES+=("$arg") ;;
    esac
done
((${#SIZES[@]})) || SIZES=(1000000 10000000)

for tool in curl taskset "$NGINX_BIN" "$FILL" "$LOAD"; do
    command -v "$tool" >/dev/null || die "$tool not found (cmake --build $BUILD --target fill_store scale_load)"
done
[[ -f $MODULE_SO ]] || die "MODULE_SO=$MODULE_SO does not exist (cmake --build $BUILD --target module)"

# free_port, alive
# shellcheck source=../t/fixtures/processes.sh
. "$REPO/t/fixtures/processes.sh"

nginx_() { "$NGINX_BIN" -p "$1/" -c "$1/nginx.conf" -e "$1/error.log" "${@:2}"; }

stop_nginx() {
    local prefix=$1 pid i
    [[ -s $prefix/nginx.pid ]] || return 0
    pid=$(<"$prefix/nginx.pid")
    kill -QUIT "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null
    rm -f "$prefix/nginx.pid"
}

cleanup() {
    local rc=$? prefix
    set +e
    trap '' HUP INT TERM PIPE
    if [[ -n $WORK ]]; then
        for prefix in "$WORK"/nginx-*; do [[ -d $prefix ]] && stop_nginx "$prefix"; done
        if [[ $SCALE_KEEP == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    fi
    exit "$rc"
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/registry-cache-scale.XXXXXX")
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

wait_http() {
    local port=$1 i
    for ((i = 0; i < 50; i++)); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/" || true) != 000 ]] &&
            return 0
        sleep 0.1
    done
    return 1
}

# start_nginx NAME CONF CACHE MAX_SIZE
start_nginx() {
    local name=$1 conf=$2 cache=$3 max_size=$4 prefix=$WORK/nginx-$1 port user_line=''
    [[ $(id -u) == 0 ]] && user_line='user root root;'
    mkdir -p "$prefix/tmp"
    port=$(free_port)
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" -e "s|@MODULE_SO@|$MODULE_SO|g" \
        -e "s|@CACHE@|$cache|g" -e "s|@MAX_SIZE@|$max_size|g" -e "s|@USER_LINE@|$user_line|g" \
        -e "s|@MEDIA_TYPE@|$MEDIA_TYPE|g" -e "s|@BODY@|$BODY|g" \
        "$HERE/conf/$conf.conf" >"$prefix/nginx.conf"
    nginx_ "$prefix" >"$prefix/start.log" 2>&1 && wait_http "$port" || {
        cat "$prefix/start.log" "$prefix/error.log" >&2 2>/dev/null
        die "nginx $name did not start"
    }
    PORT[$name]=$port
}

# The headers of one HEAD, without Date and Server, sorted: what both targets must agree on.
headers_of() {
    curl -s -I --max-time 5 "http://127.0.0.1:$1$2" | tr -d '\r' | grep -v -i -e '^date:' -e '^server:' | sort
}

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# CPU time (user + system, in clock ticks) the one worker of an nginx has used so far.
worker_ticks() {
    local master worker
    master=$(<"$WORK/nginx-$1/nginx.pid")
    worker=$(pgrep -P "$master" | head -n 1)
    awk '{print $14 + $15}' "/proc/$worker/stat"
}

metric() { curl -s --max-time 5 "http://127.0.0.1:${PORT[module]}/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

measure() {  # measure N SAMPLE: one table row
    local n=$1 sample=$2 store=$WORK/store-$1 map_mib fill round target out rps before after cost
    local -A samples=() costs=()
    # The filler's commits leave freed pages behind (copy-on-write): the map needs about
    # 2.5 times the tree.
    map_mib=$(( n / 1000000 * 800 + 1024 ))
    mkdir -p "$store"
    log "filling $n entries into $store (max_size ${map_mib}m)"
    fill=$("$FILL" "$store" "$n" "$map_mib") || die "fill_store failed"
    log "$fill"
    start_nginx module scale-module "$store" "${map_mib}m"
    start_nginx limit scale-limit "" ""

    # Both answer an entry alike (Date and Server aside), and the module from its cache.
    local url module_headers limit_headers
    url=$("$LOAD" --url $((n - 1)))
    module_headers=$(headers_of "${PORT[module]}" "$url")
    limit_headers=$(headers_of "${PORT[limit]}" "$url")
    [[ $module_headers == "$limit_headers" && $'\n'$module_headers == *$'\nHTTP/1.1 200 OK'* ]] ||
        die "the targets answer $url differently:"$'\n'"$module_headers"$'\n---\n'"$limit_headers"
    for round in $(seq 1 "$SCALE_ROUNDS"); do
        for target in module limit; do
            before=$(worker_ticks "$target")
            out=$(taskset -c 0 "$LOAD" "${PORT[$target]}" "$n" "$sample" "$SCALE_DURATION" \
                  "$SCALE_CONCURRENCY" "$SCALE_WARMUP") || die "$target: $out"
            after=$(worker_ticks "$target")
            rps=$(awk '{print $10}' <<<"$out")
            samples[$target]+="$rps "
            # The worker's CPU per request, warm-up included (it is not timed apart): on a
            # machine others share, throughput swings with their load, CPU per request less.
            cost=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v r="$rps" \
                   -v d="$SCALE_DURATION" -v w="$SCALE_WARMUP" \
                   'BEGIN {printf "%.2f", t / hz * 1e6 / (r * (d + w))}')
            costs[$target]+="$cost "
            log "N=$n round $round $target: $out worker_us_per_request $cost"
        done
    done
    local misses errors
    misses=$(metric 'nginx_registry_cache_misses_total{cache="edge"}')
    errors=$(metric 'registry_storage_cache_errors_total{cache="edge"}')
    [[ $misses == 0 && $errors == 0 ]] || die "the module missed ($misses) or failed ($errors): not a benchmark of hits"

    local m l mc lc
    # shellcheck disable=SC2086
    m=$(median ${samples[module]})
    # shellcheck disable=SC2086
    l=$(median ${samples[limit]})
    # shellcheck disable=SC2086
    mc=$(median ${costs[module]})
    # shellcheck disable=SC2086
    lc=$(median ${costs[limit]})
    ROWS+=("| $n | $( ((sample)) && echo "$sample random" || echo "all, random" ) | $m | $l | $(awk -v m="$m" -v l="$l" 'BEGIN {printf "%.2f", m / l}') | $mc | $lc | $(awk -v m="$mc" -v l="$lc" 'BEGIN {printf "%.2f", l / m}') | ${samples[module]}| ${samples[limit]}| $(awk '{print $4}' <<<"$fill") |")
    for target in module limit; do stop_nginx "$WORK/nginx-$target"; done
    rm -rf "$store"
}

for n in "${SIZES[@]}"; do
    if ((n <= 1000000)); then measure "$n" "$SCALE_SAMPLE"; else measure "$n" 0; fi
done

table=$(
    echo "| entries | keys asked | module req/s | return 200 req/s | ratio | module worker µs/req | return 200 worker µs/req | CPU ratio | module rounds | return 200 rounds | map bytes used |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |"
    printf '%s\n' "${ROWS[@]}"
)
load=$(cut -d' ' -f1 /proc/loadavg)
echo "$table"
echo
echo "Median of $SCALE_ROUNDS rounds; 1-minute load average at the end: $load."
echo "Each target and round: \`taskset -c 0 scale_load PORT N SAMPLE $SCALE_DURATION $SCALE_CONCURRENCY $SCALE_WARMUP\`"
echo "Command: \`SCALE_ROUNDS=$SCALE_ROUNDS SCALE_DURATION=$SCALE_DURATION SCALE_WARMUP=$SCALE_WARMUP bench/scale.sh ${SIZES[*]}\`"
if ((RECORD)); then
    {
        echo
        echo "## Hits on a large store: $(date -u +%Y-%m-%d), $(git -C "$REPO" rev-parse --short HEAD)"
        echo
        echo "$table"
        echo
        echo "Median of $SCALE_ROUNDS rounds; 1-minute load average at the end: $load."
        echo "Each target and round: \`taskset -c 0 scale_load PORT N SAMPLE $SCALE_DURATION $SCALE_CONCURRENCY $SCALE_WARMUP\`"
        echo "Command: \`SCALE_ROUNDS=$SCALE_ROUNDS SCALE_DURATION=$SCALE_DURATION SCALE_WARMUP=$SCALE_WARMUP bench/scale.sh ${SIZES[*]}\`"
    } >>"$REPO/bench/RESULTS.md"
fi
