#!/usr/bin/env bash
# What a push through the edge teaches, and an operator's purge of it, with a real client:
# skopeo pushes an image through an edge that keeps blob bodies; the manifest it pushed is then
# answered by the edge (learned from the bytes that passed, the registry's 201 naming their
# digest), before any pull, and so are HEADs of its blobs (whose size the edge, keeping no
# body of them, learned from one HEAD of its own to the registry after each upload). A purge of the repository forgets it all, counted; the next pull
# asks the registry again and gets the same bytes.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_registry
e2e_build_image pushed 3.0 "$T/src"
REPO=e2e/pushes-$(date +%s)-$$
STORE_EDGE_SERVER="    client_max_body_size 0;
    location /purge/ {
      registry_cache edge;
      registry_cache_purge;
    }"
STORE_EDGE_LOCATION="      registry_cache_tag_ttl 1h;"
STORE_EDGE_UPSTREAM="      proxy_set_header Host \$http_host;"
e2e_store_edge_start "zone=edge:1m max_size=64m blobs_max_size=1g" "$REGISTRY"
diag "edge on $EDGE, registry on $REGISTRY, pushing $REPO:3.0"
DIGEST=$(layout_manifest_digest "$T/src" 3.0)
accept='Accept: application/vnd.oci.image.manifest.v1+json'
manifest_status() { curl -s -o "$T/manifest" -H "$accept" -w '%{http_code} %header{x-cache-status}' "http://$EDGE/v2/$REPO/manifests/$DIGEST"; }

check "skopeo pushes $REPO:3.0 through the edge" \
    skopeo_ copy --dest-tls-verify=false "oci:$T/src:3.0" "docker://$EDGE/$REPO:3.0"
pushed_manifest_held() { test "$(manifest_status)" = "200 HIT"; }
check "the pushed manifest is answered by the edge before any pull" wait_for pushed_manifest_held
check "with the bytes pushed" cmp -s "$T/manifest" "$(layout_blob "$T/src" "$DIGEST")"
blob_status() { curl -s -o /dev/null -I -w '%{http_code} %header{x-cache-status} %header{content-length}' "http://$EDGE/v2/$REPO/blobs/$1"; }
for blob in $(jq -r '.config.digest, .layers[].digest' "$(layout_blob "$T/src" "$DIGEST")"); do
    size=$(stat -c %s "$(layout_blob "$T/src" "$blob")")
    blob_held() { test "$(blob_status "$blob")" = "200 HIT $size"; }
    check "a HEAD of the pushed blob $blob is answered by the edge, of its size" wait_for blob_held
done

purge=$(curl -s -X DELETE -w ' %{http_code}' "http://$EDGE/purge/$REPO")
like "$purge" '^\{"purged":\{"blob_links":[0-9]+,"manifest_links":1,.* 200$' "a purge of the repository forgets its manifest"
is "$(manifest_status)" "200 MISS" "then the registry is asked again"
check "and gives the same bytes" cmp -s "$T/manifest" "$(layout_blob "$T/src" "$DIGEST")"
is "$(manifest_status)" "200 HIT" "which the edge learns anew"
is "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "http://$EDGE/purge/Bad/Name")" 400 "an invalid name is the registry's 400"
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
