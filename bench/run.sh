#!/usr/bin/env bash
# HEAD of one blob, measured in one run with one load generator against the module and its
# peers (see bench/README.md for what each target is and why it is configured so).
#
#   bench/run.sh [--record] [TARGET...]      default: every target, in the order below
#
# Targets: limit module-hit proxy-cache proxy-pass registry module-miss proxy-pass+auth
# Env:     BENCH_ROUNDS     rounds over all targets; a target's figure is its median (3)
#          BENCH_DURATION   seconds per target and round (default 4)
#          BENCH_REQUESTS   a fixed request count per target and round instead of a duration
#          BENCH_CONCURRENCY  ab -c (default 32)
#          BENCH_WARMUP     requests sent to a target before it is measured (default 1000)
#          BENCH_PROBES     requests used to check that hits do not reach the registry (50)
#          BENCH_KEEP=1     keep the temp dir (configs, logs, saved response headers)
#          BENCH_HOST       the Host every request names (edge.bench: see bench/README.md,
#                           "Manifests", for why not the loopback address)
#          MODULE_SO        default build/ngx_http_registry_cache_module.so (`make module`)
#          NGINX_BIN        default /usr/sbin/nginx
# --record appends the results to bench/RESULTS.md.
#
# Everything runs on loopback: a registry of its own (t/fixtures/registry.sh) seeded with
# demo/hello:1.0 (t/fixtures/seed.sh), and one nginx per configuration, each from its own
# prefix in a temp dir, with one worker, on a free port; all stopped on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
FIXTURES=$REPO/t/fixtures

BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_DURATION=${BENCH_DURATION:-4}
BENCH_REQUESTS=${BENCH_REQUESTS:-}
BENCH_CONCURRENCY=${BENCH_CONCURRENCY:-32}
BENCH_WARMUP=${BENCH_WARMUP:-1000}
BENCH_PROBES=${BENCH_PROBES:-50}
BENCH_KEEP=${BENCH_KEEP:-0}
BENCH_HOST=${BENCH_HOST:-edge.bench}
MODULE_SO=${MODULE_SO:-$REPO/build/ngx_http_registry_cache_module.so}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}

ALL_TARGETS=(limit module-hit proxy-cache proxy-pass registry module-miss proxy-pass+auth)
IMAGE_REPO=demo/hello
# A credential the registry (no auth configured) ignores but the module must not serve from
# a public entry: it makes module-miss a miss on every request.
AUTH_HEADER='Authorization: Basic dGVzdDp0ZXN0'

RECORD=0
TARGETS=()
WORK=
REGISTRY_DIR=
declare -A PORT=()      # server name -> port
declare -A RPS=()       # target -> requests per second: the median of its rounds
declare -A SAMPLES=()   # target -> requests per second of each round, space-separated
declare -A NOTE=()      # target -> remarks for the table
declare -A INVALID=()   # target -> why its figure is not a measurement of a 200

log() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

parse_args() {
    local arg t ok
    for arg in "$@"; do
        case $arg in
            --record) RECORD=1 ;;
            -h | --help) usage ;;
            -*) die "unknown option $arg" ;;
            *)
                ok=0
                for t in "${ALL_TARGETS[@]}"; do [[ $t == "$arg" ]] && ok=1; done
                ((ok)) || die "unknown target '$arg' (known: ${ALL_TARGETS[*]})"
                TARGETS+=("$arg")
                ;;
        esac
    done
    ((${#TARGETS[@]})) || TARGETS=("${ALL_TARGETS[@]}")
}

wants() {
    local t
    for t in "${TARGETS[@]}"; do [[ $t == "$1" ]] && return 0; done
    return 1
}

wants_module() { wants module-hit || wants module-miss; }

check_tools() {
    local tool
    for tool in ab curl jq python3 skopeo docker-registry "$NGINX_BIN"; do
        command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh; ab is in apache2-utils)"
    done
    if wants_module && [[ ! -f $MODULE_SO ]]; then
        die "MODULE_SO=$MODULE_SO does not exist: run 'make module', or name targets without module-*"
    fi
    [[ $BENCH_DURATION =~ ^[1-9][0-9]*$ ]] || die "BENCH_DURATION must be a whole number of seconds"
    [[ $BENCH_ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a count"
    [[ -z $BENCH_REQUESTS || $BENCH_REQUESTS =~ ^[1-9][0-9]*$ ]] || die "BENCH_REQUESTS must be a count"
}

# free_port, alive
# shellcheck source=../t/fixtures/processes.sh
. "$HERE/../t/fixtures/processes.sh"

# ------------------------------------------------------------------ servers ----

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
        [[ -n $REGISTRY_DIR ]] && "$FIXTURES/registry.sh" stop "$REGISTRY_DIR"
        if [[ $BENCH_KEEP == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    fi
    exit "$rc"
}

setup_work() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/registry-cache-bench.XXXXXX")
    trap cleanup EXIT
    # Signals leave through the EXIT trap, so no nginx or registry outlives the run.
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 143' TERM
    mkdir -p "$WORK/headers" "$WORK/ab"
}

start_registry() {
    REGISTRY_DIR=$WORK/registry
    REGISTRY_PORT=$("$FIXTURES/registry.sh" start "$REGISTRY_DIR")
    PORT[registry]=$REGISTRY_PORT
    "$FIXTURES/seed.sh" "127.0.0.1:$REGISTRY_PORT" "$WORK/fixtures" >"$WORK/seed.log" 2>&1 ||
        { cat "$WORK/seed.log" >&2; die "seeding the registry failed"; }
    log "registry 2.8 on 127.0.0.1:$REGISTRY_PORT, seeded"
}

# The largest layer of demo/hello: a real layer (1 MiB), so that a Content-Length check
# cannot pass by accident and proxy_cache has a real body to store.
pick_blob() {
    local layout=$WORK/fixtures/images/hello manifest
    manifest=$(jq -r '.manifests[0].digest' "$layout/index.json")
    read -r DIGEST SIZE < <(jq -r '.layers | max_by(.size) | "\(.digest) \(.size)"' \
        "$layout/blobs/sha256/${manifest#sha256:}")
    [[ $DIGEST =~ ^sha256:[0-9a-f]{64}$ && $SIZE =~ ^[0-9]+$ ]] || die "no layer found in $layout"
    BLOB_PATH=/v2/$IMAGE_REPO/blobs/$DIGEST
    log "blob $DIGEST ($SIZE bytes)"
}

# Fills the @NAME@ placeholders of bench/conf/<conf>.conf.
render_conf() {
    local conf=$1 prefix=$2 port=$3 user_line=''
    # As root, workers would run as nobody and could not write into the 0700 temp dir.
    [[ $(id -u) == 0 ]] && user_line='user root root;'
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" \
        -e "s|@REGISTRY_PORT@|$REGISTRY_PORT|g" -e "s|@MODULE_SO@|$MODULE_SO|g" \
        -e "s|@REPO@|$IMAGE_REPO|g" -e "s|@DIGEST@|$DIGEST|g" \
        -e "s|@USER_LINE@|$user_line|g" \
        "$HERE/conf/$conf.conf" >"$prefix/nginx.conf"
}

nginx_() { "$NGINX_BIN" -p "$1/" -c "$1/nginx.conf" -e "$1/error.log" "${@:2}"; }

wait_http() {
    local port=$1 i
    for ((i = 0; i < 50; i++)); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/" || true) != 000 ]] &&
            return 0
        sleep 0.1
    done
    return 1
}

# start_nginx NAME [CONF]: bench/conf/CONF.conf (default NAME.conf) from $WORK/nginx-NAME on a
# free port (retried, since the port may be taken between the probe and the bind).
start_nginx() {
    local name=$1 conf=${2:-$1} prefix=$WORK/nginx-$1 port attempt
    mkdir -p "$prefix"/{tmp,cache,static}
    if [[ $name == limit ]]; then
        mkdir -p "$prefix/static/v2/$IMAGE_REPO/blobs"
        truncate -s "$SIZE" "$prefix/static/v2/$IMAGE_REPO/blobs/$DIGEST"  # sparse: never read
    fi
    for attempt in 1 2 3; do
        port=$(free_port)
        render_conf "$conf" "$prefix" "$port"
        nginx_ "$prefix" -t -q >"$prefix/test.log" 2>&1 || { cat "$prefix/test.log" >&2; die "nginx -t failed for $name"; }
        if nginx_ "$prefix" >"$prefix/start.log" 2>&1 && wait_http "$port"; then
            PORT[$name]=$port
            log "nginx $name on 127.0.0.1:$port"
            return 0
        fi
        stop_nginx "$prefix"
        grep -qs 'Address already in use' "$prefix/start.log" "$prefix/error.log" || break
        log "nginx $name: port $port taken, retrying ($attempt)"
    done
    cat "$prefix/start.log" >&2
    tail -n 20 "$prefix/error.log" >&2 2>/dev/null || true
    die "nginx $name did not start"
}

start_servers() {
    wants limit && start_nginx limit
    wants module-hit && start_nginx module-hit module
    wants module-miss && start_nginx module-miss module
    wants proxy-cache && start_nginx proxy-cache
    { wants proxy-pass || wants proxy-pass+auth; } && start_nginx proxy-pass
    return 0
}

# -------------------------------------------------------------- targets ----

server_of() {
    case $1 in
        limit | proxy-cache | registry | module-hit | module-miss) echo "$1" ;;
        proxy-pass | proxy-pass+auth) echo proxy-pass ;;
    esac
}

url_of() { echo "http://127.0.0.1:${PORT[$(server_of "$1")]:-0}$BLOB_PATH"; }

# The request headers of a target, for curl and ab (-H): the Host, and Authorization where
# the target asks with it.
request_headers() {
    printf '%s\n' -H "Host: $BENCH_HOST"
    case $1 in module-miss | proxy-pass+auth) printf '%s\n' -H "$AUTH_HEADER" ;; esac
}

head_() {
    local target=$1 args
    mapfile -t args < <(request_headers "$target")
    curl -sS -I --max-time 10 "${args[@]}" "$(url_of "$target")"
}

# How many times the registry has seen a HEAD of the blob (its access log, one line each).
upstream_heads() {
    grep -cF "\"HEAD $BLOB_PATH HTTP/1.1\"" "$REGISTRY_DIR/registry.log" || true
}

# Sends BENCH_PROBES HEADs and prints how many reached the registry.
probe_upstream() {
    local target=$1 before after i
    before=$(upstream_heads)
    for ((i = 0; i < BENCH_PROBES; i++)); do head_ "$target" >/dev/null; done
    sleep 0.3  # the registry writes its log line after the response
    after=$(upstream_heads)
    echo $((after - before))
}

header_value() {  # header_value FILE NAME: the last value of a response header
    awk -v n="$2" -F': *' \
        'tolower($1) == tolower(n) { v = $2 } END { sub(/\r$/, "", v); print v }' "$1"
}

# A benchmark of a 404 is worthless: every target must answer this very HEAD with 200 and the
# blob's Content-Length before it is measured. Also checks that hits are hits.
verify_target() {
    local target=$1 h=$WORK/headers/$1.txt status length cache went
    case $target in
        module-hit) head_ "$target" >/dev/null ;;  # teaches the cache (anonymous HEAD)
        proxy-cache) head_ "$target" >/dev/null ;; # MISS: fills the cache with a GET
    esac
    head_ "$target" >"$h" || { INVALID[$target]="no answer"; return 0; }
    status=$(head -n 1 "$h" | awk '{print $2}')
    length=$(header_value "$h" Content-Length)
    if [[ $status != 200 || $length != "$SIZE" ]]; then
        INVALID[$target]="answered $status with Content-Length '$length', want 200 and $SIZE"
        return 0
    fi
    cache=$(header_value "$h" X-Cache-Status)
    case $target in
        proxy-cache)
            [[ $cache == HIT ]] || INVALID[$target]="X-Cache-Status '$cache', want HIT"
            went=$(probe_upstream "$target")
            ((went == 0)) || INVALID[$target]="$went of $BENCH_PROBES HEADs reached the registry"
            [[ -n ${INVALID[$target]:-} ]] || NOTE[$target]="HIT verified"
            ;;
        module-hit)
            # The registry's log is the proof: the measured configuration carries no
            # X-Cache-Status header, which the limit would not have to send.
            went=$(probe_upstream "$target")
            if ((went == 0)); then
                NOTE[$target]="hits verified: 0 of $BENCH_PROBES HEADs reached the registry"
            else
                INVALID[$target]="$went of $BENCH_PROBES HEADs reached the registry: not hits"
            fi
            ;;
        module-miss)
            # A miss path measured on hits would flatter it: every request must go upstream.
            went=$(probe_upstream "$target")
            if ((went == BENCH_PROBES)); then
                NOTE[$target]="misses verified: $went of $BENCH_PROBES HEADs reached the registry"
            else
                INVALID[$target]="only $went of $BENCH_PROBES HEADs reached the registry: not a miss path"
            fi
            ;;
    esac
    return 0
}

# ab: one thread, HTTP/1.0 keep-alive, HEAD (-i). With -t alone ab stops at 50000 requests,
# so a duration run also gets an -n it cannot reach. Sets AB_LOAD (how long) and AB_REQ (the
# request: extra header and URL).
# ab on the first CPU; nginx's worker is on the second (worker_cpu_affinity in bench/conf).
ab_() { taskset -c 0 ab "$@"; }

ab_args() {
    local target=$1
    mapfile -t AB_REQ < <(request_headers "$target")
    AB_REQ+=("$(url_of "$target")")
    if [[ -n $BENCH_REQUESTS ]]; then
        AB_LOAD=(-n "$BENCH_REQUESTS")
    else
        AB_LOAD=(-t "$BENCH_DURATION" -n $((BENCH_DURATION * 1000000)))
    fi
}

ab_field() { awk -F': *' -v k="$2" '$1 == k { print $2 + 0; exit }' "$1"; }

# measure_target TARGET ROUND: one ab run, its req/s added to SAMPLES.
measure_target() {
    local target=$1 round=$2 out=$WORK/ab/$1.$2.txt complete failed non2xx keepalive rps
    ab_args "$target"
    # Warm-up, once: connections, the registry's Go runtime, nginx's upstream keepalive pool.
    ((round > 1)) || ab_ -q -i -k -c "$BENCH_CONCURRENCY" -n "$BENCH_WARMUP" "${AB_REQ[@]}" >/dev/null 2>&1 || true
    log "round $round, $target: taskset -c 0 ab -q -i -k -c $BENCH_CONCURRENCY ${AB_LOAD[*]} ${AB_REQ[*]}"
    if ! ab_ -q -i -k -c "$BENCH_CONCURRENCY" "${AB_LOAD[@]}" "${AB_REQ[@]}" >"$out" 2>&1; then
        INVALID[$target]="ab failed: $(tail -n 1 "$out")"
        return 0
    fi
    complete=$(ab_field "$out" 'Complete requests')
    failed=$(ab_field "$out" 'Failed requests')
    non2xx=$(ab_field "$out" 'Non-2xx responses')
    keepalive=$(ab_field "$out" 'Keep-Alive requests')
    rps=$(ab_field "$out" 'Requests per second')
    SAMPLES[$target]+="${SAMPLES[$target]:+ }$rps"
    if ((${non2xx:-0} > 0 || ${failed:-0} > 0 || ${complete:-0} == 0)); then
        INVALID[$target]="$complete requests, ${failed:-0} failed, ${non2xx:-0} not 2xx"
    elif ((${keepalive:-0} * 100 < complete * 99)) && [[ ${NOTE[$target]:-} != *kept-alive* ]]; then
        NOTE[$target]+="${NOTE[$target]:+; }only $keepalive of $complete on kept-alive connections"
    fi
    return 0
}

median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Min-max of a target's rounds, in percent of its median: how far to trust its figure.
spread() {
    tr ' ' '\n' | sort -g | awk -v m="$1" 'NR == 1 { lo = $1 } { hi = $1 } END {
        if (NR < 2 || m <= 0) print "—"; else printf "%.0f–%.0f (±%.0f%%)", lo, hi, 50 * (hi - lo) / m }'
}

# Rounds interleave the targets, so that a burst of other load on the machine hits one round
# of every target rather than all rounds of one.
measure_all() {
    local round target
    for ((round = 1; round <= BENCH_ROUNDS; round++)); do
        for target in "${TARGETS[@]}"; do
            [[ -n ${INVALID[$target]:-} ]] || measure_target "$target" "$round"
        done
    done
    for target in "${TARGETS[@]}"; do
        [[ -n ${INVALID[$target]:-} || -z ${SAMPLES[$target]:-} ]] && continue
        RPS[$target]=$(median <<<"${SAMPLES[$target]}")
    done
}

# --------------------------------------------------------------- report ----

ratio() {  # ratio A B: A/B with 3 decimals, or "n/a"
    if [[ -n ${1:-} && -n ${2:-} ]] && awk -v b="$2" 'BEGIN { exit !(b > 0) }'; then
        awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'
    else
        echo n/a
    fi
}

describe() {
    case $1 in
        limit) echo 'nginx static HEAD, same headers (the limit)' ;;
        module-hit) echo 'registry_cache, cached HEAD' ;;
        proxy-cache) echo 'nginx proxy_cache hit (docker-registry-proxy style)' ;;
        proxy-pass) echo 'plain proxy_pass to the registry' ;;
        registry) echo 'distribution 2.8.2 itself' ;;
        module-miss) echo 'registry_cache miss path (Authorization header)' ;;
        proxy-pass+auth) echo 'plain proxy_pass, same Authorization header' ;;
    esac
}

# Header names a target sends that the registry does not, and the other way round.
header_names() {
    sed -n '2,$p' "$1" | tr -d '\r' | awk -F: 'NF > 1 { print tolower($1) }' |
        grep -vxE 'date|server|connection|keep-alive|x-cache-status' | sort -u
}

header_diff() {
    local target=$1 ref=$WORK/headers/registry.txt h=$WORK/headers/$1.txt extra missing
    [[ -s $ref && -s $h ]] || return 0
    extra=$(comm -13 <(header_names "$ref") <(header_names "$h") | paste -sd, -)
    missing=$(comm -23 <(header_names "$ref") <(header_names "$h") | paste -sd, -)
    [[ -z $extra && -z $missing ]] && { echo "$target: same headers as the registry"; return 0; }
    echo "$target: ${extra:+extra: $extra}${extra:+${missing:+; }}${missing:+missing: $missing}"
}

command_line() {
    local env=''
    env+="BENCH_ROUNDS=$BENCH_ROUNDS "
    [[ -n $BENCH_REQUESTS ]] && env+="BENCH_REQUESTS=$BENCH_REQUESTS " || env+="BENCH_DURATION=$BENCH_DURATION "
    env+="BENCH_CONCURRENCY=$BENCH_CONCURRENCY "
    echo "${env}bench/run.sh${*:+ $*}"
}

report() {
    local target rps limit=${RPS[limit]:-} pp=${RPS[proxy-pass+auth]:-} note range
    ab_args limit  # for AB_LOAD
    echo "HEAD $BLOB_PATH ($SIZE bytes), one nginx worker, loopback, $(date -u +%FT%TZ)"
    echo "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $("$NGINX_BIN" -v 2>&1 | sed 's/.*version: //'), $(docker-registry --version | awk '{print $2, $3}')"
    echo
    echo "| target | what | req/s | vs limit | rounds: min–max | notes |"
    echo "| --- | --- | ---: | ---: | --- | --- |"
    for target in "${TARGETS[@]}"; do
        note=${NOTE[$target]:-}
        range=—
        if [[ -n ${INVALID[$target]:-} ]]; then
            rps='—'
            note="**INVALID**: ${INVALID[$target]}"
        else
            range=$(spread "${RPS[$target]}" <<<"${SAMPLES[$target]}")
            rps=$(printf '%.0f' "${RPS[$target]}")
            [[ $target == module-miss ]] &&
                note="vs proxy-pass+auth: $(ratio "${RPS[$target]}" "$pp")${note:+; $note}"
        fi
        echo "| $target | $(describe "$target") | $rps | $(ratio "${RPS[$target]:-}" "$limit") | $range | $note |"
    done
    echo
    echo "Median of $BENCH_ROUNDS rounds; 1-minute load average before the run: $LOAD_BEFORE."
    echo
    echo "Command: \`$(command_line "${ORIG_ARGS[@]}")\`; each target and round: \`taskset -c 0 ab -q -i -k -c $BENCH_CONCURRENCY ${AB_LOAD[*]} -H 'Host: $BENCH_HOST' [-H '$AUTH_HEADER'] http://127.0.0.1:PORT$BLOB_PATH\` after $BENCH_WARMUP warm-up requests."
    echo
    echo "Response headers compared with the registry's (Date, Server, Connection, Keep-Alive, X-Cache-Status aside):"
    for target in "${TARGETS[@]}"; do
        [[ $target == registry ]] || echo "- $(header_diff "$target")"
    done
}

record() {
    local table=$1
    {
        echo
        echo "## $(date -u +%F) — $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
        echo
        cat "$table"
    } >>"$HERE/RESULTS.md"
    log "appended to bench/RESULTS.md"
}

main() {
    ORIG_ARGS=("$@")
    parse_args "$@"
    check_tools
    # Other work on the machine skews every figure: say how busy it was.
    LOAD_BEFORE=$(cut -d' ' -f1 /proc/loadavg)
    awk -v l="$LOAD_BEFORE" 'BEGIN { exit !(l > 0.5) }' &&
        log "warning: load average $LOAD_BEFORE: something else is running, figures will be noisy"
    setup_work
    start_registry
    pick_blob
    start_servers
    local target
    # The registry's headers are the reference of the header comparison: always fetch them.
    wants registry || { head_ registry >"$WORK/headers/registry.txt" || true; }
    for target in "${TARGETS[@]}"; do verify_target "$target"; done
    for target in "${TARGETS[@]}"; do
        [[ -z ${INVALID[$target]:-} ]] || log "not measuring $target: ${INVALID[$target]}"
    done
    measure_all
    report >"$WORK/report.md"
    cat "$WORK/report.md"
    ((RECORD)) && record "$WORK/report.md"
    # Non-zero when a figure is missing, so CI notices a benchmark of an error.
    ((${#INVALID[@]} == 0))
}

main "$@"
