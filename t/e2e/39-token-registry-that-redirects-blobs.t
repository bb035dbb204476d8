#!/usr/bin/env bash
# Docker Hub's shape, as README's mirror-mode example configures it: a registry with token
# authentication that answers blob GETs with a redirect to its storage. The edge fetches its
# own token, sends it with every request to the registry and never to the storage, follows
# the redirects itself (error_page to @storage), verifies and keeps each body: skopeo and ctr
# pull with no credentials of their own, every blob from the edge (none as a redirect), and
# their second pull fetches no blob from the storage and asks the registry only the tag.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_token_realm tokens

# The storage: the registry's data directory served as files, each request logged with the
# Authorization it carried ("-": none).
e2e_storage_start "$T/token-registry/data"

# The token-auth registry, redirecting blobs to the storage; private/hello needs alice's token.
REGISTRY_REDIRECT=http://$STORAGE token_registry_start "$REALM" private/hello
DIGEST=$(layout_manifest_digest "$LAYOUT" 1.0)
mapfile -t BLOBS < <(layout_image_digests "$LAYOUT" "$DIGEST")
LAYER=$(layout_largest_layer "$LAYOUT" 1.0)
like "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v2/private/hello/blobs/$LAYER")" '^401$' \
    "the registry asks for a token"

# The edge, as README's mirror-mode example: its credentials readable by the master only.
echo 'alice:secret' >"$T/edge.cred"
chmod 600 "$T/edge.cred"
STORE_EDGE_HTTP="  log_format pulls '\$request_method \$uri \$status \$registry_cache_status \$upstream_status';
  log_format tap '\$request_method \$uri \$status \"\$http_authorization\"';"
STORE_EDGE_SERVER="    access_log $T/pulls.log pulls;
    location = /_token { internal; subrequest_output_buffer_size 64k;
      proxy_pass http://127.0.0.1:$(<"$T/tokens.port")/token; }
    location @storage {
      access_log $T/pulls.log pulls;
      set \$storage_url \$upstream_http_location;
      proxy_pass \$storage_url;
      proxy_set_header Authorization \"\";
    }"
STORE_EDGE_LOCATION="      registry_cache_upstream_auth on;
      registry_cache_upstream_credentials $T/edge.cred;
      registry_cache_token_pass /_token?service=$SERVICE;"
STORE_EDGE_UPSTREAM="      access_log $T/pulls.log pulls;
      proxy_intercept_errors on;
      error_page 301 302 303 307 308 = @storage;"
# Between the edge and the registry, a tap that logs what each request carried.
TAP_PORT=$(free_port)
STORE_EDGE_SERVERS="  server {
    listen 127.0.0.1:$TAP_PORT;
    access_log $T/tap.log tap;
    location / { proxy_pass http://127.0.0.1:$PORT; }
  }"
e2e_store_edge_start "zone=edge:1m max_size=64m blobs_max_size=1g" "127.0.0.1:$TAP_PORT"
touch "$T/tap.log" "$T/pulls.log"
diag "edge on $EDGE, tap on 127.0.0.1:$TAP_PORT, registry on 127.0.0.1:$PORT, its storage on $STORAGE"

storage_gets() { grep -c '^GET /docker/registry/v2/blobs/' "$T/storage/access.log" || true; }
# What the edge answered to the blob GETs since line MARK of its log: "N status cache-status".
blob_answers() {
    tail -n +$(($1 + 1)) "$T/pulls.log" | awk '$1 == "GET" && $2 ~ /\/blobs\/sha256:/ { print $3, $4 }' |
        sort | uniq -c | awk '{ printf "%s%s %s %s", (NR > 1 ? ", " : ""), $1, $2, $3 }'
}
# What the registry was asked since line MARK of the tap's log (not /v2/): "METHOD PATH STATUS;...".
asked() { tail -n +$(($1 + 1)) "$T/tap.log" | awk '$2 != "/v2/" { print $1, $2, $3 }' | paste -sd';' -; }
pull_skopeo() {  # DIR
    skopeo_ copy --src-tls-verify=false --src-no-creds "docker://$EDGE/private/hello:1.0" "oci:$1:1.0" &&
        [[ $(layout_manifest_digest "$1" 1.0) == "$DIGEST" ]] && layout_verify_blobs "$1" >/dev/null
}

check "skopeo pulls private/hello through the edge, with no credentials of its own" pull_skopeo "$T/first"
is "$(blob_answers 0)" "${#BLOBS[@]} 200 MISS" "it got every blob from the edge (200), none of the redirects"
is "$(storage_gets)" "${#BLOBS[@]}" "the edge fetched each from the storage once"
is "$(grep -vc ' "-"$' "$T/storage/access.log" || true)" 0 "and never sent the storage its token"
is "$(awk '$2 != "/v2/" && $4 != "\"Bearer" { print }' "$T/tap.log")" "" \
    "every request to the registry carried the edge's token"
kept=0
for blob in "${BLOBS[@]}"; do
    [[ -f $EDGE_DIR/cache/blobs/sha256/${blob:7:2}/${blob#sha256:} ]] && kept=$((kept + 1))
done
is "$kept" "${#BLOBS[@]}" "it kept each body, verified, in its store"

mark=$(wc -l <"$T/pulls.log") tmark=$(wc -l <"$T/tap.log") before=$(storage_gets)
check "skopeo pulls it again" pull_skopeo "$T/second"
is "$(blob_answers "$mark")" "${#BLOBS[@]} 200 HIT" "every blob was the edge's own answer"
is "$(storage_gets)" "$before" "the storage was asked for nothing"
is "$(asked "$tmark")" "HEAD /v2/private/hello/manifests/1.0 200" "and the registry only for the tag"

e2e_containerd_start
IMAGE=$EDGE/private/hello:1.0
mark=$(wc -l <"$T/pulls.log") before=$(storage_gets)
check "ctr pulls it from nothing, with no credentials of its own" ctr_pull_image "$IMAGE"
is "$(ctr_image_digest "$IMAGE")" "$DIGEST" "ctr holds the manifest the registry holds"
like "$(blob_answers "$mark")" '^[0-9]+ 200 HIT$' "every blob it asked for was the edge's own answer"
is "$(storage_gets)" "$before" "the storage was asked for nothing"

# Storage that sends other bytes than the digest names: the client's transfer is cut, nothing
# is kept.
head -c 4096 /dev/urandom >"$T/lie"
LIE=sha256:$(sha256sum <"$T/lie" | cut -d' ' -f1)
mkdir -p "$OWN/data/docker/registry/v2/blobs/sha256/${LIE:7:2}/${LIE#sha256:}"
head -c 4096 /dev/urandom >"$OWN/data/docker/registry/v2/blobs/sha256/${LIE:7:2}/${LIE#sha256:}/data"
mkdir -p "$OWN/data/docker/registry/v2/repositories/private/hello/_layers/sha256/${LIE#sha256:}"
echo -n "$LIE" >"$OWN/data/docker/registry/v2/repositories/private/hello/_layers/sha256/${LIE#sha256:}/link"
if curl -s -o /dev/null --max-time 20 "http://$EDGE/v2/private/hello/blobs/$LIE"; then got=whole; else got=cut; fi
is "$got" cut "the client's transfer of a blob the storage lies about is cut"
check "as a mismatch, logged" grep -aq "digest mismatch in repository \"private/hello\": expected $LIE" "$EDGE_DIR/error.log"
check "nothing of it is kept" test ! -e "$EDGE_DIR/cache/blobs/sha256/${LIE:7:2}/${LIE#sha256:}"
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
