#!/usr/bin/env bash
# An edge as edges are deployed, with TLS (`listen ... ssl http2`, a certificate of an authority
# of the test's own, scripts/tls-cert.sh) and the example's proxy settings: skopeo and podman
# push through it and pull through it, trusting that authority and nothing else (HTTP/1.1: their
# Go transports do not offer HTTP/2 with a certificate directory of their own), and curl pulls
# the manifest and a layer over HTTP/2, answered from the cache. A push works only because the
# registry's upload URLs say https: X-Forwarded-Proto carries the edge's scheme.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
command -v podman >/dev/null || skip_all "podman missing (scripts/install-deps.sh installs it)"
e2e_registry
e2e_build_image tls 5.0 "$T/src"
"$(dirname "$0")/../../scripts/tls-cert.sh" "$T/tls"
TLS_PORT=$(free_port)
TLS_EDGE=127.0.0.1:$TLS_PORT
STORE_EDGE_SERVER="    listen $TLS_EDGE ssl http2;
    ssl_certificate $T/tls/edge.crt;
    ssl_certificate_key $T/tls/edge.key;
    client_max_body_size 0;"
STORE_EDGE_UPSTREAM="      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-Proto \$scheme;
      proxy_request_buffering off;"
e2e_store_edge_start "zone=edge:1m max_size=64m blobs_max_size=1g" "$REGISTRY"
diag "edge on https://$TLS_EDGE (and http://$EDGE), registry on $REGISTRY"
stamp=$(date +%s)-$$
DIGEST=$(layout_manifest_digest "$T/src" 5.0)

check "skopeo pushes through the TLS edge, trusting only the test's authority" \
    skopeo_ copy --dest-cert-dir "$T/tls/ca" "oci:$T/src:5.0" "docker://$TLS_EDGE/e2e/tls-skopeo-$stamp:5.0"
check "and pulls it back through it" \
    skopeo_ copy --src-cert-dir "$T/tls/ca" "docker://$TLS_EDGE/e2e/tls-skopeo-$stamp:5.0" "oci:$T/back:5.0"
check "every byte checked against its digest" layout_verify_blobs "$T/back"
is "$(layout_manifest_digest "$T/back" 5.0)" "$DIGEST" "the manifest pushed"
if skopeo_ inspect --raw "docker://$TLS_EDGE/e2e/tls-skopeo-$stamp:5.0"; then untrusted=answered; else untrusted=refused; fi
is "$untrusted" refused "a client that does not trust the authority is refused"
check "by TLS (an unknown authority)" grep -q 'certificate signed by unknown authority' "$LAST_SKOPEO_LOG"

e2e_podman_init
IMAGE=$TLS_EDGE/e2e/tls-skopeo-$stamp:5.0
check "podman pulls through the TLS edge" \
    podman_ pull --quiet --cert-dir "$T/tls/ca" --signature-policy "$T/skopeo/policy.json" "$IMAGE"
is "$(podman_ images --digests --format '{{.Digest}}' "$IMAGE" 2>/dev/null)" "$DIGEST" \
    "podman holds the manifest digest pushed"
check "podman pushes it through the TLS edge to another repository" \
    podman_ push --quiet --cert-dir "$T/tls/ca" --signature-policy "$T/skopeo/policy.json" \
    "$IMAGE" "$TLS_EDGE/e2e/tls-podman-$stamp:5.0"
check "which skopeo pulls back through it" \
    skopeo_ copy --src-cert-dir "$T/tls/ca" "docker://$TLS_EDGE/e2e/tls-podman-$stamp:5.0" "oci:$T/podman-back:5.0"
check "every byte checked against its digest" layout_verify_blobs "$T/podman-back"

# HTTP/2, as curl speaks it: the manifest and the largest layer, from the cache.
layer=$(layout_largest_layer "$T/src" 5.0)
h2() { curl -s --http2 --cacert "$T/tls/ca/ca.crt" -o "$T/h2-body" -w '%{http_version} %{http_code} %header{x-cache-status}' "$@"; }
is "$(h2 -H 'Accept: application/vnd.oci.image.manifest.v1+json' "https://$TLS_EDGE/v2/e2e/tls-skopeo-$stamp/manifests/$DIGEST")" \
    "2 200 HIT" "curl gets the manifest over HTTP/2 from the cache"
is "sha256:$(sha256sum <"$T/h2-body" | cut -d' ' -f1)" "$DIGEST" "its bytes"
is "$(h2 "https://$TLS_EDGE/v2/e2e/tls-skopeo-$stamp/blobs/$layer")" "2 200 HIT" \
    "and the largest layer over HTTP/2 from the store's disk"
is "sha256:$(sha256sum <"$T/h2-body" | cut -d' ' -f1)" "$layer" "its bytes"
like "$(grep -c 'HTTP/2.0" 200' "$EDGE_DIR/access.log")" '^[1-9]' "the edge's log has the HTTP/2 requests"
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
