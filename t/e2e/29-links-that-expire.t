#!/usr/bin/env bash
# registry_cache_link_ttl with a real client: skopeo pulls two images through an edge that
# keeps blob bodies and whose links expire after two seconds. Past that, a repeated pull of
# the image still in the registry is answered by the edge after one HEAD per object (the
# registry is asked for no manifest or blob GET: nothing is fetched again, every byte still
# checked), and a pull of the image deleted in the registry behind the edge's back fails as it
# does at the registry, although the edge still holds every byte of it.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_registry
e2e_build_image expiring 4.0 "$T/src"
stamp=$(date +%s)-$$
KEPT=e2e/links-kept-$stamp
GONE=e2e/links-gone-$stamp
for repo in "$KEPT" "$GONE"; do
    check "skopeo pushes $repo:4.0 straight to the registry" \
        skopeo_ copy --dest-tls-verify=false "oci:$T/src:4.0" "docker://$REGISTRY/$repo:4.0"
done
DIGEST=$(layout_manifest_digest "$T/src" 4.0)

# What the edge asks the registry, one line per request (its own HEADs, subrequests, too): the
# path and the length of the body the registry sent for it. ($request_method would say the
# client's method for a subrequest too.)
STORE_EDGE_HTTP="  log_format asked '\$uri \$upstream_response_length';"
STORE_EDGE_LOCATION="      registry_cache_link_ttl 2s;
      registry_cache_tag_ttl 1h;"
STORE_EDGE_UPSTREAM="      access_log $T/edge-asked.log asked;
      log_subrequest on;"
mkdir -p "$T/edge"
e2e_store_edge_start "zone=edge:1m max_size=64m blobs_max_size=1g" "$REGISTRY"
diag "edge on $EDGE, registry on $REGISTRY"

pull() {  # REPO DIR
    skopeo_ copy --src-tls-verify=false "docker://$EDGE/$1:4.0" "oci:$2:4.0"
}
for repo in "$KEPT" "$GONE"; do
    check "a first pull of $repo through the edge" pull "$repo" "$T/first-${repo##*/}"
done
check "which the edge keeps: its bodies on disk" test "$(edge_metric 'nginx_registry_cache_blob_bodies_stored_total{cache="edge"}')" -ge 2

check "the registry deletes $GONE's manifest" \
    curl -sf -X DELETE -o /dev/null "http://$REGISTRY/v2/$GONE/manifests/$DIGEST"
# The links' two seconds run out (the edge counts whole seconds).
sleep 3
: >"$T/edge-asked.log"

check "past the TTL, a pull of $KEPT through the edge" pull "$KEPT" "$T/again"
check "brings the image's bytes, each checked against its digest" layout_verify_blobs "$T/again"
asked=$(grep -E '^/v2/.+/(manifests|blobs)/' "$T/edge-asked.log" || true)
like "$asked" '/blobs/' "past the TTL the edge asks the registry about what it holds"
fetched=$(awk '$1 ~ /\/(manifests|blobs)\// && $2 != 0' "$T/edge-asked.log")
is "$fetched" "" "but fetches none of it: no manifest or blob body comes from the registry"
like "$(edge_metric 'nginx_registry_cache_lookups_total{cache="edge",kind="blob_body",result="revalidated"}')" '^[1-9]' \
    "its blob bodies counted as revalidated"

if pull "$GONE" "$T/gone"; then gone=pulled; else gone=refused; fi
is "$gone" refused "a pull of $GONE, deleted in the registry, fails through the edge as at the registry"
check "the registry's own word for it (MANIFEST_UNKNOWN)" grep -q 'manifest unknown' "$LAST_SKOPEO_LOG"
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
