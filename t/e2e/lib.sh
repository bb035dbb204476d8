# Shared helpers for the end-to-end tests (sourced, not run).
#
# TAP:      plan N | check NAME CMD... | is GOT WANT NAME | diag MSG | done_testing
# Setup:    e2e_init; e2e_registry; e2e_edge_start
# Tools:    skopeo_ ARGS... (hermetic config), layout_* / edge_log_has helpers
#
# Env in:   REGISTRY_PORT   started+seeded registry on 127.0.0.1 (else one is
#                           started and seeded here, and stopped on exit)
#           NGINX_BIN       default /usr/sbin/nginx
#           MODULE_SO       ngx_http_registry_cache_module.so
#           E2E_OWN_MODULE=1  the test brings its module (the Debian package's): no MODULE_SO
#           E2E_PLAIN_PROXY=1  edge without the module (plain proxy_pass)
#           E2E_KEEP=1      keep the temp dir (path printed as a diag)
#           E2E_NGINX_USER  nginx `user` when run as root (default "root root")
# shellcheck shell=bash

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FIXTURES=$(cd "$E2E_DIR/../fixtures" && pwd)
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}

_tap_n=0
_tap_failed=0
_tap_done=0
_tap_plan=

# ---------------------------------------------------------------- TAP ----

plan() { _tap_plan=$1; echo "1..$1"; }

diag() { printf '%s\n' "$@" | sed 's/^/# /' >&2; }

# Last N lines of a file, non-printable bytes (skopeo's TLS probe lands in
# nginx's logs as raw ClientHello bytes) shown as '?'.
_tail_clean() { tail -n "$2" "$1" | LC_ALL=C tr -c '[:print:]\t\n' '?'; }

# Everything that helps explain a failure: the failing check's own output,
# the last skopeo output, and the tail of the edge error log.
_fail_diag() {
    local out=${1:-}
    [[ -n $out && -s $out ]] && { diag "--- output:"; diag "$(_tail_clean "$out" 40)"; }
    if [[ -n ${LAST_SKOPEO_LOG:-} && -s $LAST_SKOPEO_LOG && $LAST_SKOPEO_LOG != "$out" ]]; then
        diag "--- last skopeo output ($LAST_SKOPEO_LOG):"
        diag "$(_tail_clean "$LAST_SKOPEO_LOG" 40)"
    fi
    if [[ -n ${EDGE_DIR:-} && -s $EDGE_DIR/error.log ]]; then
        diag "--- edge error.log tail:"
        diag "$(_tail_clean "$EDGE_DIR/error.log" 12)"
    fi
}

_tap_result() {
    local pass=$1 name=$2 out=${3:-}
    _tap_n=$((_tap_n + 1))
    if ((pass)); then
        echo "ok $_tap_n - $name"
    else
        _tap_failed=$((_tap_failed + 1))
        echo "not ok $_tap_n - $name"
        _fail_diag "$out"
    fi
    return 0
}

# check NAME CMD...: one TAP line; CMD's output is kept, shown on failure.
# CMD runs in this shell (functions may set globals), errexit is off inside.
check() {
    local name=$1 out
    shift
    out=$T/logs/check-$((_tap_n + 1)).log
    if "$@" >"$out" 2>&1; then
        _tap_result 1 "$name" "$out"
    else
        _tap_result 0 "$name" "$out"
    fi
}

is() {
    local got=$1 want=$2 name=$3 out=$T/logs/check-$((_tap_n + 1)).log
    if [[ $got == "$want" ]]; then
        _tap_result 1 "$name"
    else
        printf 'got:  %s\nwant: %s\n' "$got" "$want" >"$out"
        _tap_result 0 "$name" "$out"
    fi
}

# like GOT REGEX NAME: as `is`, GOT matching the extended regular expression REGEX.
like() {
    local got=$1 want=$2 name=$3 out=$T/logs/check-$((_tap_n + 1)).log
    if [[ $got =~ $want ]]; then
        _tap_result 1 "$name"
    else
        printf 'got:   %s\nmatch: %s\n' "$got" "$want" >"$out"
        _tap_result 0 "$name" "$out"
    fi
}

skip_all() { echo "1..0 # SKIP $*"; _tap_done=1; exit 0; }

done_testing() {
    [[ -n $_tap_plan ]] || echo "1..$_tap_n"
    _tap_done=1
    ((_tap_failed == 0))
}

# --------------------------------------------------------------- setup ----

# Pids of helper servers a test started (the lying upstream, say): stopped with the rest.
E2E_HELPERS=()

# free_port, alive
# shellcheck source=../fixtures/processes.sh
. "$(dirname "${BASH_SOURCE[0]}")/../fixtures/processes.sh"

_e2e_cleanup() {
    local rc=$?
    set +e
    # Stdout may be a closed pipe by now: ignore SIGPIPE (writes just fail)
    # and further signals, so the stops below always run.
    trap '' PIPE HUP INT TERM
    if ((!_tap_done)); then
        echo "# test script died (exit $rc) after $_tap_n checks"
        _fail_diag ""
        ((rc != 0)) || rc=1
    fi
    e2e_edge_stop
    [[ ${#E2E_HELPERS[@]} -gt 0 ]] && kill -TERM "${E2E_HELPERS[@]}" 2>/dev/null
    [[ -n ${OWN_REGISTRY_DIR:-} ]] && "$FIXTURES/registry.sh" stop "$OWN_REGISTRY_DIR"
    if [[ ${E2E_KEEP:-0} == 1 ]]; then
        echo "# kept $T"
    else
        rm -rf "$T"
    fi
    exit "$rc"
}

# Temp dir, hermetic skopeo config, cleanup trap. Skips the whole file when
# there is neither a module to test nor plain-proxy mode.
e2e_init() {
    if [[ ${E2E_PLAIN_PROXY:-0} != 1 && ${E2E_OWN_MODULE:-0} != 1 ]]; then
        [[ -n ${MODULE_SO:-} ]] || skip_all "MODULE_SO not set (or E2E_PLAIN_PROXY=1 for a plain proxy edge)"
    fi
    T=$(mktemp -d "${TMPDIR:-/tmp}/e2e.XXXXXX")
    mkdir -p "$T/logs" "$T/skopeo/registries.d"
    trap _e2e_cleanup EXIT
    # Signals exit through the EXIT trap too, so nginx and an own registry
    # never outlive the test (e.g. `... | head` kills us with SIGPIPE).
    trap 'exit 129' HUP
    trap 'exit 130' INT
    trap 'exit 141' PIPE
    trap 'exit 143' TERM
    # Own policy/registries.conf: nothing from ~/.docker or /etc/containers.
    printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' >"$T/skopeo/policy.json"
    printf 'unqualified-search-registries = []\n' >"$T/skopeo/registries.conf"
    if [[ ${E2E_PLAIN_PROXY:-0} != 1 && ${E2E_OWN_MODULE:-0} != 1 && ! -f $MODULE_SO ]]; then
        echo "Bail out! MODULE_SO=$MODULE_SO does not exist"
        _tap_done=1
        exit 1
    fi
}

# skopeo with the hermetic config, plain http, anonymous. Output goes to a
# numbered log (LAST_SKOPEO_LOG) so failures can show it.
_skopeo_n=0
skopeo_() {
    _skopeo_n=$((_skopeo_n + 1))
    LAST_SKOPEO_LOG=$T/logs/skopeo-$_skopeo_n.log
    echo "+ skopeo $*" >"$LAST_SKOPEO_LOG"
    CONTAINERS_REGISTRIES_CONF=$T/skopeo/registries.conf \
        skopeo --policy "$T/skopeo/policy.json" --registries.d "$T/skopeo/registries.d" \
        --tmpdir "$T" "$@" >>"$LAST_SKOPEO_LOG" 2>&1
}

# Use $REGISTRY_PORT, or start and seed a registry of our own.
e2e_registry() {
    if [[ -z ${REGISTRY_PORT:-} ]]; then
        OWN_REGISTRY_DIR=$T/registry
        REGISTRY_PORT=$("$FIXTURES/registry.sh" start "$OWN_REGISTRY_DIR")
        "$FIXTURES/seed.sh" "127.0.0.1:$REGISTRY_PORT" "$T/fixtures" >"$T/logs/seed.log" 2>&1 ||
            { cat "$T/logs/seed.log" >&2; return 1; }
        diag "own registry on 127.0.0.1:$REGISTRY_PORT"
    fi
    # shellcheck disable=SC2034  # used by the test files
    REGISTRY=127.0.0.1:$REGISTRY_PORT
}

# Pushes the bytes of FILE to the registry as a blob of REPO (a monolithic upload, no edge in
# between); prints its digest.
registry_push_blob() {
    local file=$1 repo=$2 digest location
    digest=sha256:$(sha256sum "$file" | cut -d' ' -f1)
    location=$(curl -sf -X POST -D - -o /dev/null "http://$REGISTRY/v2/$repo/blobs/uploads/" |
        tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
    [[ $location == http* ]] || location=http://$REGISTRY$location
    curl -sf -X PUT -H "Content-Type: application/octet-stream" --data-binary "@$file" \
        "$location&digest=$digest" -o /dev/null
    echo "$digest"
}

# A token service of the tests (t/fixtures/token-service.py) for $ISSUER and $SERVICE with the
# users of $T/users, signing with the keys under SIGNING-DIR; its port lands in $T/NAME.port.
token_service() {  # NAME SIGNING-DIR [EXPIRES-IN [ISSUED-AGO]]
    local name=$1 dir=$2
    shift 2
    /usr/bin/python3 "$FIXTURES/token-service.py" "$dir" "$ISSUER" "$SERVICE" "$T/users" "$T/$name.port" "$@" \
        >"$T/logs/$name.log" 2>&1 &
    E2E_HELPERS+=($!)
    wait_for test -s "$T/$name.port"
}

# The realm of a token-auth upstream: keys under a test CA made in $T/tokens, the token
# service started on them as NAME, alice:secret its one user ($T/users). Sets ISSUER, SERVICE
# (those the keys were made for) and REALM.
e2e_token_realm() {  # NAME
    mkdir -p "$T/tokens"
    KEEP_SIGNING_KEYS=1 "$E2E_DIR/../unit/vectors/make-tokens.sh" "$T/tokens" >/dev/null
    read -r ISSUER SERVICE <"$T/tokens/issuer-service.txt"
    echo 'alice:secret' >"$T/users"
    token_service "$1" "$T/tokens/signing"
    REALM=http://127.0.0.1:$(<"$T/$1.port")/token
}

# The token-auth upstream: a registry of the test's own in $OWN holding the image hello:1.0
# (its layout in $LAYOUT) under each NAME, pushed before token authentication with REALM and
# the roots of $T/tokens is turned on. Sets OWN, PORT and LAYOUT; stopped on exit.
token_registry_start() {  # REALM NAME...
    local realm=$1 name
    shift
    OWN=$T/token-registry
    PORT=$("$FIXTURES/registry.sh" start "$OWN")
    LAYOUT=$T/hello
    e2e_build_image hello 1.0 "$LAYOUT"
    for name in "$@"; do
        skopeo_ copy --dest-tls-verify=false "oci:$LAYOUT:1.0" "docker://127.0.0.1:$PORT/$name:1.0"
    done
    "$FIXTURES/registry.sh" stop "$OWN"
    PORT=$(REGISTRY_TOKEN_AUTH="$realm $SERVICE $ISSUER $T/tokens/roots.pem" "$FIXTURES/registry.sh" start "$OWN")
    trap 'rc=$?; set +e; "$FIXTURES/registry.sh" stop "$OWN"; (exit $rc); _e2e_cleanup' EXIT
}

# Reference layout, rebuilt locally: build-image.sh is reproducible, so its
# digests are those of what seed.sh pushed.
e2e_build_image() {
    local variant=$1 tag=$2 dir=$3
    IMAGE_VARIANT=$variant "$FIXTURES/build-image.sh" "$dir" "$tag" >/dev/null
}

# GET of /v2/lie/KIND/blobs/$TRUE_DIGEST from the edge on 127.0.0.1:PORT, with any further
# curl arguments (a protocol, a Range): prints "curl-exit http-code sha256-of-what-came" and
# leaves the body in $T/body.
liar_get() {
    local kind=$1 port=$2 rc=0 code
    shift 2
    code=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 10 "$@" \
        "http://127.0.0.1:$port/v2/lie/$kind/blobs/$TRUE_DIGEST") || rc=$?
    echo "$rc $code sha256:$(sha256sum <"$T/body" | cut -d' ' -f1)"
}

# Starts the lying upstream (t/inc/RegistryCache/LyingUpstream.pm); sets LIAR_PORT.
e2e_start_liar() {
    perl -I"$(cd "$(dirname "${BASH_SOURCE[0]}")/../inc" && pwd)" -MRegistryCache::LyingUpstream \
        -e 'RegistryCache::LyingUpstream::main()' >"$T/liar.port" 2>"$T/logs/liar.log" &
    E2E_HELPERS+=($!)
    local _
    for _ in $(seq 50); do [[ -s $T/liar.port ]] && break; sleep 0.1; done
    LIAR_PORT=$(<"$T/liar.port")
}

# The opening of an edge nginx.conf in EDGE_DIR: the module, E2E_WORKERS workers (1),
# logs and temporary paths inside EDGE_DIR, and `http {` with the cache ARGS of
# registry_cache_path (zone=edge:1m by default). The test writes the servers and the `}`.
edge_conf_head() {
    local plain=${E2E_PLAIN_PROXY:-0}
    # As root, workers would run as nobody and could not write into the 0700 temp prefix
    # (cache, temp paths): they run as root unless told otherwise.
    cat <<CONF
$([[ $plain == 1 ]] || echo "load_module $MODULE_SO;")
$([[ $(id -u) == 0 ]] && echo "user ${E2E_NGINX_USER:-root root};")
worker_processes ${E2E_WORKERS:-1};
pid $EDGE_DIR/nginx.pid;
error_log $EDGE_DIR/error.log info;
events { worker_connections 256; }
http {
  access_log $EDGE_DIR/access.log;
$(temp_paths_conf "$EDGE_DIR")
$([[ $plain == 1 ]] || echo "  registry_cache_path ${1:-$EDGE_DIR/cache zone=edge:1m};")
CONF
}

# An edge that keeps blob bodies (its thread pool "verify" of 2 threads hashes and writes
# them) in front of UPSTREAM (host:port), its cache in $EDGE_DIR/cache with CACHE-PARAMETERS:
#   e2e_store_edge_start "zone=edge:1m max_size=16m blobs_max_size=1g" "$REGISTRY"
# Sets EDGE_DIR ($T/edge) and EDGE. What a test adds, as nginx.conf lines: STORE_EDGE_MAIN
# (the main context), STORE_EDGE_HTTP (http), STORE_EDGE_SERVER (the edge's server), STORE_EDGE_LOCATION (its /v2/),
# STORE_EDGE_UPSTREAM (its @registry), STORE_EDGE_SERVERS (more servers).
e2e_store_edge_start() {
    EDGE_DIR=$T/edge
    mkdir -p "$EDGE_DIR"
    EDGE=127.0.0.1:$(free_port)
    { echo "thread_pool verify threads=2;"; echo "${STORE_EDGE_MAIN:-}"; edge_conf_head "$EDGE_DIR/cache $1"; cat; } \
        >"$EDGE_DIR/nginx.conf" <<CONF
${STORE_EDGE_HTTP:-}
  server {
    listen $EDGE;
    add_header X-Cache-Status \$registry_cache_status always;
${STORE_EDGE_SERVER:-}
    location /v2/ {
      registry_cache edge;
      registry_cache_pass @registry;
      registry_cache_verify threads=verify;
${STORE_EDGE_LOCATION:-}
    }
    location = /metrics { registry_cache_metrics; }
    location @registry {
      proxy_pass http://$2;
      proxy_buffering off;
${STORE_EDGE_UPSTREAM:-}
    }
  }
${STORE_EDGE_SERVERS:-}
}
CONF
    "$NGINX_BIN" -p "$EDGE_DIR/" -c "$EDGE_DIR/nginx.conf" -e "$EDGE_DIR/error.log"
    _edge_wait_ready
}

# A registry's storage, as a CDN or S3 serves it: ROOT (the registry's data directory) served
# as files by an nginx of its own in $T/storage, each request logged to $T/storage/access.log
# as "METHOD PATH STATUS "AUTHORIZATION"" ("-": none). Sets STORAGE; stopped on exit.
e2e_storage_start() {  # ROOT
    STORAGE=127.0.0.1:$(free_port)
    mkdir -p "$T/storage"
    cat >"$T/storage/nginx.conf" <<CONF
$( [[ $(id -u) == 0 ]] && echo "user root root;" )
worker_processes 1;
pid $T/storage/nginx.pid;
error_log $T/storage/error.log;
events { worker_connections 64; }
http {
  log_format auth '\$request_method \$uri \$status "\$http_authorization"';
  access_log $T/storage/access.log auth;
  server {
    listen $STORAGE;
    root $1;
  }
}
CONF
    touch "$T/storage/access.log"
    "$NGINX_BIN" -p "$T/storage/" -c "$T/storage/nginx.conf" -e "$T/storage/error.log"
    wait_for test -s "$T/storage/nginx.pid"
    E2E_HELPERS+=("$(<"$T/storage/nginx.pid")")
}

# A sample of the edge's metrics: edge_metric 'name{labels}'.
edge_metric() { curl -s --max-time 10 "http://$EDGE/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# The digest numbered N, of a blob the lying upstream's `honest` kind confirms.
HONEST_DIGEST_FORMAT='sha256:%064x'
honest_digest() { printf "$HONEST_DIGEST_FORMAT" "$1"; }

# HEADs of /v2/lie/honest/blobs/<the digests numbered FROM..TO> over one keep-alive
# connection; prints their status codes.
honest_heads() {
    local i
    # printf, not $(honest_digest): a subshell per URL makes thousands of forks.
    for ((i = $1; i <= $2; i++)); do
        printf "url = \"http://%s/v2/lie/honest/blobs/$HONEST_DIGEST_FORMAT\"\n" "$EDGE" "$i"
    done >"$T/urls"
    curl -s -I -K "$T/urls" | awk '/^HTTP\// { print $2 }'
}

# The registry, seeded with the demo image hello:1.0, and that image's layout rebuilt in
# $T/src; sets LAYER, the digest of its largest layer.
e2e_registry_with_hello() {
    e2e_registry
    e2e_build_image hello 1.0 "$T/src"
    LAYER=$(layout_largest_layer "$T/src" 1.0)
}

# HEADs of the honest blobs numbered 1..TOTAL, BATCH to a connection; prints how many got
# each status, as "200: 3000" lines.
honest_head_statuses() {
    local total=$1 batch=$2 from
    for ((from = 1; from <= total; from += batch)); do
        honest_heads "$from" "$((from + batch - 1 < total ? from + batch - 1 : total))"
    done | sort | uniq -c | awk '{ print $2 ": " $1 }'
}

# Starts an edge in EDGE_DIR in front of the lying upstream (e2e_start_liar first), with the
# cache ARGS of registry_cache_path, X-Cache-Status and /metrics; sets EDGE.
e2e_liar_edge_start() {
    mkdir -p "$EDGE_DIR"
    EDGE=127.0.0.1:$(free_port)
    { edge_conf_head "$1"; cat; } >"$EDGE_DIR/nginx.conf" <<CONF
  upstream liar { server 127.0.0.1:$LIAR_PORT; }
  server {
    listen $EDGE;
    keepalive_requests 1000000;
    add_header X-Cache-Status \$registry_cache_status always;
    location /v2/ { registry_cache edge; registry_cache_pass @liar; }
    location @liar { proxy_pass http://liar; }
    location = /metrics { registry_cache_metrics; }
  }
}
CONF
    "$NGINX_BIN" -p "$EDGE_DIR/" -c "$EDGE_DIR/nginx.conf" -e "$EDGE_DIR/error.log"
    _edge_wait_ready
}

# nginx.conf lines keeping every temporary path of nginx inside DIR (not /var/lib/nginx).
temp_paths_conf() {
    local t
    for t in client_body proxy fastcgi uwsgi scgi; do echo "  ${t}_temp_path $1/$t;"; done
}

# The digest of the largest layer of the image TAG in the OCI layout DIR.
layout_largest_layer() {
    local manifest
    manifest=$(layout_manifest_digest "$1" "$2")
    jq -r '.layers | max_by(.size) | .digest' "$(layout_blob "$1" "$manifest")"
}

_render_edge_conf() {
    local dir=$1 port=$2 v2_body
    if [[ ${E2E_PLAIN_PROXY:-0} == 1 ]]; then
        # Development only: the same proxy settings, inline, no module.
        v2_body="proxy_pass http://127.0.0.1:$REGISTRY_PORT;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_set_header Host \$http_host;
      proxy_request_buffering off;
      proxy_buffering off;"
    else
        v2_body="registry_cache edge;
      registry_cache_pass @registry;"
    fi
    { EDGE_DIR=$dir edge_conf_head "$dir/cache zone=edge:1m max_size=64m"; cat; } >"$dir/nginx.conf" <<EOF
  $( [[ ${E2E_PLAIN_PROXY:-0} == 1 ]] || echo 'add_header X-Cache-Status $registry_cache_status always;')
  server {
    listen 127.0.0.1:$port;
    client_max_body_size 0;
    location /v2/ {
      $v2_body
    }
    $( [[ ${E2E_PLAIN_PROXY:-0} == 1 ]] || echo 'location = /metrics { registry_cache_metrics; }' )
    location @registry {
      access_log $dir/upstream.log;
      proxy_pass http://127.0.0.1:$REGISTRY_PORT;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
EOF
}

# Start the edge nginx in its own prefix on a free port (retried: the port
# can be taken between probe and bind). Sets EDGE_DIR, EDGE_PORT, EDGE.
e2e_edge_start() {
    EDGE_DIR=$T/edge
    mkdir -p "$EDGE_DIR"
    for _ in 1 2 3; do
        EDGE_PORT=$(free_port)
        _render_edge_conf "$EDGE_DIR" "$EDGE_PORT"
        # -e: the startup error log too, so nothing goes to /var/log/nginx.
        if "$NGINX_BIN" -p "$EDGE_DIR/" -c "$EDGE_DIR/nginx.conf" -e "$EDGE_DIR/error.log" \
            >"$T/logs/nginx-start.log" 2>&1; then
            EDGE=127.0.0.1:$EDGE_PORT
            _edge_wait_ready && return 0
        fi
        grep -q 'Address already in use' "$T/logs/nginx-start.log" "$EDGE_DIR/error.log" 2>/dev/null ||
            break
        e2e_edge_stop
    done
    echo "edge nginx failed to start:" >&2
    cat "$T/logs/nginx-start.log" >&2
    [[ -f $EDGE_DIR/error.log ]] && _tail_clean "$EDGE_DIR/error.log" 20 >&2
    return 1
}

# Any HTTP answer on /v2/ means the edge is serving.
_edge_wait_ready() {
    local i code
    for ((i = 0; i < 50; i++)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$EDGE/v2/" || true)
        [[ $code != 000 ]] && return 0
        sleep 0.1
    done
    return 1
}

e2e_edge_stop() {
    local pid i
    [[ -n ${EDGE_DIR:-} && -s $EDGE_DIR/nginx.pid ]] || return 0
    pid=$(<"$EDGE_DIR/nginx.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null
    rm -f "$EDGE_DIR/nginx.pid"
    return 0
}

# ----------------------------------------------------- layout helpers ----

# Manifest digest for TAG in an OCI layout (or the only one if TAG empty).
layout_manifest_digest() {
    local dir=$1 tag=${2:-}
    if [[ -n $tag ]]; then
        jq -r --arg t "$tag" \
            '[.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t)][0].digest // empty' \
            "$dir/index.json"
    else
        jq -r '.manifests[0].digest // empty' "$dir/index.json"
    fi
}

layout_blob() { echo "$1/blobs/sha256/${2#sha256:}"; }

# Config digest then layer digests, one per line, from a manifest digest.
layout_image_digests() {
    local dir=$1 digest=$2
    jq -r '.config.digest, .layers[].digest' "$(layout_blob "$dir" "$digest")"
}

# Every blob file's sha256 equals its name.
layout_verify_blobs() {
    local dir=$1 f n=0 bad=0
    for f in "$dir"/blobs/sha256/*; do
        n=$((n + 1))
        if [[ $(sha256sum "$f" | cut -d' ' -f1) != "$(basename "$f")" ]]; then
            echo "content does not match name: $f"
            bad=1
        fi
    done
    echo "$n blobs checked"
    ((n > 0 && bad == 0))
}

# Sorted list of blob names, for set comparison between layouts.
layout_blob_list() { find "$1/blobs/sha256" -type f -printf '%f\n' | sort; }

# ------------------------------------------------------ edge access log ----

# edge_log_has METHOD PATH-REGEX STATUS-REGEX: a matching request line in
# the edge access log (combined format) proves the request went via the edge.
edge_log_has() {
    local method=$1 path=$2 status=$3
    # A request is logged where it ended: access.log, or upstream.log when it went upstream.
    cat "$EDGE_DIR/access.log" "$EDGE_DIR/upstream.log" 2>/dev/null |
        grep -E "\"$method $path HTTP/1\.[01]\" $status "
}

# No [alert]/[crit]/[emerg] in the edge error log.
# Arguments: extended regexes of [alert]/[crit]/[emerg] lines the test caused on purpose.
edge_error_log_clean() {
    local expected=
    # Only with arguments: printf would print "|" for none, a pattern that drops every line.
    (($#)) && expected=$(printf '%s|' "$@")
    if grep -aE '\[(alert|crit|emerg)\]' "$EDGE_DIR/error.log" |
        { if [[ -n $expected ]]; then grep -avE "${expected%|}"; else cat; fi; } | grep -a .; then
        return 1
    fi
    return 0
}

# Waits, bounded (10 s), until COMMAND succeeds: an event, never a fixed sleep. The last try
# runs in the open, so that a check built on it shows what COMMAND said.
wait_for() {
    local i
    for ((i = 0; i < 200; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    "$@"
}

# HTTP status of a HEAD/GET via curl; extra args passed through.
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }

# ------------------------------------------------------ LMDB reader slots ----

# Pids holding a reader slot in lock.mdb of the LMDB environment in DIR, one a line, sorted
# (a pid twice if it holds two). mdb_stat takes no slot of its own to list them. Fails,
# saying why on stderr, when the table could not be read.
lmdb_reader_pids() {
    local out
    # mdb_stat -r (LMDB 0.9.24) exits 1 even when it lists the table: its output tells.
    out=$(mdb_stat -r "$1" 2>&1) || true
    [[ $out == "Reader Table Status"* ]] || { echo "mdb_stat -r $1: $out" >&2; return 1; }
    awk '$1 ~ /^[0-9]+$/ { print $1 }' <<<"$out" | sort -n
}

# Pids of dead processes whose reader slot is still in DIR's lock.mdb. A process that exits
# normally clears its slot on its way out, so one listed while it was exiting is listed no
# more once it is dead: only a slot still listed after its process was seen dead is stale.
# Prints "unreadable" when the table could not be read, so that no caller mistakes that for
# an empty list.
lmdb_stale_reader_pids() {
    local pid pids dead=()
    pids=$(lmdb_reader_pids "$1") || { echo unreadable; return 1; }
    for pid in $pids; do
        alive "$pid" || dead+=("$pid")
    done
    ((${#dead[@]} > 0)) || return 0
    pids=$(lmdb_reader_pids "$1") || { echo unreadable; return 1; }
    grep -Fx -f <(printf '%s\n' "${dead[@]}") <<<"$pids" || true
}

# ------------------------------------------------- podman and containerd ----

# podman with a root, run root and registries.conf of the test's own (vfs storage, no
# cgroups manager, no events), the edge (EDGE) as an insecure registry: podman_ ARGS...
e2e_podman_init() {
    mkdir -p "$T/podman"
    printf '[registries.insecure]\nregistries = ["%s"]\n' "$EDGE" >"$T/podman/registries.conf"
}
# PODMAN_DRIVER picks another storage driver (overlay, for partial pulls: their options
# then come from CONTAINERS_STORAGE_CONF).
podman_() {
    CONTAINERS_REGISTRIES_CONF=$T/podman/registries.conf timeout 120 podman \
        --root "$T/podman/root" --runroot "$T/podman/run" --storage-driver "${PODMAN_DRIVER:-vfs}" \
        --cgroup-manager cgroupfs --events-backend none "$@"
}

# A containerd of the test's own (root, state and socket under $T/ctr, CRI off), stopped
# with the helpers; sets CONTAINERD. ctr_ ARGS... talks to it.
e2e_containerd_start() {
    mkdir -p "$T/ctr"
    cat >"$T/ctr/config.toml" <<CONF
version = 2
root = "$T/ctr/root"
state = "$T/ctr/state"
[grpc]
  address = "$T/ctr/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable = true
CONF
    containerd --config "$T/ctr/config.toml" >"$T/logs/containerd.log" 2>&1 &
    CONTAINERD=$!
    E2E_HELPERS+=("$CONTAINERD")
    wait_for test -S "$T/ctr/containerd.sock"
}
ctr_() { timeout 120 ctr -a "$T/ctr/containerd.sock" "$@"; }

# A Docker daemon of the test's own (data and exec roots, pid file and socket under $T, vfs
# storage, no networking of its own) with the settings of the daemon.json CONFIG, stopped by
# e2e_dockerd_stop (or the helpers' cleanup); sets DOCKERD_PID. docker_ ARGS... talks to it.
DOCKER=/usr/bin/docker DOCKERD=/usr/sbin/dockerd
e2e_has_dockerd() { [[ -x $DOCKERD && -x $DOCKER ]]; }
e2e_dockerd_start() {  # CONFIG
    mkdir -p "$T/docker" "$T/docker-exec" "$T/docker-cli"
    # The daemon's key in its data root: dockerd 20.10 writes it to /etc/docker otherwise.
    jq --arg k "$T/docker/key.json" '. + {"deprecated-key-path": $k}' "$1" >"$T/dockerd.json"
    # dockerd 20.10 makes /run/docker/plugins whatever it is told: removed after, if it was not there.
    [[ -e /run/docker ]] && _RUN_DOCKER_WAS_THERE=1 || _RUN_DOCKER_WAS_THERE=0
    "$DOCKERD" --data-root "$T/docker" --exec-root "$T/docker-exec" -p "$T/dockerd.pid" \
        -H "unix://$T/docker.sock" --storage-driver vfs --iptables=false --ip-masq=false \
        --bridge=none --config-file "$T/dockerd.json" >"$T/logs/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    E2E_HELPERS+=("$DOCKERD_PID")
    wait_for docker_ version >/dev/null 2>&1 || true
}
e2e_dockerd_stop() {
    kill -TERM "$DOCKERD_PID"
    wait "$DOCKERD_PID" 2>/dev/null || true
    ((_RUN_DOCKER_WAS_THERE)) || rmdir /run/docker/plugins /run/docker 2>/dev/null || true
}
docker_() { DOCKER_CONFIG=$T/docker-cli timeout 120 "$DOCKER" -H "unix://$T/docker.sock" "$@"; }

# A real client's pull of IMAGE (host/name:tag), the digest it then holds for it (docker: its
# RepoDigests), and forgetting it (true once the client holds nothing of it): CLIENT_pull_image,
# CLIENT_image_digest, CLIENT_forget_image, for ctr, podman and docker. Their output goes to
# $T/logs/CLIENT.log.
ctr_pull_image() { ctr_ images pull --plain-http --snapshotter native "$1" >>"$T/logs/ctr.log" 2>&1; }
ctr_image_digest() { ctr_ images ls 2>/dev/null | awk -v i="$1" '$1 == i { print $3 }'; }
ctr_forget_image() {
    ctr_ images rm --sync "$1" >/dev/null 2>&1 || true
    ctr_ content ls -q 2>/dev/null | xargs -r timeout 60 ctr -a "$T/ctr/containerd.sock" content rm >/dev/null 2>&1 || true
    [[ $(ctr_ content ls -q 2>/dev/null | wc -l) == 0 ]]
}
podman_pull_image() {
    podman_ pull --quiet --tls-verify=false --signature-policy "$T/skopeo/policy.json" "$1" >>"$T/logs/podman.log" 2>&1
}
podman_image_digest() { podman_ images --digests --format '{{.Digest}}' "$1" 2>/dev/null; }
podman_forget_image() { podman_ rmi --all --force >/dev/null 2>&1 || true; [[ -z $(podman_image_digest "$1") ]]; }
docker_pull_image() { docker_ pull "$1" >>"$T/logs/docker.log" 2>&1; }
docker_image_digest() { docker_ image inspect -f '{{join .RepoDigests " "}}' "$1" 2>/dev/null; }
docker_forget_image() { docker_ rmi -f "$1" >/dev/null 2>&1 || true; ! docker_image_digest "$1" >/dev/null; }
