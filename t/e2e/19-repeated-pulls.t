#!/usr/bin/env bash
# A repeated pull asks the upstream nothing about manifests but one HEAD per tag, and within
# registry_cache_tag_ttl not even that; when the upstream is gone, what a pull asks first
# (/v2/, the tag, the manifests, the blobs' HEADs) is answered from the store. Real clients,
# each pulling twice: skopeo and podman (containers/image: GET of the tag), containerd's ctr
# (HEAD of the tag, then GETs by digest), and the Docker daemon's sequence done with curl.
# Two images: demo/hello (an OCI manifest) and demo/multi (an OCI index of two platforms).
#
# The edge keeps blob bodies too (blobs_max_size, written by the verifying threads): a second
# pull fetches no blob upstream, and a whole pull works with the upstream gone.
#
# What reached the upstream is counted at a tap, a plain proxy between the edge and the
# registry, in its access log. The upstream location's own log (log_subrequest on) counts the
# same requests, but not their method: $request_method is the main request's, so the
# revalidation HEAD of a client's GET is logged there as a GET.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
for tool in podman ctr containerd skopeo; do
    command -v "$tool" >/dev/null || skip_all "$tool missing (scripts/install-deps.sh installs it)"
done
e2e_registry
EDGE_DIR=$T/edge
mkdir -p "$EDGE_DIR"
EDGE_PORT=$(free_port)
EDGE=127.0.0.1:$EDGE_PORT
TAP_PORT=$(free_port)
MT_MANIFEST=application/vnd.oci.image.manifest.v1+json
MT_INDEX=application/vnd.oci.image.index.v1+json
# What the Docker daemon accepts.
TYPES="application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, $MT_MANIFEST, $MT_INDEX"
STALE_ON="error timeout http_502 http_503 http_504"

# (Re)starts the edge on EDGE_PORT over the same cache: TTL, the port of its upstream (the
# tap's, or a dead one), use_stale. The tap, on TAP_PORT in the same nginx (one worker: a
# request the tap passed is logged before the edge reads its answer), logs what it passes to
# the registry in upstream.log. The edge logs what it answered itself in edge.log, with its
# $registry_cache_status, and what it passed (with its revalidation subrequests) in pass.log.
edge_restart() {
    local ttl=$1 upstream=$2 stale=$3
    e2e_edge_stop
    { echo "thread_pool verify threads=2;"
      edge_conf_head "$EDGE_DIR/cache zone=edge:1m max_size=64m blobs_max_size=256m"; cat; } >"$EDGE_DIR/nginx.conf" <<CONF
  log_format up '\$request_method \$uri \$status';
  log_format edge '\$request_method \$uri \$status \$registry_cache_status';
  server {
    listen $EDGE;
    client_max_body_size 0;
    access_log $EDGE_DIR/edge.log edge;
    add_header X-Cache-Status \$registry_cache_status always;
    location /v2/ {
      registry_cache edge;
      registry_cache_pass @registry;
      registry_cache_tag_ttl $ttl;
      registry_cache_use_stale $stale;
      registry_cache_verify threads=verify;
    }
    location = /metrics { registry_cache_metrics; }
    location @registry {
      log_subrequest on;
      access_log $EDGE_DIR/pass.log up;
      proxy_pass http://127.0.0.1:$upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
  server {
    listen 127.0.0.1:$TAP_PORT;
    client_max_body_size 0;
    access_log $EDGE_DIR/upstream.log up;
    location / {
      proxy_pass http://127.0.0.1:$REGISTRY_PORT;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }
}
CONF
    "$NGINX_BIN" -p "$EDGE_DIR/" -c "$EDGE_DIR/nginx.conf" -e "$EDGE_DIR/error.log" \
        >"$T/logs/nginx-start.log" 2>&1 || { cat "$T/logs/nginx-start.log" >&2; return 1; }
    _edge_wait_ready
}

# --- counting -------------------------------------------------------------------
declare -A MARK
mark() {
    local log
    for log in upstream pass edge; do
        MARK[$log]=$(wc -l <"$EDGE_DIR/$log.log" 2>/dev/null || echo 0)
    done
}
# The lines of LOG (upstream, pass or edge) since the last mark that name a manifest.
since_mark() { tail -n +$((MARK[$1] + 1)) "$EDGE_DIR/$1.log" 2>/dev/null | grep -a '/manifests/' || true; }
joined() { paste -sd';' -; }
# What the edge asked the upstream about manifests since the mark: "METHOD PATH STATUS;..."
asked() { since_mark upstream | joined; }
# The same, from the upstream location's log, without the method (see the top).
asked_by_location() { since_mark pass | cut -d' ' -f2- | joined; }
# How many blobs the edge fetched upstream since the mark (for the diagnostics).
blob_gets() { tail -n +$((MARK[upstream] + 1)) "$EDGE_DIR/upstream.log" | grep -ac '^GET /v2/[^ ]*/blobs/' || true; }
# How the edge answered the client's requests of the tag NAME:TAG since the mark, itself: their
# $registry_cache_status, once each (a request it passed upstream is not in edge.log, and
# shows at the tap).
tag_answers() {
    local name=${1%:*} tag=${1#*:}
    since_mark edge | awk -v p="/v2/$name/manifests/$tag" '$2 == p { print $4 }' | sort -u | joined
}

# --- what the registry holds ----------------------------------------------------
reg_manifest() { curl -sf --max-time 10 -H "Accept: $TYPES" "http://$REGISTRY/v2/$1/manifests/$2"; }
sha() { echo "sha256:$(sha256sum | cut -d' ' -f1)"; }
HELLO=$(reg_manifest demo/hello 1.0 | sha)
MULTI=$(reg_manifest demo/multi 1.0 | sha)
platform_digest() { reg_manifest demo/multi 1.0 | jq -r --arg a "$1" '.manifests[] | select(.platform.architecture == $a) | .digest'; }
AMD64=$(platform_digest amd64)
ARM64=$(platform_digest arm64)
mapfile -t HELLO_BLOBS < <(reg_manifest demo/hello "$HELLO" | jq -r '.config.digest, .layers[].digest')
registry_digest() { case $1 in demo/hello:1.0) echo "$HELLO" ;; demo/multi:1.0) echo "$MULTI" ;; esac; }

# --- the clients ----------------------------------------------------------------
# Each pull_<client> IMAGE pulls NAME:TAG from the edge and checks what it got against the
# registry's digest, as far as the client shows it.

# skopeo copy --all into a new OCI layout: its index.json names the registry's digest and
# every blob hashes to its name (skopeo checks every digest on the way too).
pull_skopeo() {
    local dir
    dir=$(mktemp -d "$T/skopeo.XXXXXX")
    skopeo_ copy --all --src-tls-verify=false "docker://$EDGE/$1" "oci:$dir:${1#*:}" &&
        [[ $(layout_manifest_digest "$dir" "${1#*:}") == "$(registry_digest "$1")" ]] &&
        layout_verify_blobs "$dir" >/dev/null
}

e2e_podman_init
# podman pull (this machine's platform): podman images --digests shows the registry's digest.
pull_podman() {
    podman_ pull --quiet --tls-verify=false --signature-policy "$T/skopeo/policy.json" "$EDGE/$1" >>"$T/logs/podman.log" 2>&1 &&
        [[ $(podman_ images --digests --format '{{.Digest}}' "$EDGE/$1" 2>/dev/null) == "$(registry_digest "$1")" ]]
}

e2e_containerd_start
# ctr images pull, of every platform of an index: ctr images ls shows the registry's digest.
pull_ctr() {
    local all=()
    [[ $1 == demo/multi:* ]] && all=(--all-platforms)
    ctr_ images pull --plain-http --snapshotter native "${all[@]}" "$EDGE/$1" >>"$T/logs/ctr.log" 2>&1 &&
        [[ $(ctr_ images ls 2>/dev/null | awk -v i="$EDGE/$1" '$1 == i { print $3 }') == "$(registry_digest "$1")" ]]
}

# The Docker daemon's pull: /v2/, HEAD of the tag with the four types it accepts, GET by the
# digest named (the registry's), for an index GET of its linux/amd64 manifest, then the
# image's config and layers. Each body must hash to the digest it was asked by.
get_by_digest() {  # NAME DIGEST -> the body in $T/body
    curl -sf -o "$T/body" --max-time 10 -H "Accept: $TYPES" "http://$EDGE/v2/$1/manifests/$2" &&
        [[ $(sha <"$T/body") == "$2" ]]
}
pull_docker() {
    local name=${1%:*} tag=${1#*:} digest platform
    curl -sf -o /dev/null --max-time 10 "http://$EDGE/v2/" || return 1
    digest=$(curl -sf -o /dev/null -I --max-time 10 -w '%header{docker-content-digest}' \
        -H "Accept: $TYPES" "http://$EDGE/v2/$name/manifests/$tag") || return 1
    echo "HEAD of the tag: $digest"
    [[ $digest == "$(registry_digest "$1")" ]] && get_by_digest "$name" "$digest" || return 1
    if jq -e '.manifests' "$T/body" >/dev/null; then
        platform=$(jq -r '.manifests[] | select(.platform.architecture == "amd64") | .digest' "$T/body")
        get_by_digest "$name" "$platform" || return 1
    fi
    # Then its config and layers (a daemon holding none of them yet), each checked.
    local blob
    for blob in $(jq -r '.config.digest, .layers[].digest' "$T/body"); do
        curl -sf -o "$T/blob" --max-time 20 "http://$EDGE/v2/$name/blobs/$blob" &&
            [[ $(sha <"$T/blob") == "$blob" ]] || return 1
    done
}

CLIENTS=(skopeo podman ctr docker)
IMAGES=(demo/hello:1.0 demo/multi:1.0)

# A client's two pulls of an image: sets ASKED1/ASKED2 (the upstream's manifest requests of
# each pull), BLOBS1/BLOBS2 (its blob GETs), BY_LOCATION2 and ANSWERS2 (the edge's answers to
# the client's requests of the tag in the second pull).
pull_twice() {  # CLIENT IMAGE
    ASKED1=- ASKED2=- BLOBS1=- BLOBS2=- BY_LOCATION2=- ANSWERS2=-
    mark
    "pull_$1" "$2" || { echo "first pull failed"; return 1; }
    ASKED1=$(asked) BLOBS1=$(blob_gets)
    mark
    "pull_$1" "$2" || { echo "second pull failed"; return 1; }
    ASKED2=$(asked) BLOBS2=$(blob_gets) BY_LOCATION2=$(asked_by_location) ANSWERS2=$(tag_answers "$2")
}
# What each pull asked, in $T/logs/counts, and as a diagnostic under prove -v.
counts() {
    local line="$1: pull 1 asked [$ASKED1] and $BLOBS1 blob GETs; pull 2 asked [$ASKED2] and $BLOBS2 blob GETs"
    echo "$line" >>"$T/logs/counts"
    [[ ${TEST_VERBOSE:-0} == 1 ]] && diag "$line"
    return 0
}

# --- registry_cache_tag_ttl 0: one HEAD of the tag a pull ------------------------
edge_restart 0 "$TAP_PORT" "$STALE_ON"
diag "edge on $EDGE, tap on 127.0.0.1:$TAP_PORT, registry on $REGISTRY"
for client in "${CLIENTS[@]}"; do
    for image in "${IMAGES[@]}"; do
        name=${image%:*} tag=${image#*:}
        check "ttl 0: $client pulls $image twice, with the registry's digests" pull_twice "$client" "$image"
        counts "ttl 0: $client $image"
        if [[ $client == skopeo ]]; then
            # The cold pull: the tag and every manifest, once each.
            want="GET /v2/$name/manifests/$tag 200"
            [[ $name == demo/multi ]] &&
                want+=";GET /v2/$name/manifests/$AMD64 200;GET /v2/$name/manifests/$ARM64 200"
            is "$(tr ';' '\n' <<<"$ASKED1" | sort | joined)" "$(tr ';' '\n' <<<"$want" | sort | joined)" \
                "ttl 0: the first pull of $image into an empty cache asks the tag and each manifest once"
        fi
        is "$ASKED2" "HEAD /v2/$name/manifests/$tag 200" \
            "ttl 0: $client's second pull of $image asks the upstream one HEAD of the tag, no manifest by digest"
        is "$BLOBS2" 0 "ttl 0: and fetches no blob upstream: the bodies are the edge's"
        is "$BY_LOCATION2" "/v2/$name/manifests/$tag 200" \
            "ttl 0: the upstream location's log (log_subrequest on) has that one request"
        is "$ANSWERS2" REVALIDATED "ttl 0: the edge answered $client's requests of the tag REVALIDATED"
    done
done

# --- registry_cache_tag_ttl 1h: nothing about manifests at all ----------------------
edge_restart 1h "$TAP_PORT" "$STALE_ON"
for client in "${CLIENTS[@]}"; do
    for image in "${IMAGES[@]}"; do
        check "ttl 1h: $client pulls $image twice, with the registry's digests" pull_twice "$client" "$image"
        counts "ttl 1h: $client $image"
        is "$ASKED2" "" "ttl 1h: $client's second pull of $image asks the upstream nothing about manifests"
        is "$ANSWERS2" HIT "ttl 1h: the edge answered $client's requests of the tag HIT"
    done
done

# --- the upstream gone ------------------------------------------------------------
DEAD=$(free_port)  # nothing listens there
edge_restart 0 "$DEAD" "$STALE_ON"
stale_before=$(edge_metric 'nginx_registry_cache_stale_total{cache="edge"}')
# "status X-Cache-Status Docker-Content-Digest" of a request; the body in $T/body.
answer() {
    curl -s -o "$T/body" --max-time 10 \
        -w '%{http_code} %header{x-cache-status} %header{docker-content-digest}' "$@" || true
}
hello_tag=http://$EDGE/v2/demo/hello/manifests/1.0
is "$(answer -H "Accept: $MT_MANIFEST" "$hello_tag")" "200 STALE $HELLO" \
    "upstream gone: GET of demo/hello's tag answers the manifest held, STALE"
is "$(sha <"$T/body")" "$HELLO" "with the registry's bytes"
is "$(answer -I -H "Accept: $MT_MANIFEST" "$hello_tag")" "200 STALE $HELLO" "and so does its HEAD"
is "$(answer -H "Accept: $MT_MANIFEST" "http://$EDGE/v2/demo/hello/manifests/$HELLO")" "200 HIT $HELLO" \
    "GET of demo/hello's manifest by digest: from the store"
is "$(sha <"$T/body")" "$HELLO" "with the registry's bytes"
is "$(answer -I -H "Accept: $MT_MANIFEST" "http://$EDGE/v2/demo/hello/manifests/$HELLO")" "200 HIT $HELLO" \
    "and its HEAD"
got=() want=()
for blob in "${HELLO_BLOBS[@]}"; do
    got+=("$(answer -I "http://$EDGE/v2/demo/hello/blobs/$blob")")
    want+=("200 HIT $blob")
done
is "${got[*]}" "${want[*]}" "HEADs of demo/hello's ${#HELLO_BLOBS[@]} blobs: from the store"
is "$(answer -I -H "Accept: $MT_INDEX" "http://$EDGE/v2/demo/multi/manifests/1.0")" "200 STALE $MULTI" \
    "HEAD of demo/multi's tag: the index held, STALE"
is "$(answer -H "Accept: $MT_MANIFEST" "http://$EDGE/v2/demo/multi/manifests/$ARM64")" "200 HIT $ARM64" \
    "GET of its linux/arm64 manifest by digest: from the store"
is "$(sha <"$T/body")" "$ARM64" "with the registry's bytes"
stale_after=$(edge_metric 'nginx_registry_cache_stale_total{cache="edge"}')
is "$((${stale_after:-0} - ${stale_before:-0}))" 3 \
    "the three STALE answers were counted in nginx_registry_cache_stale_total"
# What a client asks first, and a whole pull: these need the upstream's last answer to /v2/
# replayed, and the whole pull the blobs' bodies too (their GETs are passed upstream: 502).
is "$(answer "http://$EDGE/v2/")" "200 STALE " "upstream gone: /v2/ replays the upstream's last answer, STALE"
# skopeo inspect --raw of IMAGE from the edge prints the manifest of digest DIGEST (its log
# holds the command line, then what skopeo printed).
inspect_raw_is() {
    skopeo_ inspect --raw --tls-verify=false "docker://$EDGE/$1" &&
        [[ $(tail -n +2 "$LAST_SKOPEO_LOG" | sha) == "$2" ]]
}
check "upstream gone: skopeo inspect --raw (/v2/, then the tag) gets demo/multi's index" \
    inspect_raw_is demo/multi:1.0 "$MULTI"
check "upstream gone: skopeo copies demo/hello:1.0 from the edge" \
    skopeo_ copy --src-tls-verify=false "docker://$EDGE/demo/hello:1.0" "oci:$T/stale-copy:1.0"
# Every client pulls both images whole, from nothing it holds: podman and containerd forget
# them first (their layers too), so that every blob comes from the edge's disk.
served_before=$(edge_metric 'nginx_registry_cache_blob_body_bytes_served_total{cache="edge"}')
podman_ rmi --all --force >/dev/null 2>&1 || true
ctr_ images rm "$EDGE/demo/hello:1.0" "$EDGE/demo/multi:1.0" >/dev/null 2>&1 || true
ctr_ content ls -q 2>/dev/null | xargs -r timeout 60 ctr -a "$T/ctr/containerd.sock" content rm >/dev/null 2>&1 || true
is "$(ctr_ content ls -q 2>/dev/null | wc -l)" 0 "(containerd holds no content any more)"
for client in skopeo podman ctr; do
    for image in "${IMAGES[@]}"; do
        check "upstream gone: $client pulls $image whole from the edge, with the registry's digests" \
            "pull_$client" "$image"
    done
done
served_after=$(edge_metric 'nginx_registry_cache_blob_body_bytes_served_total{cache="edge"}')
check "their blobs came from the edge's disk ($((served_after - served_before)) bytes)" \
    test "$((served_after - served_before))" -gt 3000000

# --- registry_cache_use_stale off ------------------------------------------------
edge_restart 0 "$DEAD" off
is "$(answer -H "Accept: $MT_MANIFEST" "$hello_tag" | cut -d' ' -f1)" 502 \
    "registry_cache_use_stale off: GET of the tag fails with the upstream, 502"
check "with OCI error JSON, UNAVAILABLE" jq -e '.errors[0].code == "UNAVAILABLE"' "$T/body"

# Stopped and waited for here, before the cleanup removes its root.
kill "$CONTAINERD"
wait "$CONTAINERD" 2>/dev/null || true
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
