#!/usr/bin/env bash
# Pull demo/hello:1.0 through the edge with skopeo and prove that what came
# out is byte-for-byte the image that was pushed, and that it came via the
# edge (its access log), by tag and by digest.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

REPO=demo/hello
TAG=1.0
ACCEPT_OCI='Accept: application/vnd.oci.image.manifest.v1+json'

e2e_init
e2e_registry
e2e_build_image hello "$TAG" "$T/src"
e2e_edge_start
diag "edge on $EDGE ($([[ ${E2E_PLAIN_PROXY:-0} == 1 ]] && echo plain proxy || echo "module $MODULE_SO")), registry on $REGISTRY"

SRC_DIGEST=$(layout_manifest_digest "$T/src" "$TAG")
mapfile -t SRC_BLOBS < <(layout_image_digests "$T/src" "$SRC_DIGEST")
SRC_LAYERS=$(printf '%s\n' "${SRC_BLOBS[@]:1}")

# --- preconditions: the registry really holds the reference image -------
registry_has_image() {
    local h
    h=$(curl -sfI --max-time 10 -H "$ACCEPT_OCI" "http://$REGISTRY/v2/$REPO/manifests/$TAG") || return 1
    echo "$h"
    grep -qi "^docker-content-digest: $SRC_DIGEST" <<<"$h"
}
check "registry holds $REPO:$TAG with the reference digest (direct HEAD)" registry_has_image

# --- inspect through the edge -------------------------------------------
check "skopeo inspect via edge" \
    skopeo_ inspect --tls-verify=false --no-creds "docker://$EDGE/$REPO:$TAG"
INSPECT_JSON=$(sed 1d "$LAST_SKOPEO_LOG")
is "$(jq -r .Digest <<<"$INSPECT_JSON" 2>/dev/null || true)" "$SRC_DIGEST" \
    "inspect via edge: manifest digest is the pushed one"
is "$(jq -r '.Layers[]' <<<"$INSPECT_JSON" 2>/dev/null || true)" "$SRC_LAYERS" \
    "inspect via edge: layer digests are the pushed ones"

raw_manifest_matches() {
    skopeo_ inspect --raw --tls-verify=false --no-creds "docker://$EDGE/$REPO:$TAG" || return 1
    sed 1d "$LAST_SKOPEO_LOG" >"$T/raw-manifest.json"
    cmp "$T/raw-manifest.json" "$(layout_blob "$T/src" "$SRC_DIGEST")"
}
check "inspect --raw via edge returns the pushed manifest bytes" raw_manifest_matches

# --- pull by tag --------------------------------------------------------
check "skopeo copy $REPO:$TAG via edge to an OCI layout" \
    skopeo_ copy --src-tls-verify=false --src-no-creds \
    "docker://$EDGE/$REPO:$TAG" "oci:$T/out:$TAG"
OUT_DIGEST=$(layout_manifest_digest "$T/out" "$TAG" 2>/dev/null || true)
is "$OUT_DIGEST" "$SRC_DIGEST" "pulled manifest digest equals the pushed one"
check "every blob in the pulled layout hashes to its name" layout_verify_blobs "$T/out"
is "$(layout_image_digests "$T/out" "$OUT_DIGEST" 2>/dev/null || true)" \
    "$(printf '%s\n' "${SRC_BLOBS[@]}")" "pulled config and layer digests equal the pushed ones"
is "$(layout_blob_list "$T/out" 2>/dev/null | tr '\n' ' ')" "$(layout_blob_list "$T/src" | tr '\n' ' ')" \
    "pulled layout holds exactly the pushed blobs"

# --- it went through the edge -------------------------------------------
check "edge access log: GET manifest by tag" \
    edge_log_has GET "/v2/$REPO/manifests/$TAG" 200
for d in "${SRC_BLOBS[@]}"; do
    check "edge access log: GET blob ${d:0:19}" edge_log_has GET "/v2/$REPO/blobs/$d" 200
done

# The big layer fetched with curl through the edge: size and digest.
BIG=$(jq -r '.layers | max_by(.size) | .digest' "$(layout_blob "$T/src" "$SRC_DIGEST")")
big_layer_via_curl() {
    curl -sf --max-time 30 -D "$T/big.headers" -o "$T/big.blob" "http://$EDGE/v2/$REPO/blobs/$BIG" || return 1
    cat "$T/big.headers"
    [[ "sha256:$(sha256sum "$T/big.blob" | cut -d' ' -f1)" == "$BIG" ]] &&
        cmp "$T/big.blob" "$(layout_blob "$T/src" "$BIG")"
}
check "curl GET of the largest layer via edge: bytes match the digest" big_layer_via_curl

# --- pull by digest -----------------------------------------------------
check "skopeo copy $REPO@digest via edge" \
    skopeo_ copy --src-tls-verify=false --src-no-creds \
    "docker://$EDGE/$REPO@$SRC_DIGEST" "oci:$T/bydigest:bydigest"
is "$(layout_manifest_digest "$T/bydigest" bydigest 2>/dev/null || true)" "$SRC_DIGEST" \
    "by-digest pull: manifest digest equals the pushed one"
check "by-digest pull: every blob hashes to its name" layout_verify_blobs "$T/bydigest"
check "edge access log: GET manifest by digest" \
    edge_log_has GET "/v2/$REPO/manifests/$SRC_DIGEST" 200

# --- every body relayed was verified -----------------------------------
if [[ ${E2E_PLAIN_PROXY:-0} != 1 ]]; then
    SRC_BYTES=$(for d in "${SRC_BLOBS[@]}"; do stat -c %s "$(layout_blob "$T/src" "$d")"; done |
        awk '{ n += $1 } END { print n }')
    is "$(edge_metric 'nginx_registry_cache_digest_mismatches_total{cache="edge"}')" 0 "no digest mismatch"
    verified=$(edge_metric 'nginx_registry_cache_verified_bytes_total{cache="edge"}')
    check "verified bytes ($verified) cover every blob of the image ($SRC_BYTES)" \
        test "${verified:-0}" -ge "$SRC_BYTES"
fi

check "edge error log has no [alert]/[crit]/[emerg]" edge_error_log_clean
done_testing
