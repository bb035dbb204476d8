#!/usr/bin/env bash
# Clients other than skopeo pull through the edge, with verification on: podman (the
# containers/image library, as skopeo and CRI-O, but its own storage) and containerd's ctr
# (which asks HEAD of the tag with four manifest types in Accept, then GETs the index, the
# platform manifest and the blobs). Each gets the image the registry holds, byte for byte;
# every body the edge relayed by digest was verified and none failed; nothing was refused.
# Both run as root with roots, state and sockets of their own in the test's directory.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
command -v podman >/dev/null && command -v ctr >/dev/null && command -v containerd >/dev/null ||
    skip_all "podman or containerd missing (scripts/install-deps.sh installs them)"
e2e_registry_with_hello
e2e_edge_start
diag "edge on $EDGE, registry on $REGISTRY"
DIGEST=$(layout_manifest_digest "$T/src" 1.0)
IMAGE=$EDGE/demo/hello:1.0

# --- podman ---------------------------------------------------------------
e2e_podman_init
check "podman pulls $IMAGE through the edge" \
    podman_ pull --quiet --tls-verify=false --signature-policy "$T/skopeo/policy.json" "$IMAGE"
is "$(podman_ images --digests --format '{{.Digest}}' "$IMAGE" 2>/dev/null)" "$DIGEST" \
    "podman holds the manifest digest the registry has"

# --- containerd -----------------------------------------------------------
e2e_containerd_start
verified() { edge_metric 'nginx_registry_cache_verified_total{cache="edge"}'; }
before_ctr=$(verified)
check "ctr pulls $IMAGE through the edge" \
    ctr_ images pull --plain-http --snapshotter native "$IMAGE"
check "and the bodies it fetched by digest were verified too ($before_ctr before)" \
    test "$(verified)" -gt "$before_ctr"
check "and again, from what it holds and the edge" \
    ctr_ images pull --plain-http --snapshotter native "$IMAGE"
is "$(ctr_ images ls 2>/dev/null | awk -v i="$IMAGE" '$1 == i { print $3 }')" "$DIGEST" \
    "containerd holds the manifest digest the registry has"
# Stopped and waited for here, before the cleanup removes its root.
kill "$CONTAINERD"
wait "$CONTAINERD" 2>/dev/null || true

# --- what the edge did ----------------------------------------------------
# What the clients asked the edge is logged where each request ended: in the upstream
# location's log when it was passed on, in the server's when the edge answered it (a tag it
# learned is revalidated by a subrequest, which neither logs).
# (grep reads both files itself: `cat | grep -q` fails under pipefail when grep stops early.)
asked() { grep -aq "$1" "$EDGE_DIR/access.log" "$EDGE_DIR/upstream.log"; }
check "ctr asked the edge HEAD of the tag, as containerd does" \
    asked '"HEAD /v2/demo/hello/manifests/1.0 HTTP/1.1" 200 .*containerd'
check "podman asked GET of the tag, as containers/image does" \
    asked '"GET /v2/demo/hello/manifests/1.0 HTTP/1.1" 200 .*containers/image'
check "bodies were verified on their way" \
    test "$(edge_metric 'nginx_registry_cache_verified_total{cache="edge"}')" -gt 0
is "$(edge_metric 'nginx_registry_cache_digest_mismatches_total{cache="edge"}')" 0 \
    "no body failed verification"
check "nothing was refused with a 502" \
    bash -c "! grep -aq 'refused the upstream' '$EDGE_DIR/error.log'"
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
