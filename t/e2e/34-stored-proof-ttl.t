#!/usr/bin/env bash
# registry_cache_stored_proof_ttl: a stored body that this worker hashed whole moments ago is
# sent again without hashing it again, for as long as the directive says and only while its
# file is the one proven. A file changed in place behind the edge's back (same size, other
# bytes), even with its modification time set back, is proven again before a byte of it goes:
# no one is served the changed bytes, and the GET goes upstream.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_registry_with_hello
# One worker: proofs are a worker's own.
STORE_EDGE_LOCATION="      registry_cache_stored_proof_ttl 1h;"
e2e_store_edge_start "zone=edge:1m max_size=16m blobs_max_size=1g" "$REGISTRY"

FILE=$EDGE_DIR/cache/blobs/sha256/${LAYER:7:2}/${LAYER#sha256:}
SIZE=$(stat -c %s "$(layout_blob "$T/src" "$LAYER")")
# "status X-Cache-Status digest-of-what-came" of a GET of the layer.
get() {
    curl -s -o "$T/body" --max-time 20 -w '%{http_code} %header{x-cache-status}' "$@" \
        "http://$EDGE/v2/demo/hello/blobs/$LAYER" || true
    echo " sha256:$(sha256sum <"$T/body" | cut -d' ' -f1)"
}
proofs() { edge_metric 'nginx_registry_cache_verified_total{cache="edge"}'; }

is "$(get)" "200 MISS $LAYER" "the first GET keeps the layer"
check "its file is there" test -f "$FILE"
# A proof is remembered only for a file last changed a second or more before it was looked at
# (a write in the tick of the look would leave its times as they were): a file kept moments
# ago is proven at each GET, then it settles.
fresh=$(proofs)
is "$(get) $(get)" "200 HIT $LAYER 200 HIT $LAYER" "the layer, kept moments ago, is answered from its file"
is "$(proofs)" "$((fresh + 2))" "proven at each GET while its file is that new"
sleep 2
before=$(proofs)
is "$(get)" "200 HIT $LAYER" "the next one is answered from its file"
is "$(proofs)" "$((before + 1))" "proven once, before it was sent"
is "$(get) $(get)" "200 HIT $LAYER 200 HIT $LAYER" "and the ones after it too"
is "$(proofs)" "$((before + 1))" "without hashing it again: the proof holds within the TTL"
is "$(get -H 'Range: bytes=1000-1999' | cut -d' ' -f1,2) $(wc -c <"$T/body")" "206 HIT 1000" \
    "a part of it, on the same proof"
is "$(proofs)" "$((before + 1))" "(still one proof)"

# The same size, other bytes, and the modification time set back as it was: only the change
# time, which no one can set, tells.
# (touch -r keeps the nanoseconds.)
mtime=$(stat -c %y "$FILE")
touch -r "$FILE" "$T/times"
printf 'xxxxxxxxxxxxxxxx' | dd of="$FILE" bs=1 seek=1000 conv=notrunc status=none
touch -r "$T/times" "$FILE"
is "$(stat -c '%y %s' "$FILE")" "$mtime $SIZE" "(the file is changed in place, its size and mtime as before)"
is "$(get)" "200 MISS $LAYER" "the changed file is proven again, found damaged, and not sent: the GET goes upstream"
check "the damage is logged" grep -aq "the stored blob body $LAYER hashes to sha256:[0-9a-f]* over $SIZE bytes: it is damaged and removed" "$EDGE_DIR/error.log"
is "$(get)" "200 HIT $LAYER" "the layer is kept anew, and answered from its new file"
is "$(proofs)" "$((before + 3))" "the upstream's body and the new file were each proven"

# A proof is of one digest's file: a file proven as the layer and then found at another
# digest's path (a hard link made there by someone who may write to the cache directory, of a
# body of the very same size) is proven as that digest before a byte of it goes, not sent on
# the layer's proof (it was, as that digest, before the proof kept its digest).
head -c "$SIZE" /dev/urandom >"$T/other"
OTHER=$(registry_push_blob "$T/other" demo/hello)
OTHER_FILE=$EDGE_DIR/cache/blobs/sha256/${OTHER:7:2}/${OTHER#sha256:}
get_other() {
    curl -s -o "$T/body" --max-time 20 -w '%{http_code} %header{x-cache-status}' \
        "http://$EDGE/v2/demo/hello/blobs/$OTHER" || true
    echo " sha256:$(sha256sum <"$T/body" | cut -d' ' -f1)"
}
is "$(get_other)" "200 MISS $OTHER" "a blob of the layer's size is kept too"
check "its file is there" test -f "$OTHER_FILE"
ln -f "$FILE" "$OTHER_FILE"
sleep 2  # (the link moved the file's change time: it settles again)
is "$(get)" "200 HIT $LAYER" "the layer, proven again (the link moved its change time)"
is "$(get_other)" "200 MISS $OTHER" "the other digest's path, now the layer's file: proven as that digest, found damaged, the GET goes upstream"
is "$(get_other)" "200 HIT $OTHER" "its body is kept anew, and answered from its new file"
is "$(get)" "200 HIT $LAYER" "the layer is still answered from its own file"
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean

done_testing
