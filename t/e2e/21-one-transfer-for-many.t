#!/usr/bin/env bash
# One upstream transfer for many clients: 8 concurrent cold GETs of a 64 MiB blob, through an
# edge that keeps bodies, move at most 1.1 times the blob from the upstream; every client
# gets the whole blob with its digest. The leader's client leaving half way fails no
# follower. What the edge took from the upstream is counted at a tap between the two (a
# plain proxy that logs the bytes it sent the edge).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_registry
EDGE_DIR=$T/edge
mkdir -p "$EDGE_DIR"
EDGE=127.0.0.1:$(free_port)
TAP_PORT=$(free_port)
{ echo "thread_pool verify threads=2;"; edge_conf_head "$EDGE_DIR/cache zone=edge:1m max_size=16m blobs_max_size=1g"; } \
    >"$EDGE_DIR/nginx.conf"
cat >>"$EDGE_DIR/nginx.conf" <<CONF
  log_format tap '\$request_method \$uri \$status \$body_bytes_sent';
  server {
    listen $EDGE;
    add_header X-Cache-Status \$registry_cache_status always;
    location /v2/ {
      registry_cache edge;
      registry_cache_pass @registry;
      registry_cache_verify threads=verify;
    }
    location = /metrics { registry_cache_metrics; }
    location @registry {
      proxy_pass http://127.0.0.1:$TAP_PORT;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
  server {
    listen 127.0.0.1:$TAP_PORT;
    access_log $EDGE_DIR/tap.log tap;
    location / {
      proxy_pass http://$REGISTRY;
      proxy_buffering off;
    }
  }
}
CONF
"$NGINX_BIN" -p "$EDGE_DIR/" -c "$EDGE_DIR/nginx.conf" -e "$EDGE_DIR/error.log"
_edge_wait_ready

# A 64 MiB blob of incompressible bytes, pushed to the registry (a repository of this test's).
SIZE=$((64 * 1024 * 1024))
head -c "$SIZE" /dev/zero | openssl enc -aes-256-ctr -K "$(printf '%064d' 21)" -iv "$(printf '%032d' 21)" \
    -nosalt >"$T/big.bin"
REPO=e2e/one-transfer-$$
DIGEST=$(registry_push_blob "$T/big.bin" "$REPO")
URL=http://$EDGE/v2/$REPO/blobs/$DIGEST

# Bytes the tap sent the edge for the blob.
upstream_bytes() { awk -v p="/v2/$REPO/blobs/$DIGEST" '$2 == p { n += $4 } END { print n + 0 }' "$EDGE_DIR/tap.log"; }

pids=()
for i in 1 2 3 4 5 6 7 8; do
    (curl -s -o "$T/got.$i" --max-time 60 -w '%{http_code} %header{x-cache-status}\n' "$URL" >"$T/status.$i") &
    pids+=($!)
done
wait "${pids[@]}"
good=0
for i in 1 2 3 4 5 6 7 8; do
    [[ $(cut -d' ' -f1 "$T/status.$i") == 200 &&
        sha256:$(sha256sum "$T/got.$i" | cut -d' ' -f1) == "$DIGEST" ]] && good=$((good + 1))
done
is "$good" 8 "8 concurrent cold GETs of a 64 MiB blob: every client gets it whole, with its digest"
diag "answers: $(cut -d' ' -f2 "$T"/status.* | sort | uniq -c | tr '\n' ' ')"
wait_for test -s "$EDGE_DIR/tap.log"
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
is "$(curl -s -o "$T/again" --max-time 20 -w '%{http_code} %header{x-cache-status}' "$URL") sha256:$(sha256sum <"$T/again" | cut -d' ' -f1)" \
    "200 HIT $DIGEST" "and the next GET is answered from the store, whole"

# A reload while stored bodies are being proven: 16 GETs at once queue their proofs on the
# pool's two threads (some 40 ms each), and the old worker, told to quit, waits for them
# instead of dropping their clients.
pids=()
for i in $(seq 1 16); do
    (curl -s -o "$T/reload.$i" --max-time 30 -w '%{http_code}\n' "$URL" >"$T/rstatus.$i") &
    pids+=($!)
done
sleep 0.1
kill -HUP "$(<"$EDGE_DIR/nginx.pid")"
wait "${pids[@]}"
good=0
for i in $(seq 1 16); do
    [[ $(<"$T/rstatus.$i") == 200 && sha256:$(sha256sum <"$T/reload.$i" | cut -d' ' -f1) == "$DIGEST" ]] &&
        good=$((good + 1))
done
is "$good" 16 "a reload during 16 proofs: every client gets the blob whole"
wait_for test "$(pgrep -c -P "$(<"$EDGE_DIR/nginx.pid")")" -eq 1

# The stored file damaged in place, and 8 GETs at once: each proof fails, the first removes
# the file and its record and goes upstream, where the body is kept anew; the proofs that
# fail after that leave the new file alone (it is not the one they opened). One mismatch is
# counted, every client gets the blob whole, and the next GET is a hit.
printf 'damaged!' | dd of="$EDGE_DIR/cache/blobs/sha256/${DIGEST:7:2}/${DIGEST#sha256:}" bs=1 seek=4096 conv=notrunc 2>/dev/null
mismatches() { edge_metric 'nginx_registry_cache_digest_mismatches_total{cache="edge"}'; }
before=$(mismatches)
pids=()
for i in 1 2 3 4 5 6 7 8; do
    (curl -s -o "$T/damaged.$i" --max-time 60 -w '%{http_code}\n' "$URL" >"$T/dstatus.$i") &
    pids+=($!)
done
wait "${pids[@]}"
good=0
for i in 1 2 3 4 5 6 7 8; do
    [[ $(<"$T/dstatus.$i") == 200 && sha256:$(sha256sum <"$T/damaged.$i" | cut -d' ' -f1) == "$DIGEST" ]] &&
        good=$((good + 1))
done
is "$good" 8 "8 GETs of a damaged stored body: every client gets the blob whole"
is "$(mismatches)" "$((before + 1))" "one damaged file, one mismatch counted"
is "$(curl -s -o "$T/again" --max-time 20 -w '%{http_code} %header{x-cache-status}' "$URL") sha256:$(sha256sum <"$T/again" | cut -d' ' -f1)" \
    "200 HIT $DIGEST" "and the body kept anew stays: the next GET is a hit"

# The leader's client leaves half way: its followers go upstream themselves, and get it.
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
pids=()
for i in 1 2 3; do
    (curl -s -o "$T/follower.$i" --max-time 60 -w '%{http_code}\n' "$URL2" >"$T/fstatus.$i") &
    pids+=($!)
done
wait "$leaver" "${pids[@]}"
waited_ms=$((($(date +%s%N) - started) / 1000000))
good=0
for i in 1 2 3; do
    [[ $(<"$T/fstatus.$i") == 200 && sha256:$(sha256sum "$T/follower.$i" | cut -d' ' -f1) == "$DIGEST" ]] &&
        good=$((good + 1))
done
is "$good" 3 "the leader's client left half way: all three others get the blob whole"
check "they had followed its flight until it left (${waited_ms} ms)" test "$waited_ms" -ge 1400
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
