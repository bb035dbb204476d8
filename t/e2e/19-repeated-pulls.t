#!/usr/bin/env bash
# A repeated pull asks the upstream nothing about manifests but one HEAD per tag, and with a
# TTL not even that; when the upstream is gone, what a pull asks first (/v2/, the tag, the
# manifests) is answered from the store. Real clients, each pulling twice: skopeo and podman
# (containers/image: GET of the tag), containerd's ctr (HEAD of the tag, then GETs by
# digest), and the Docker daemon's sequence done with curl. Two images: demo/hello (an OCI
# manifest) and demo/multi (an OCI index of two platforms). What reached the upstream is
# counted in the access log of a plain proxy between the edge and the registry (the edge's
# own log would show a revalidation's HEAD with its client's method), and only manifests are
# counted: blob bodies are not kept yet.
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
TYPES='application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json'

# (Re)starts the edge on EDGE_PORT over the same cache: TTL, the upstream's port (the tap's,
# in front of the registry, or a dead one), use_stale. The tap, on TAP_PORT in the same
# nginx, logs what it passes to the registry.
edge_restart() {
    local ttl=$1 upstream=$2 stale=$3
    e2e_edge_stop
    { edge_conf_head "$EDGE_DIR/cache zone=edge:1m max_size=64m"; cat; } >"$EDGE_DIR/nginx.conf" <<CONF
  log_format up '\$request_method \$uri \$status';
  add_header X-Cache-Status \$registry_cache_status always;
  server {
    listen $EDGE;
    client_max_body_size 0;
    location /v2/ {
      registry_cache edge;
      registry_cache_pass @registry;
      registry_cache_tag_ttl $ttl;
      registry_cache_use_stale $stale;
    }
    location = /metrics { registry_cache_metrics; }
    location @registry {
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

# What the edge asked the upstream about manifests since the last mark, one "METHOD PATH
# STATUS" a line.
mark() { MARK=$(wc -l <"$EDGE_DIR/upstream.log" 2>/dev/null || echo 0); }
asked_since_mark() { tail -n +$((MARK + 1)) "$EDGE_DIR/upstream.log" | grep -a '/manifests/' || true; }

# --- the clients ----------------------------------------------------------
n=0
pull_skopeo() {
    n=$((n + 1))
    skopeo_ copy --all --src-tls-verify=false "docker://$EDGE/$1" "oci:$T/skopeo-$n:1.0"
}
mkdir -p "$T/podman"
printf '[registries.insecure]\nregistries = ["%s"]\n' "$EDGE" >"$T/podman/registries.conf"
pull_podman() {
    CONTAINERS_REGISTRIES_CONF=$T/podman/registries.conf timeout 120 podman \
        --root "$T/podman/root" --runroot "$T/podman/run" --storage-driver vfs \
        --cgroup-manager cgroupfs --events-backend none \
        pull --quiet --tls-verify=false --signature-policy "$T/skopeo/policy.json" "$EDGE/$1" \
        >>"$T/logs/podman.log" 2>&1
}
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
ctr_() { timeout 120 ctr -a "$T/ctr/containerd.sock" "$@"; }
pull_ctr() { ctr_ images pull --plain-http --snapshotter native "$EDGE/$1" >>"$T/logs/ctr.log" 2>&1; }
# The Docker daemon's pull of a manifest: HEAD of the tag with the four types it accepts, then
# GET by the digest named, then (for an index) GET of the linux/amd64 manifest. Each body
# must hash to the digest it was asked by.
get_by_digest() {  # NAME DIGEST -> the body in $T/body
    curl -sf -o "$T/body" --max-time 10 -H "Accept: $TYPES" "http://$EDGE/v2/$1/manifests/$2" &&
        [[ sha256:$(sha256sum <"$T/body" | cut -d' ' -f1) == "$2" ]]
}
pull_docker_style() {
    local name=${1%:*} tag=${1#*:} digest platform
    digest=$(curl -sfI --max-time 10 -H "Accept: $TYPES" "http://$EDGE/v2/$name/manifests/$tag" |
        tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" { print $2 }')
    [[ -n $digest ]] && get_by_digest "$name" "$digest" || return 1
    if jq -e '.manifests' "$T/body" >/dev/null; then
        platform=$(jq -r '.manifests[] | select(.platform.architecture == "amd64") | .digest' "$T/body")
        get_by_digest "$name" "$platform"
    fi
}

CLIENTS=(skopeo podman ctr docker_style)
IMAGES=(demo/hello:1.0 demo/multi:1.0)

# A client's second pull of an image: what it made the edge ask the upstream about manifests.
second_pull_asked() {  # CLIENT IMAGE
    "pull_$1" "$2" || { echo "pull_$1 $2 failed"; return 0; }
    mark
    "pull_$1" "$2" || { echo "second pull_$1 $2 failed"; return 0; }
    asked_since_mark | tr '\n' ';'
}

# --- registry_cache_tag_ttl 0: one HEAD of the tag a pull --------------------
edge_restart 0 "$TAP_PORT" "error timeout http_429 http_500 http_502 http_503 http_504"
diag "edge on $EDGE, registry on $REGISTRY"
for client in "${CLIENTS[@]}"; do
    for image in "${IMAGES[@]}"; do
        name=${image%:*} tag=${image#*:}
        is "$(second_pull_asked "$client" "$image")" "HEAD /v2/$name/manifests/$tag 200;" \
            "ttl 0: $client's second pull of $image asks the upstream one HEAD of the tag, no manifest by digest"
    done
done

# What the clients hold is the registry's.
hello=$(curl -s -H "Accept: $TYPES" "http://$REGISTRY/v2/demo/hello/manifests/1.0" | sha256sum | cut -d' ' -f1)
multi=$(curl -s -H "Accept: $TYPES" "http://$REGISTRY/v2/demo/multi/manifests/1.0" | sha256sum | cut -d' ' -f1)
is "$(ctr_ images ls 2>/dev/null | awk -v h="$EDGE/demo/hello:1.0" -v m="$EDGE/demo/multi:1.0" \
    '$1 == h || $1 == m { print $3 }' | sort | tr '\n' ' ')" "$(printf 'sha256:%s\n' "$hello" "$multi" | sort | tr '\n' ' ')" \
    "containerd holds the manifest and the index the registry has"
is "$(CONTAINERS_REGISTRIES_CONF=$T/podman/registries.conf podman --root "$T/podman/root" \
    --runroot "$T/podman/run" --storage-driver vfs images --digests --format '{{.Digest}}' \
    "$EDGE/demo/multi:1.0" 2>/dev/null)" "sha256:$multi" "podman holds the index digest the registry has"
check "skopeo's copies hold the registry's bytes" layout_verify_blobs "$T/skopeo-1"

# --- registry_cache_tag_ttl 1h: nothing about manifests at all -----------------
edge_restart 1h "$TAP_PORT" "error timeout http_429 http_500 http_502 http_503 http_504"
for client in "${CLIENTS[@]}"; do
    for image in "${IMAGES[@]}"; do
        is "$(second_pull_asked "$client" "$image")" "" \
            "ttl 1h: $client's second pull of $image asks the upstream nothing about manifests"
    done
done

# --- the upstream gone ----------------------------------------------------------
stale_before=$(edge_metric 'nginx_registry_cache_stale_total{cache="edge"}')
DEAD=$(free_port)
edge_restart 0 "$DEAD" "error timeout http_429 http_500 http_502 http_503 http_504"
status_of() { curl -s -o "$T/body" -D - --max-time 10 "$@" | tr -d '\r' |
    awk 'NR == 1 { s = $2 } tolower($1) == "x-cache-status:" { c = $2 } END { print s, c }'; }
is "$(status_of "http://$EDGE/v2/")" "200 STALE" "/v2/: the upstream's last answer, replayed"
is "$(status_of -H "Accept: $TYPES" "http://$EDGE/v2/demo/hello/manifests/1.0")" "200 STALE" \
    "GET of the tag: the manifest held"
is "sha256:$(sha256sum <"$T/body" | cut -d' ' -f1)" "sha256:$hello" "with the registry's bytes"
is "$(status_of -I -H "Accept: $TYPES" "http://$EDGE/v2/demo/multi/manifests/1.0")" "200 STALE" \
    "HEAD of the index's tag: the index held"
is "$(status_of -H "Accept: $TYPES" "http://$EDGE/v2/demo/multi/manifests/sha256:$multi")" "200 HIT" \
    "GET of the index by digest: from the store"
config=$(curl -s -H "Accept: $TYPES" "http://$REGISTRY/v2/demo/hello/manifests/1.0" | jq -r '.config.digest')
is "$(status_of -I "http://$EDGE/v2/demo/hello/blobs/$config")" "200 HIT" "HEAD of a blob: from the store"
check "skopeo inspect --raw (its ping, then the tag) works with the upstream gone" \
    skopeo_ inspect --raw --tls-verify=false "docker://$EDGE/demo/multi:1.0"
check "the stale answers were counted" \
    test "$(edge_metric 'nginx_registry_cache_stale_total{cache="edge"}')" -gt "${stale_before:-0}"

edge_restart 0 "$DEAD" off
is "$(status_of -H "Accept: $TYPES" "http://$EDGE/v2/demo/hello/manifests/1.0")" "502 MISS" \
    "registry_cache_use_stale off: the tag's request goes upstream and fails"
check "with OCI error JSON" grep -q '"code":"UNAVAILABLE"' "$T/body"
is "$(status_of "http://$EDGE/v2/")" "502 BYPASS" "and so does the ping"

kill "$CONTAINERD"
wait "$CONTAINERD" 2>/dev/null || true
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
