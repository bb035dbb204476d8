#!/usr/bin/env bash
# Two edges in front of one registry, each one of its notifications.endpoints: a pull through
# each teaches both the image; a delete upstream (the manifest, its tag, a layer) reaches both
# by the registry's own events, and both then answer 404 as the registry does, where before
# they answered from what they held.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
SECRET=edge-notify-$RANDOM$RANDOM
printf '%s\n' "$SECRET" >"$T/secret"

# --- two edges, their ports known before the registry that notifies them starts -------
edge_at() {  # NAME PORT: an edge on PORT in $T/NAME, in front of $REGISTRY
    local dir=$T/$1 port=$2
    mkdir -p "$dir"
    { EDGE_DIR=$dir edge_conf_head "$dir/cache zone=edge:1m max_size=64m"; cat; } >"$dir/nginx.conf" <<CONF
  server {
    listen 127.0.0.1:$port;
    add_header X-Cache-Status \$registry_cache_status always;
    location /v2/ {
      registry_cache edge;
      registry_cache_pass @registry;
      registry_cache_tag_ttl 1h;
    }
    location = /_notifications {
      registry_cache edge;
      registry_cache_notifications secret=$T/secret;
    }
    location @registry {
      proxy_pass http://$REGISTRY;
    }
  }
}
CONF
}
PORT_1=$(free_port)
PORT_2=$(free_port)
while [[ $PORT_2 == "$PORT_1" ]]; do PORT_2=$(free_port); done
OWN=$T/registry
REGISTRY_PORT=$(REGISTRY_NOTIFY="http://127.0.0.1:$PORT_1/_notifications $SECRET http://127.0.0.1:$PORT_2/_notifications $SECRET" \
    "$FIXTURES/registry.sh" start "$OWN")
trap 'rc=$?; set +e; "$FIXTURES/registry.sh" stop "$OWN"; (exit $rc); _e2e_cleanup' EXIT
REGISTRY=127.0.0.1:$REGISTRY_PORT
e2e_build_image hello 1.0 "$T/src"
check "the registry holds demo/gone:1.0" \
    skopeo_ copy --dest-tls-verify=false "oci:$T/src:1.0" "docker://$REGISTRY/demo/gone:1.0"
DIGEST=$(layout_manifest_digest "$T/src" 1.0)
LAYER=$(layout_largest_layer "$T/src" 1.0)
for n in 1 2; do
    port_var=PORT_$n
    edge_at "edge-$n" "${!port_var}"
    check "edge $n starts" "$NGINX_BIN" -p "$T/edge-$n/" -c "$T/edge-$n/nginx.conf" -e "$T/edge-$n/error.log"
done
stop_edges() { for n in 1 2; do [[ -s $T/edge-$n/nginx.pid ]] && kill -QUIT "$(<"$T/edge-$n/nginx.pid")" 2>/dev/null; done; }
trap 'rc=$?; set +e; stop_edges; "$FIXTURES/registry.sh" stop "$OWN"; (exit $rc); _e2e_cleanup' EXIT

accept='Accept: application/vnd.oci.image.manifest.v1+json'
status_of() {  # EDGE-PORT GET|HEAD PATH: "code cache-status"
    local how=()
    [[ $2 == HEAD ]] && how=(-I)
    curl -s -o /dev/null "${how[@]}" -H "$accept" -w '%{http_code} %header{x-cache-status}' "http://127.0.0.1:$1$3" || true
}
# Each edge learns the tag, the manifest and the layer, then answers them itself.
for n in 1 2; do
    port_var=PORT_$n
    p=${!port_var}
    for path in /v2/demo/gone/manifests/1.0 "/v2/demo/gone/manifests/$DIGEST"; do status_of "$p" GET "$path" >/dev/null; done
    status_of "$p" HEAD "/v2/demo/gone/blobs/$LAYER" >/dev/null
    learned() { test "$(status_of "$1" GET "/v2/demo/gone/manifests/$DIGEST")" = "200 HIT" &&
                test "$(status_of "$1" HEAD "/v2/demo/gone/blobs/$LAYER")" = "200 HIT" &&
                test "$(status_of "$1" GET /v2/demo/gone/manifests/1.0)" = "200 HIT"; }
    check "edge $n answers the tag, the manifest and the layer itself" wait_for learned "$p"
done

# --- the delete upstream, straight to the registry -----------------------------------
check "the registry deletes the manifest" \
    test "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$REGISTRY/v2/demo/gone/manifests/$DIGEST")" = 202
check "and the layer" \
    test "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$REGISTRY/v2/demo/gone/blobs/$LAYER")" = 202
for n in 1 2; do
    port_var=PORT_$n
    p=${!port_var}
    gone() { test "$(status_of "$1" GET "/v2/demo/gone/manifests/$DIGEST")" = "404 MISS" &&
             test "$(status_of "$1" HEAD "/v2/demo/gone/blobs/$LAYER")" = "404 MISS" &&
             test "$(status_of "$1" GET /v2/demo/gone/manifests/1.0)" = "404 MISS"; }
    check "edge $n answers 404 for the manifest, the layer and the tag, as the registry" wait_for gone "$p"
    check "edge $n applied the registry's events" \
        grep -aq "notifications: .* events applied" "$T/edge-$n/error.log"
    check "edge $n error log has no [alert], [crit] or [emerg]" bash -c "! grep -aE '\[(alert|crit|emerg)\]' '$T/edge-$n/error.log'"
done
done_testing
