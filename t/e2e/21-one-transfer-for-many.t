#!/usr/bin/env bash
# One upstream transfer for many clients: 8 concurrent cold GETs of a 64 MiB blob, through an
# edge that keeps bodies, move at most 1.1 times the blob from the upstream; every client
# gets the whole blob with its digest. The leader's client leaving half way fails no
# follower, and one of them takes its place: one more transfer, not one each. What the edge took from the upstream is counted at a tap between the two (a
# plain proxy that logs the bytes it sent the edge).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_registry
TAP_PORT=$(free_port)
TAP_LOG=$T/tap.log
STORE_EDGE_HTTP="  log_format tap '\$request_method \$uri \$status \$body_bytes_sent';"
STORE_EDGE_UPSTREAM='      proxy_http_version 1.1;
      proxy_set_header Connection "";'
STORE_EDGE_SERVERS="  server {
    listen 127.0.0.1:$TAP_PORT;
    access_log $TAP_LOG tap;
    location / {
      proxy_pass http://$REGISTRY;
      proxy_buffering off;
    }
  }"
e2e_store_edge_start "zone=edge:1m max_size=16m blobs_max_size=1g" "127.0.0.1:$TAP_PORT"

# A 64 MiB blob of incompressible bytes, pushed to the registry (a repository of this test's).
SIZE=$((64 * 1024 * 1024))
head -c "$SIZE" /dev/zero | openssl enc -aes-256-ctr -K "$(printf '%064d' 21)" -iv "$(printf '%032d' 21)" \
    -nosalt >"$T/big.bin"
REPO=e2e/one-transfer-$$
DIGEST=$(registry_push_blob "$T/big.bin" "$REPO")
URL=http://$EDGE/v2/$REPO/blobs/$DIGEST

# N GETs of URL at once, as a batch NAME (bodies $T/NAME.I, "status cache-status" in
# $T/NAME.I.status): batch_start NAME N URL, then batch_whole NAME N, which waits for them and
# sets WHOLE to how many got the blob whole, with its digest (not in a subshell: it waits for
# this shell's children).
batch_start() {
    local i
    BATCH=()
    for ((i = 1; i <= $2; i++)); do
        (curl -s -o "$T/$1.$i" --max-time 60 -w '%{http_code} %header{x-cache-status}\n' "$3" >"$T/$1.$i.status") &
        BATCH+=($!)
    done
}
batch_whole() {
    local i
    wait "${BATCH[@]}"
    WHOLE=0
    for ((i = 1; i <= $2; i++)); do
        [[ $(cut -d' ' -f1 "$T/$1.$i.status") == 200 && sha256:$(sha256sum <"$T/$1.$i" | cut -d' ' -f1) == "$DIGEST" ]] &&
            WHOLE=$((WHOLE + 1))
    done
}
# "status cache-status digest" of one GET of URL.
get_one() { echo "$(curl -s -o "$T/one" --max-time 20 -w '%{http_code} %header{x-cache-status}' "$1") sha256:$(sha256sum <"$T/one" | cut -d' ' -f1)"; }

# Bytes the tap sent the edge for the blob.
upstream_bytes() { awk -v p="/v2/$REPO/blobs/$DIGEST" '$2 == p { n += $4 } END { print n + 0 }' "$TAP_LOG"; }

batch_start cold 8 "$URL"
batch_whole cold 8
is "$WHOLE" 8 "8 concurrent cold GETs of a 64 MiB blob: every client gets it whole, with its digest"
diag "answers: $(cut -d' ' -f2 "$T"/cold.*.status | sort | uniq -c | tr '\n' ' ')"
wait_for test -s "$TAP_LOG"
moved=$(upstream_bytes)
check "the upstream moved at most 1.1 times the blob ($moved bytes for $SIZE)" \
    test "$moved" -le $((SIZE * 11 / 10))

# Clients that leave while the stored body is being proven (hashed whole before it is sent,
# some 40 ms for 64 MiB here): the request is let go once the thread is back, the worker
# lives, and the next GET is answered whole.
worker=$(pgrep -P "$(<"$EDGE_DIR/nginx.pid")" | head -n1)
for i in $(seq 1 20); do curl -s -o /dev/null --max-time 0.0$((i % 9 + 1)) "$URL" || true; done
check "20 clients that left during the proof: the worker lives" kill -0 "$worker"
check "(some of them left before their answer began: 499)" grep -q '" 499 ' "$EDGE_DIR/access.log"
is "$(get_one "$URL")" "200 HIT $DIGEST" "and the next GET is answered from the store, whole"

# A reload while stored bodies are being proven: 16 GETs at once queue their proofs on the
# pool's two threads (some 40 ms each), and the old worker, told to quit, waits for them
# instead of dropping their clients.
batch_start reload 16 "$URL"
sleep 0.1
kill -HUP "$(<"$EDGE_DIR/nginx.pid")"
batch_whole reload 16
is "$WHOLE" 16 "a reload during 16 proofs: every client gets the blob whole"
wait_for test "$(pgrep -c -P "$(<"$EDGE_DIR/nginx.pid")")" -eq 1

# The stored file damaged in place, and 8 GETs at once: each proof fails, the first removes
# the file and its record and goes upstream, where the body is kept anew; the proofs that
# fail after that leave the new file alone (it is not the one they opened). One mismatch is
# counted, every client gets the blob whole, and the next GET is a hit.
printf 'damaged!' | dd of="$EDGE_DIR/cache/blobs/sha256/${DIGEST:7:2}/${DIGEST#sha256:}" bs=1 seek=4096 conv=notrunc 2>/dev/null
mismatches() { edge_metric 'nginx_registry_cache_digest_mismatches_total{cache="edge"}'; }
before=$(mismatches)
batch_start damaged 8 "$URL"
batch_whole damaged 8
is "$WHOLE" 8 "8 GETs of a damaged stored body: every client gets the blob whole"
is "$(mismatches)" "$((before + 1))" "one damaged file, one mismatch counted"
is "$(get_one "$URL")" "200 HIT $DIGEST" "and the body kept anew stays: the next GET is a hit"

# The leader's client leaves half way: one of its followers leads a new transfer, the others
# follow that one, and all get it.
REPO2=$REPO-left
# (a cross-repository mount: the registry links the blob into REPO2, no bytes move)
curl -sf -X POST -o /dev/null "http://$REGISTRY/v2/$REPO2/blobs/uploads/?mount=$DIGEST&from=$REPO"
URL2=http://$EDGE/v2/$REPO2/blobs/$DIGEST
# The edge holds the body, but not the link of the new repository: its GETs are misses, and
# the first leads. Its client reads at 1 MB/s (the 64 MiB would take a minute) and hangs up
# after 2 s; the others start half a second after it, so that they follow its flight (that
# they do is checked below, by the time they took).
(curl -s -o /dev/null --limit-rate 1M --max-time 2 "$URL2" || true) &
leaver=$!
sleep 0.5
started=$(date +%s%N)
batch_start follower 3 "$URL2"
wait "$leaver"
batch_whole follower 3
waited_ms=$((($(date +%s%N) - started) / 1000000))
is "$WHOLE" 3 "the leader's client left half way: all three others get the blob whole"
check "they had followed its flight until it left (${waited_ms} ms)" test "$waited_ms" -ge 1400
is "$(grep -c "^GET /v2/$REPO2/blobs/$DIGEST " "$TAP_LOG")" 2 \
    "the upstream sent the blob twice: to the leader that left, and to one follower that took its place"
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
