#!/usr/bin/env bash
# Verified bytes: a GET relayed from a lying upstream (t/inc/RegistryCache/LyingUpstream.pm)
# whose body does not hash to the digest in the URL, or whose length is not the declared one,
# ends as a failed transfer for the client (curl exit 18: the response never completes),
# records nothing, counts a mismatch and logs it; the truth is verified, relayed whole and
# learned; with registry_cache_verify off, the lie passes (the operator's choice). A body the
# upstream ends short counts as a mismatch; one the client walks away from does not.
#
# VERIFY (default "on") is the registry_cache_verify of the verifying servers: the file runs
# again as 14-verified-bytes-in-threads.t with VERIFY=threads, where blob bodies are hashed in
# a thread pool and a proxy_cache hit is hashed again.
set -euo pipefail
VERIFY=${VERIFY:-on}
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

INC=$(cd "$(dirname "$0")/../inc" && pwd)
e2e_init
liar_digest() {
    perl -I"$INC" -MRegistryCache::LyingUpstream -MDigest::SHA=sha256_hex \
        -e "print 'sha256:', sha256_hex(\$RegistryCache::LyingUpstream::$1)"
}
TRUE_DIGEST=$(liar_digest TRUE_BODY)
MANIFEST_DIGEST=$(liar_digest TRUE_MANIFEST)

e2e_start_liar

EDGE_DIR=$T/edge
mkdir -p "$EDGE_DIR"
VERIFIED_PORT=$(free_port)
UNVERIFIED_PORT=$(free_port)
PROXY_CACHE_PORT=$(free_port)
SENDFILE_PORT=$(free_port)
# A server with the proxy_cache `bodies`, sendfile on or off: with it on, a hit reaches the
# module as one buffer of the whole file, not read into memory in parts by nginx first.
proxy_cache_server() {
    cat <<CONF
  server {
    listen 127.0.0.1:$1;
    sendfile $2;
    location /v2/ { registry_cache edge; registry_cache_verify $VERIFY; registry_cache_pass @cached; }
    location @cached {
      proxy_pass http://127.0.0.1:$LIAR_PORT;
      proxy_cache bodies;
      proxy_cache_valid 200 1h;
      add_header X-Proxy-Cache \$upstream_cache_status always;
      access_log $EDGE_DIR/proxy_cache.log proxy_cache;
    }
  }
CONF
}
{ edge_conf_head; cat; } >"$EDGE_DIR/nginx.conf" <<CONF
  add_header X-Cache-Status \$registry_cache_status always;
  server {
    listen 127.0.0.1:$VERIFIED_PORT;
    location /v2/ { registry_cache edge; registry_cache_verify $VERIFY; registry_cache_pass @liar; }
    location @liar { proxy_pass http://127.0.0.1:$LIAR_PORT; proxy_buffering off; }
    location = /metrics { registry_cache_metrics; }
  }
  proxy_cache_path $EDGE_DIR/proxy_cache keys_zone=bodies:1m;
  log_format proxy_cache '\$upstream_cache_status \$uri';
$(proxy_cache_server "$PROXY_CACHE_PORT" off)
$(proxy_cache_server "$SENDFILE_PORT" on)
  server {
    listen 127.0.0.1:$UNVERIFIED_PORT;
    location /v2/ { registry_cache edge; registry_cache_verify off; registry_cache_pass @liar; }
    location @liar { proxy_pass http://127.0.0.1:$LIAR_PORT; }
  }
}
CONF
"$NGINX_BIN" -p "$EDGE_DIR/" -c "$EDGE_DIR/nginx.conf" -e "$EDGE_DIR/error.log"
EDGE=127.0.0.1:$VERIFIED_PORT
_edge_wait_ready
diag "edge on $EDGE (verifying: $VERIFY) and 127.0.0.1:$UNVERIFIED_PORT (not), liar on 127.0.0.1:$LIAR_PORT"

# GET of /v2/lie/KIND/blobs/TRUE_DIGEST on PORT (the verifying server by default).
get() { liar_get "$1" "${2:-$VERIFIED_PORT}"; }
head_status() {
    curl -s -o /dev/null -I -w '%header{x-cache-status}' --max-time 10 \
        "http://$EDGE/v2/lie/$1/blobs/$TRUE_DIGEST"
}

# Failed, one way or the other: cut short (curl 18) or, when nginx had buffered the whole
# body, cut before even the header left (curl 52, empty reply). Never complete (0).
failed_transfer() { [[ $1 == 18 || $1 == 52 ]]; }

is "$(get body-true)" "0 200 $TRUE_DIGEST" "the truth is relayed whole"
is "$(head_status body-true)" HIT "and the verified GET taught the cache"

LIES=(body-wrong body-length body-unsized body-short)
for kind in "${LIES[@]}"; do
    result=$(get "$kind")
    check "$kind: the client's transfer fails (curl: $result)" failed_transfer "${result%% *}"
done
is "$(edge_metric 'nginx_registry_cache_recorded_total{cache="edge"}')" 1 \
    "the lies recorded nothing (the one record is the truth's)"
for kind in "${LIES[@]}"; do
    is "$(head_status "$kind")" MISS "$kind: a following HEAD is a MISS"
done
check "the mismatch is logged with repository, expected and computed digest" \
    grep -aE "digest mismatch in repository \"lie/body-wrong\": expected $TRUE_DIGEST, computed sha256:[0-9a-f]{64}" \
    "$EDGE_DIR/error.log"
check "the short body is logged as the upstream's: how far it got of the declared length" \
    grep -aE "digest mismatch in repository \"lie/body-short\": expected $TRUE_DIGEST, the upstream ended the body after [0-9]+ of [0-9]+ bytes" \
    "$EDGE_DIR/error.log"
is "$(edge_metric 'nginx_registry_cache_digest_mismatches_total{cache="edge"}')" 4 \
    "four mismatches counted, the short body's too"
is "$(edge_metric 'nginx_registry_cache_verified_total{cache="edge"}')" 1 "one body verified"

# Manifests by tag are held to the Docker-Content-Digest their upstream sent.
tag_get() {
    local rc=0
    curl -s -o "$T/body" --max-time 10 "http://$EDGE/v2/lie/$1/manifests/latest" || rc=$?
    echo "$rc sha256:$(sha256sum <"$T/body" | cut -d' ' -f1)"
}
is "$(tag_get tag-true)" "0 $MANIFEST_DIGEST" "a manifest by tag that hashes to its Docker-Content-Digest passes"
result=$(tag_get tag-wrong)
check "one that does not fails the transfer (curl: $result)" failed_transfer "${result%% *}"
check "and is logged as a mismatch against the digest its upstream named" \
    grep -aE "digest mismatch in repository \"lie/tag-wrong\": expected $MANIFEST_DIGEST, computed sha256:[0-9a-f]{64}" \
    "$EDGE_DIR/error.log"
# A manifest by digest is held to its digest as a blob is.
rc=0
curl -s -o /dev/null --max-time 10 "http://$EDGE/v2/lie/body-wrong/manifests/$TRUE_DIGEST" || rc=$?
check "a wrong manifest by digest fails the transfer (curl: $rc)" failed_transfer "$rc"
is "$(edge_metric 'nginx_registry_cache_digest_mismatches_total{cache="edge"}')" 6 \
    "both counted: six mismatches so far"
# What failed is not kept: asked again, the wrong manifest goes upstream again, while a true
# one (the control; body-true's repository is left to the proxy_cache checks below) is stored
# by its first GET and answered by the edge the second time.
manifest_status() {
    curl -s -o /dev/null -w '%header{x-cache-status}' --max-time 10 \
        "http://$EDGE/v2/lie/$1/manifests/$TRUE_DIGEST" || true
}
is "$(manifest_status body-wrong)" MISS "the wrong manifest by digest was not stored"
is "$(manifest_status body-nodigest) $(manifest_status body-nodigest)" "MISS HIT" \
    "a true one is stored by its first GET and answered from the store after"

# A verified GET teaches even when the upstream names no digest: the bytes did.
is "$(get body-nodigest)" "0 200 $TRUE_DIGEST" "a true body without Docker-Content-Digest is relayed whole"
is "$(head_status body-nodigest)" HIT "and taught the cache all the same"

# A client that gives up half way (the liar sends half the body, then waits) is no mismatch.
mismatches=$(edge_metric 'nginx_registry_cache_digest_mismatches_total{cache="edge"}')
rc=0
curl -s -o /dev/null --max-time 1 "http://$EDGE/v2/lie/body-stall/blobs/$TRUE_DIGEST" || rc=$?
is "$rc" 28 "a client that stops waiting half way through a body gives up (curl: $rc)"
# The request's end, once nginx saw the client leave, is its line in the access log.
for _ in $(seq 100); do grep -q body-stall "$EDGE_DIR/access.log" && break; sleep 0.1; done
check "the edge ended that request" grep -q body-stall "$EDGE_DIR/access.log"
is "$(edge_metric 'nginx_registry_cache_digest_mismatches_total{cache="edge"}')" "$mismatches" \
    "and counts no mismatch for it"
check "nor logs one" sh -c "test -s '$EDGE_DIR/error.log' && ! grep -a 'repository \"lie/body-stall\"' '$EDGE_DIR/error.log'"

# Bodies also cached by nginx's proxy_cache, as an operator may add it in the upstream location.
proxy_cache_status() {
    curl -s -o /dev/null -w '%header{x-proxy-cache}' --max-time 10 \
        "http://127.0.0.1:$PROXY_CACHE_PORT/v2/lie/$1/blobs/$TRUE_DIGEST" || true
}
is "$(proxy_cache_status body-true) $(proxy_cache_status body-true)" "MISS HIT" \
    "proxy_cache keeps a verified body"
is "$(get body-true "$PROXY_CACHE_PORT")" "0 200 $TRUE_DIGEST" "and serves it whole from its cache"
for round in first second; do
    result=$(get body-wrong "$PROXY_CACHE_PORT")
    check "a wrong body relayed through proxy_cache fails the transfer, $round time (curl: $result)" \
        failed_transfer "${result%% *}"
done
is "$(grep -a body-wrong "$EDGE_DIR/proxy_cache.log" | cut -d' ' -f1 | tr '\n' ' ')" "MISS MISS " \
    "proxy_cache did not keep it: the second GET went upstream too"
check "the proxy_cache directory holds the true body's file (so a search there finds files)" \
    grep -rqaF "lie/body-true/blobs/" "$EDGE_DIR/proxy_cache"
cached_wrong() { grep -rlaF "lie/body-wrong" "$EDGE_DIR/proxy_cache" || true; }
is "$(cached_wrong)" "" "no file of the wrong body is left in the proxy_cache directory"

# A Range request that proxy_cache answers from the whole body: nginx sends a part of it,
# which is no body to judge. Nothing is cut or counted, a cached body stays, and a whole body
# fetched for such a request, never judged, is not stored.
FIRST_100=sha256:$(perl -I"$INC" -MRegistryCache::LyingUpstream -MDigest::SHA=sha256_hex \
    -e 'print sha256_hex(substr($RegistryCache::LyingUpstream::TRUE_BODY, 0, 100))')
range_get() {
    local rc=0 code
    code=$(curl -s -o "$T/body" -w '%{http_code}' -r 0-99 --max-time 10 \
        "http://127.0.0.1:$PROXY_CACHE_PORT/v2/lie/body-true/$1/$TRUE_DIGEST") || rc=$?
    echo "$rc $code sha256:$(sha256sum <"$T/body" | cut -d' ' -f1)"
}
mismatches=$(edge_metric 'nginx_registry_cache_digest_mismatches_total{cache="edge"}')
is "$(range_get blobs)" "0 206 $FIRST_100" "a Range request of a body proxy_cache holds gets its part"
is "$(range_get manifests)" "0 206 $FIRST_100" "so does one proxy_cache fetches the whole body for"
is "$(edge_metric 'nginx_registry_cache_digest_mismatches_total{cache="edge"}')" "$mismatches" \
    "neither is a mismatch"
is "$(proxy_cache_status body-true)" HIT "the cached body stayed"
is "$(curl -s -o /dev/null -w '%header{x-proxy-cache}' --max-time 10 \
    "http://127.0.0.1:$PROXY_CACHE_PORT/v2/lie/body-true/manifests/$TRUE_DIGEST")" MISS \
    "the whole body fetched for the Range request, never judged, was not stored"

# nginx stores a body in proxy_cache once the upstream sent all of it, before the verdict on
# a slow client's transfer: meanwhile every hit is hashed again, so a second client is cut,
# never served the wrong bytes whole. Before the fix (verify on) it got them: curl 0, 200.
# The 40 MB body of body-big, asked for by the digest of another: wrong bytes.
(curl -s -o /dev/null --limit-rate 1M --max-time 60 \
    "http://127.0.0.1:$PROXY_CACHE_PORT/v2/lie/body-big/manifests/$TRUE_DIGEST" || true) &
SLOW=$!
E2E_HELPERS+=("$SLOW")
stored_wrong() { grep -rlaF "lie/body-big/manifests" "$EDGE_DIR/proxy_cache" 2>/dev/null | grep -q .; }
for _ in $(seq 200); do stored_wrong && break; sleep 0.05; done
check "the slow client's wrong body sits in proxy_cache before its verdict" stored_wrong
rc=0
result=$(curl -s -o "$T/body" -w '%{http_code} %header{x-proxy-cache}' --max-time 20 \
    "http://127.0.0.1:$PROXY_CACHE_PORT/v2/lie/body-big/manifests/$TRUE_DIGEST") || rc=$?
is "$result" "200 HIT" "a second client is served from that file"
check "and its transfer is cut, never given the bytes whole (curl $rc)" failed_transfer "$rc"
kill "$SLOW" 2>/dev/null || true
wait "$SLOW" 2>/dev/null || true

# A proxy_cache hit is hashed again (in the thread pool with threads, on the event loop with
# on): a cached file damaged on disk is cut, counted and deleted, and the next request
# fetches the truth again.
cached_true=$(grep -rlaF "lie/body-true/blobs/" "$EDGE_DIR/proxy_cache")
size=$(stat -c %s "$cached_true")
printf 'X' | dd of="$cached_true" bs=1 seek=$((size - 100)) conv=notrunc status=none
mismatches=$(edge_metric 'nginx_registry_cache_digest_mismatches_total{cache="edge"}')
result=$(get body-true "$PROXY_CACHE_PORT")
check "a proxy_cache hit damaged on disk fails the transfer (curl: $result)" \
    failed_transfer "${result%% *}"
is "$(edge_metric 'nginx_registry_cache_digest_mismatches_total{cache="edge"}')" \
    "$((mismatches + 1))" "and counts a mismatch"
check "and the damaged file is gone" test ! -e "$cached_true"
is "$(get body-true "$PROXY_CACHE_PORT")" "0 200 $TRUE_DIGEST" "the next GET relays the truth whole"
is "$(grep -a body-true/blobs/ "$EDGE_DIR/proxy_cache.log" | cut -d' ' -f1 | tail -n2 | tr '\n' ' ')" \
    "HIT MISS " "from the upstream, after the damaged hit"

# A large hit (38 MB) is hashed in slices, relayed no further ahead of its hash than
# the filter allows, and its end waits for the whole hash.
BIG_DIGEST=sha256:$(perl -I"$INC" -MRegistryCache::LyingUpstream -MDigest::SHA=sha256_hex \
    -e 'print sha256_hex(RegistryCache::LyingUpstream::big_body())')
big_get() {
    local rc=0 out
    out=$(curl -s -o "$T/body" -w '%{http_code} %header{x-proxy-cache}' --max-time 30 \
        "http://127.0.0.1:${1:-$SENDFILE_PORT}/v2/lie/body-big/blobs/$BIG_DIGEST") || rc=$?
    echo "$rc $out sha256:$(sha256sum <"$T/body" | cut -d' ' -f1)"
}
is "$(big_get "$PROXY_CACHE_PORT")" "0 200 MISS $BIG_DIGEST" "a large body is relayed whole and stored"
is "$(big_get "$PROXY_CACHE_PORT")" "0 200 HIT $BIG_DIGEST" \
    "and relayed whole again from proxy_cache, read by nginx in parts"
is "$(big_get)" "0 200 HIT $BIG_DIGEST" "or with sendfile, taken in slices as one file"
cached_big=$(grep -rlaF "lie/body-big/blobs/" "$EDGE_DIR/proxy_cache")
printf 'X' | dd of="$cached_big" bs=1 seek=$(($(stat -c %s "$cached_big") / 2)) conv=notrunc status=none
result=$(big_get)
check "damaged in its middle, the large hit fails the transfer (curl: $result)" \
    failed_transfer "${result%% *}"
check "and its file is gone" test ! -e "$cached_big"

result=$(get body-wrong "$UNVERIFIED_PORT")
is "${result% *}" "0 200" "with registry_cache_verify off the lie passes whole"
check "and what passed is not what the digest names" test "${result##* }" != "$TRUE_DIGEST"
check "no worker crashed; no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
