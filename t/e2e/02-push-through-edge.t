#!/usr/bin/env bash
# Push a new image THROUGH the edge (blob upload: POST -> Location ->
# PATCH -> PUT ?digest=, then manifest PUT), then check directly on the
# registry that every blob and the manifest arrived intact.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

TAG=2.0
ACCEPT_OCI='Accept: application/vnd.oci.image.manifest.v1+json'

e2e_init
e2e_registry
# Variant "pushed": its own random and app layers (never on the registry
# before), plus the base layer that demo/* share.
e2e_build_image pushed "$TAG" "$T/src"
e2e_edge_start

# A registry handed in via REGISTRY_PORT may already hold e2e/pushed from an
# earlier run; then the blobs would exist and skopeo would skip the uploads
# this test is about, so push to a fresh repository instead.
REPO=e2e/pushed
if [[ $(http_status -I -H "$ACCEPT_OCI" "http://$REGISTRY/v2/$REPO/manifests/$TAG") == 200 ]]; then
    REPO=e2e/pushed-$(date +%s)-$$
fi
diag "edge on $EDGE, registry on $REGISTRY, pushing $REPO:$TAG"

SRC_DIGEST=$(layout_manifest_digest "$T/src" "$TAG")
SRC_MANIFEST=$(layout_blob "$T/src" "$SRC_DIGEST")
mapfile -t SRC_BLOBS < <(layout_image_digests "$T/src" "$SRC_DIGEST")

# --- the registry builds upload Locations from the Host it sees ---------
upload_location_points_at_edge() {
    local h loc
    h=$(curl -s -D - -o /dev/null --max-time 10 -X POST "http://$EDGE/v2/$REPO/blobs/uploads/") || return 1
    echo "$h"
    grep -q '^HTTP/1.1 202' <<<"$h" || return 1
    loc=$(grep -i '^location:' <<<"$h" | cut -d' ' -f2- | tr -d '\r')
    # Abandon the probe upload (DELETE via the same Location).
    curl -s -o /dev/null --max-time 10 -X DELETE "$loc" || true
    [[ $loc == "http://$EDGE/v2/$REPO/blobs/uploads/"* ]]
}
check "POST upload via edge: 202 with a Location on the edge's host:port" \
    upload_location_points_at_edge

# --- push through the edge ----------------------------------------------
check "skopeo copy to $REPO:$TAG via edge" \
    skopeo_ copy --dest-tls-verify=false --dest-no-creds \
    "oci:$T/src:$TAG" "docker://$EDGE/$REPO:$TAG"

UPLOADS="/v2/$REPO/blobs/uploads/"
check "edge access log: POST start upload (202)" edge_log_has POST "$UPLOADS" 202
check "edge access log: PATCH upload data (202)" edge_log_has PATCH "${UPLOADS}[^ ?]+\\?_state=[^ ]+" 202
check "edge access log: PUT complete upload ?digest= (201)" \
    edge_log_has PUT "${UPLOADS}[^ ?]+\\?[^ ]*digest=sha256[^ ]+" 201
check "edge access log: PUT manifest (201)" edge_log_has PUT "/v2/$REPO/manifests/$TAG" 201

# --- every blob is on the registry, checked directly --------------------
blob_on_registry() {
    local digest=$1 size=$2 h
    h=$(curl -sfI --max-time 10 "http://$REGISTRY/v2/$REPO/blobs/$digest") || return 1
    echo "$h"
    grep -qi "^docker-content-digest: $digest" <<<"$h" &&
        grep -qi "^content-length: $size"$'\r' <<<"$h"
}
while read -r digest size; do
    check "registry HEAD blob ${digest:0:19} (direct): 200, digest, size $size" \
        blob_on_registry "$digest" "$size"
done < <(jq -r '(.config, .layers[]) | "\(.digest) \(.size)"' "$SRC_MANIFEST")

manifest_on_registry() {
    local h
    h=$(curl -sfI --max-time 10 -H "$ACCEPT_OCI" "http://$REGISTRY/v2/$REPO/manifests/$TAG") || return 1
    echo "$h"
    grep -qi "^docker-content-digest: $SRC_DIGEST" <<<"$h"
}
check "registry HEAD manifest $REPO:$TAG (direct): pushed digest" manifest_on_registry

# --- pull it back directly and compare ----------------------------------
check "skopeo copy $REPO:$TAG back directly from the registry" \
    skopeo_ copy --src-tls-verify=false --src-no-creds \
    "docker://$REGISTRY/$REPO:$TAG" "oci:$T/back:$TAG"
BACK_DIGEST=$(layout_manifest_digest "$T/back" "$TAG" 2>/dev/null || true)
is "$BACK_DIGEST" "$SRC_DIGEST" "pulled-back manifest digest equals the pushed one"
check "pulled-back blobs hash to their names" layout_verify_blobs "$T/back"
is "$(layout_image_digests "$T/back" "$BACK_DIGEST" 2>/dev/null || true)" \
    "$(printf '%s\n' "${SRC_BLOBS[@]}")" "pulled-back config and layer digests equal the pushed ones"
is "$(layout_blob_list "$T/back" 2>/dev/null | tr '\n' ' ')" "$(layout_blob_list "$T/src" | tr '\n' ' ')" \
    "pulled-back layout holds exactly the pushed blobs"

check "edge error log has no [alert]/[crit]/[emerg]" edge_error_log_clean
done_testing
