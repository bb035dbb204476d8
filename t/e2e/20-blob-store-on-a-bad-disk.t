#!/usr/bin/env bash
# Blob bodies kept on a disk that fails: the cache lives on a small tmpfs of its own. A body
# that does not fit, a stored file cut short, damaged or deleted under the running edge, and
# a store remounted read-only each cost the copy, never the transfer or the pull: every
# client gets the whole blob, with its digest, nothing wrong is kept or served, the failure
# is logged and counted, and no worker dies.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_registry_with_hello
EDGE_DIR=$T/edge
CACHE=$EDGE_DIR/cache
mkdir -p "$CACHE"
# Room for the LMDB file and the small blobs, not for the 1 MiB layer.
mount -t tmpfs -o size=700k tmpfs "$CACHE" 2>/dev/null || skip_all "cannot mount a tmpfs (not root?)"
# The script's own status goes on to the cleanup, whatever the unmounts return.
trap 'rc=$?; set +e; e2e_edge_stop; umount "$CACHE/blobs" 2>/dev/null; umount "$CACHE" 2>/dev/null
      (exit $rc); _e2e_cleanup' EXIT

e2e_store_edge_start "zone=edge:1m max_size=1m blobs_max_size=1g" "$REGISTRY"

mapfile -t BLOBS < <(layout_image_digests "$T/src" "$(layout_manifest_digest "$T/src" 1.0)")
CONFIG=${BLOBS[0]} BASE=${BLOBS[1]}
# "status X-Cache-Status digest-of-what-came" of a GET of blob DIGEST.
get() {
    curl -s -o "$T/body" --max-time 20 -w '%{http_code} %header{x-cache-status}' \
        "http://$EDGE/v2/demo/hello/blobs/$1" || true
    echo " sha256:$(sha256sum <"$T/body" | cut -d' ' -f1)"
}
errors() { edge_metric 'registry_storage_cache_errors_total{cache="edge"}'; }

is "$(get "$CONFIG") $(get "$CONFIG")" "200 MISS $CONFIG 200 HIT $CONFIG" \
    "a small body is kept and then answered from the disk"

errors_before=$(errors)
is "$(get "$LAYER")" "200 MISS $LAYER" "a body the disk has no room for passes whole, with its digest"
check "the failed write is logged" grep -aq 'writing a blob body to .* failed; it is not kept' "$EDGE_DIR/error.log"
check "and counted" test "$(errors)" -gt "${errors_before:-0}"
is "$(get "$LAYER")" "200 MISS $LAYER" "and it is not kept: the next GET goes upstream, and gets it whole"
is "$(find "$CACHE/blobs" -type f | wc -l)" 1 "no file of it is left (the tmp file went)"

# A stored file cut short under the running edge: no answer from it.
truncate -s 100 "$CACHE/blobs/sha256/${CONFIG:7:2}/${CONFIG#sha256:}"
is "$(get "$CONFIG")" "200 MISS $CONFIG" "a stored file cut short is no answer: the GET goes upstream"
check "the short file is logged, its record dropped" \
    grep -aq 'is not of the size recorded; its record is dropped' "$EDGE_DIR/error.log"
is "$(get "$CONFIG")" "200 HIT $CONFIG" "and the body is kept anew"

# The store's blob directory read-only (as a failing disk is remounted), under a bind mount
# of its own: the LMDB file beside it stays writable.
mount --bind "$CACHE/blobs" "$CACHE/blobs"
mount -o remount,bind,ro "$CACHE/blobs"
errors_before=$(errors)
is "$(get "$BASE") $(get "$BASE")" "200 MISS $BASE 200 MISS $BASE" \
    "a read-only store keeps nothing new, and every GET gets the whole body"
check "the failures are counted" test "$(errors)" -gt "${errors_before:-0}"
is "$(get "$CONFIG")" "200 HIT $CONFIG" "what it holds still answers"
umount "$CACHE/blobs"

# A stored file damaged in place (the same size, other bytes) and one deleted, under a pull:
# the pull succeeds whole, every digest checks. The damaged file is hashed before a byte of it
# goes, so the client sees a miss, never a transfer cut part way (which skopeo does not retry).
pull() { skopeo_ copy --src-tls-verify=false --src-no-creds "docker://$EDGE/demo/hello:1.0" "oci:$T/$1:1.0" &&
    layout_verify_blobs "$T/$1" >/dev/null; }
check "a first pull through the edge" pull pull1
stored() { test -f "$CACHE/blobs/sha256/${1:7:2}/${1#sha256:}"; }
check "it kept the small blobs' bodies" stored "$BASE"
mismatches_before=$(edge_metric 'nginx_registry_cache_digest_mismatches_total{cache="edge"}')
printf 'damaged!' | dd of="$CACHE/blobs/sha256/${CONFIG:7:2}/${CONFIG#sha256:}" bs=1 seek=100 conv=notrunc 2>/dev/null
rm "$CACHE/blobs/sha256/${BASE:7:2}/${BASE#sha256:}"
check "a pull with a damaged and a deleted body on the disk succeeds, every digest checks" pull pull2
check "the damaged file is logged" grep -aq "the stored blob body $CONFIG hashes to .*: it is damaged and removed" "$EDGE_DIR/error.log"
check "and counted" test "$(edge_metric 'nginx_registry_cache_digest_mismatches_total{cache="edge"}')" -eq $((mismatches_before + 1))
check "the deleted one is logged" grep -aq 'is missing; its record is dropped' "$EDGE_DIR/error.log"
is "$(get "$CONFIG") $(get "$BASE")" "200 HIT $CONFIG 200 HIT $BASE" "both are kept anew by that pull"

check "no worker crashed; no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
