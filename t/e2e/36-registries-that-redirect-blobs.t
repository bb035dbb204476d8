#!/usr/bin/env bash
# A registry that answers blob GETs and HEADs with a redirect to its storage (307, as Docker
# Hub, registries on S3 or GCS and those behind a CDN do; here distribution's redirect
# middleware, and an nginx serving its storage directory for the storage). The edge follows
# the redirect itself, as README "Registries that redirect blobs" configures it (error_page to
# a location that fetches the Location): clients get the blob, never the redirect; its body
# is verified against the digest the client asked for and kept, so that the next pull
# fetches no blob; past registry_cache_link_ttl the redirect to storage confirms what the edge
# holds (REVALIDATED); and storage that sends other bytes than the digest names is cut and
# nothing of it is kept.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
OWN=$T/own-registry
mkdir -p "$OWN"
trap 'rc=$?; set +e; "$FIXTURES/registry.sh" stop "$OWN" >/dev/null 2>&1
      (exit $rc); _e2e_cleanup' EXIT

# The storage: the registry's data directory, served as files.
e2e_storage_start "$OWN/data"
REGISTRY=127.0.0.1:$(REGISTRY_REDIRECT=http://$STORAGE "$FIXTURES/registry.sh" start "$OWN")
e2e_build_image hello 1.0 "$T/src"
DIGEST=$(layout_manifest_digest "$T/src" 1.0)
check "skopeo pushes e2e/redirected:1.0 to the registry" \
    skopeo_ copy --dest-tls-verify=false "oci:$T/src:1.0" "docker://$REGISTRY/e2e/redirected:1.0"
mapfile -t BLOBS < <(layout_image_digests "$T/src" "$DIGEST")
LAYER=$(layout_largest_layer "$T/src" 1.0)
like "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://$REGISTRY/v2/e2e/redirected/blobs/$LAYER")" \
    "^307 http://$STORAGE/docker/registry/v2/blobs/sha256/${LAYER:7:2}/${LAYER#sha256:}/data\$" \
    "the registry redirects a blob's GET to its storage"

STORE_EDGE_HTTP="  log_format pulls '\$request_method \$uri \$status \$registry_cache_status \$upstream_status';"
STORE_EDGE_SERVER="    access_log $T/pulls.log pulls;
    location @storage {
      access_log $T/pulls.log pulls;
      set \$storage_url \$upstream_http_location;
      proxy_pass \$storage_url;
      proxy_set_header Authorization \"\";
    }"
STORE_EDGE_LOCATION="      registry_cache_link_ttl 3s;
      registry_cache_use_stale error timeout;"
STORE_EDGE_UPSTREAM="      access_log $T/pulls.log pulls;
      proxy_intercept_errors on;
      error_page 301 302 303 307 308 = @storage;"
e2e_store_edge_start "zone=edge:1m max_size=64m blobs_max_size=1g" "$REGISTRY"
diag "edge on $EDGE, registry on $REGISTRY, its storage on $STORAGE"

storage_fetches() { grep -c '/docker/registry/v2/blobs/' "$T/storage/access.log" || true; }
pull() { skopeo_ copy --src-tls-verify=false "docker://$EDGE/e2e/redirected:1.0" "oci:$1:1.0"; }
# What the edge answered to the blob GETs of the pull since line MARK of its log: "status
# cache-status" per request, sorted and counted.
blob_answers() {
    tail -n +$(($1 + 1)) "$T/pulls.log" | awk '$1 == "GET" && $2 ~ /\/blobs\/sha256:/ { print $3, $4 }' |
        sort | uniq -c | awk '{ printf "%s%s %s %s", (NR > 1 ? ", " : ""), $1, $2, $3 }'
}

mark=0
check "skopeo pulls the image through the edge" pull "$T/first"
check "and every blob checks" layout_verify_blobs "$T/first"
is "$(blob_answers "$mark")" "${#BLOBS[@]} 200 MISS" "the client got every blob from the edge (200), none of the redirects"
is "$(storage_fetches)" "${#BLOBS[@]}" "the edge fetched each from the storage once"
kept=0
for blob in "${BLOBS[@]}"; do
    [[ -f $EDGE_DIR/cache/blobs/sha256/${blob:7:2}/${blob#sha256:} ]] && kept=$((kept + 1))
done
is "$kept" "${#BLOBS[@]}" "and kept each body, verified, in its store"

mark=$(wc -l <"$T/pulls.log") before=$(storage_fetches)
check "skopeo pulls it again" pull "$T/second"
check "every blob checks" layout_verify_blobs "$T/second"
is "$(blob_answers "$mark")" "${#BLOBS[@]} 200 HIT" "every blob was the edge's own answer"
is "$(storage_fetches)" "$before" "the storage was asked for nothing"

sleep 3.1  # past registry_cache_link_ttl (a whole second more than it: the edge counts whole seconds)
mark=$(wc -l <"$T/pulls.log") before=$(storage_fetches)
check "skopeo pulls it past the links' TTL" pull "$T/third"
check "every blob checks" layout_verify_blobs "$T/third"
is "$(blob_answers "$mark")" "${#BLOBS[@]} 200 REVALIDATED" \
    "the redirect to storage confirmed each blob the edge holds (no body fetched again)"

# The clients that pull from Docker Hub through such an edge, each its own repository (links
# are a repository's, so each first pull goes to the storage again): every blob came from the
# edge, none as a redirect, and a second pull from nothing asks the storage for no blob.
storage_gets() { grep -c '^GET /docker/registry/v2/blobs/' "$T/storage/access.log" || true; }
CLIENTS=(ctr podman)
e2e_has_dockerd && CLIENTS+=(docker)
for client in "${CLIENTS[@]}"; do
    check "skopeo pushes e2e/redirected-$client:1.0" \
        skopeo_ copy --dest-tls-verify=false "oci:$T/src:1.0" "docker://$REGISTRY/e2e/redirected-$client:1.0"
done
e2e_containerd_start
e2e_podman_init
if [[ ${CLIENTS[*]} == *docker* ]]; then
    printf '{"insecure-registries": ["%s"]}\n' "$EDGE" >"$T/daemon.json"
    e2e_dockerd_start "$T/daemon.json"
fi
# The image CLIENT pulls: a repository of its own.
image() { echo "$EDGE/e2e/redirected-$1:1.0"; }
# What the edge answered CLIENT's blob GETs since line MARK of its log: "N status cache-status".
client_blob_answers() {  # CLIENT MARK
    tail -n +$(($2 + 1)) "$T/pulls.log" |
        awk -v r="/v2/e2e/redirected-$1/blobs/sha256:" '$1 == "GET" && index($2, r) == 1 { print $3, $4 }' |
        sort | uniq -c | awk '{ printf "%s%s %s %s", (NR > 1 ? ", " : ""), $1, $2, $3 }'
}
for client in "${CLIENTS[@]}"; do
    want=$DIGEST
    [[ $client == docker ]] && want=$EDGE/e2e/redirected-docker@$DIGEST
    mark=$(wc -l <"$T/pulls.log") before=$(storage_gets)
    check "$client holds nothing of the image" "${client}_forget_image" "$(image "$client")"
    check "$client pulls the image through the edge" "${client}_pull_image" "$(image "$client")"
    is "$("${client}_image_digest" "$(image "$client")")" "$want" "$client holds the manifest the registry holds"
    like "$(client_blob_answers "$client" "$mark")" '^[0-9]+ 200 MISS$' \
        "$client got every blob from the edge (200), none of the redirects"
    is "$(($(storage_gets) - before))" "$(client_blob_answers "$client" "$mark" | cut -d' ' -f1)" \
        "the edge fetched each from the storage once"
    mark=$(wc -l <"$T/pulls.log") before=$(storage_gets)
    check "$client forgets the image" "${client}_forget_image" "$(image "$client")"
    check "$client pulls it again" "${client}_pull_image" "$(image "$client")"
    is "$("${client}_image_digest" "$(image "$client")")" "$want" "$client holds it again"
    is "$(storage_gets)" "$before" "$client's second pull asked the storage for no blob"
done
[[ ${CLIENTS[*]} == *docker* ]] && e2e_dockerd_stop

# Storage that sends other bytes than the digest names (a damaged object, a lying CDN): the
# client's transfer is cut, nothing is kept.
head -c 4096 /dev/urandom >"$T/lie"
LIE=$(registry_push_blob "$T/lie" e2e/redirected)
head -c 4096 /dev/urandom >"$OWN/data/docker/registry/v2/blobs/sha256/${LIE:7:2}/${LIE#sha256:}/data"
if curl -s -o "$T/lie-body" --max-time 20 "http://$EDGE/v2/e2e/redirected/blobs/$LIE"; then got=whole; else got=cut; fi
is "$got" cut "the client's transfer of the blob storage lies about is cut"
check "the mismatch is logged" grep -aq "digest mismatch in repository \"e2e/redirected\": expected $LIE" "$EDGE_DIR/error.log"
check "nothing of it is kept" test ! -e "$EDGE_DIR/cache/blobs/sha256/${LIE:7:2}/${LIE#sha256:}"
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
