#!/usr/bin/env bash
# Verification without exceptions: a body named by digest is verified whatever its encoding
# header, status or framing, or refused before a byte of it leaves; a client never receives
# wrong bytes as a complete answer, whatever protocol it speaks.
#   - Content-Encoding: identity changes nothing: the body is verified (wrong bytes are cut);
#     a truly encoded body (gzip) of a blob by digest is refused with a 502 in OCI JSON;
#   - every 2xx with a body is verified (203, a 206 nobody asked for), except a 206 that
#     answers the client's own Range;
#   - an HTTP/1.0 client cannot tell a cut of a close-delimited body from its end: such a
#     body is refused (502) to it; with a length, a cut is short of it (curl 18); an HTTP/0.9
#     client, which has neither status nor length, gets nothing at all.
# Each lie below reached the client complete before this was fixed (checked on 29171a5).
# Two servers: verification on the event loop with proxy_buffering on, and in the thread
# pool with proxy_buffering off.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

INC=$(cd "$(dirname "$0")/../inc" && pwd)
e2e_init
TRUE_DIGEST=$(perl -I"$INC" -MRegistryCache::LyingUpstream -MDigest::SHA=sha256_hex \
    -e 'print "sha256:", sha256_hex($RegistryCache::LyingUpstream::TRUE_BODY)')
FIRST_100=sha256:$(perl -I"$INC" -MRegistryCache::LyingUpstream -MDigest::SHA=sha256_hex \
    -e 'print sha256_hex(substr($RegistryCache::LyingUpstream::TRUE_BODY, 0, 100))')
e2e_start_liar

EDGE_DIR=$T/edge
mkdir -p "$EDGE_DIR"
ON_PORT=$(free_port)
THREADS_PORT=$(free_port)
H2_PORT=$(free_port)
SLICE_PORT=$(free_port)
LATE_PORT=$(free_port)
# The nginx under test may lack HTTP/2 (the sanitizer build has no ngx_http_v2_module).
HTTP2=0
"$NGINX_BIN" -V 2>&1 | grep -q -- --with-http_v2_module && HTTP2=1
# Nor may it have the slice module (the sanitizer build has none either).
SLICE=0
SLICE_RANGE='$slice_range'
"$NGINX_BIN" -V 2>&1 | grep -q -- --with-http_slice_module && SLICE=1
{ edge_conf_head; cat; } >"$EDGE_DIR/nginx.conf" <<CONF
  add_header X-Cache-Status \$registry_cache_status always;
  server {
    listen 127.0.0.1:$ON_PORT;
    location /v2/ { registry_cache edge; registry_cache_verify on; registry_cache_pass @liar; }
    location @liar { proxy_pass http://127.0.0.1:$LIAR_PORT; }
    location = /metrics { registry_cache_metrics; }
  }
$(((HTTP2)) && cat <<H2
  server {
    listen 127.0.0.1:$H2_PORT http2;
    location /v2/ { registry_cache edge; registry_cache_verify on; registry_cache_pass @liar; }
    location @liar { proxy_pass http://127.0.0.1:$LIAR_PORT; }
  }
H2
)
$(((SLICE)) && cat <<SLICED
  server {
    listen 127.0.0.1:$SLICE_PORT;
    location /v2/ { registry_cache edge; registry_cache_verify on; registry_cache_pass @sliced; }
    location @sliced {
      slice 64k;
      proxy_set_header Range $SLICE_RANGE;
      proxy_pass http://127.0.0.1:$LIAR_PORT;
    }
  }
SLICED
)
  server {
    # One memory buffer takes the whole 40 MB body, so one hash job takes all of it: far
    # longer than this send_timeout, while nothing is being written to the client.
    listen 127.0.0.1:$LATE_PORT;
    send_timeout 5ms;
    location /v2/ { registry_cache edge; registry_cache_verify threads; registry_cache_pass @liar; }
    location @liar {
      proxy_pass http://127.0.0.1:$LIAR_PORT;
      proxy_buffer_size 64k;
      proxy_buffers 2 64m;
      proxy_busy_buffers_size 64m;
      proxy_max_temp_file_size 0;
    }
  }
  server {
    listen 127.0.0.1:$THREADS_PORT;
    location /v2/ { registry_cache edge; registry_cache_verify threads; registry_cache_pass @liar; }
    location @liar { proxy_pass http://127.0.0.1:$LIAR_PORT; proxy_buffering off; }
  }
}
CONF
"$NGINX_BIN" -p "$EDGE_DIR/" -c "$EDGE_DIR/nginx.conf" -e "$EDGE_DIR/error.log"
EDGE=127.0.0.1:$ON_PORT
_edge_wait_ready
diag "edge on $ON_PORT (verify on) and $THREADS_PORT (threads), liar on 127.0.0.1:$LIAR_PORT"

# GET of /v2/lie/KIND/blobs/TRUE_DIGEST on PORT, with extra curl arguments after them.
get() { liar_get "$@"; }
# Cut short (18) or empty (52): never complete (0).
failed_transfer() { [[ ${1%% *} == 18 || ${1%% *} == 52 ]]; }
# A complete 502 whose body is OCI error JSON with code UNAVAILABLE.
refused() {
    [[ $1 == "0 502 "* ]] && jq -e '.errors[0].code == "UNAVAILABLE"' "$T/body" >/dev/null
}
# An HTTP/0.9 request (a bare request line): prints how many bytes came back.
get_http09() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$ARGV[0]", Timeout => 10) or die $!;
        print $s "GET /v2/lie/$ARGV[1]/blobs/$ARGV[2]\r\n";
        local $/; my $got = <$s> // ""; print length $got' "$1" "$2" "$TRUE_DIGEST"
}
recorded() { edge_metric 'nginx_registry_cache_recorded_total{cache="edge"}'; }

for port in "$ON_PORT" "$THREADS_PORT"; do
    mode=$([[ $port == "$ON_PORT" ]] && echo on || echo threads)
    # Hole 1: encodings.
    r=$(get body-identity "$port")
    check "$mode: wrong bytes under Content-Encoding: identity are cut ($r)" failed_transfer "$r"
    r=$(get body-gzip "$port")
    check "$mode: a gzip-encoded blob is refused with a 502 in OCI JSON ($r)" refused "$r"
    # Hole 2: statuses.
    r=$(get body-203 "$port")
    check "$mode: wrong bytes in a 203 are cut ($r)" failed_transfer "$r"
    r=$(get body-206 "$port")
    check "$mode: wrong bytes in a 206 nobody asked for are cut ($r)" failed_transfer "$r"
    r=$(get body-206-part "$port" -H 'Range: bytes=0-99')
    is "$r" "0 206 $FIRST_100" "$mode: a 206 answering the client's own Range passes, its bytes whole"
    # Hole 3: clients that cannot see a cut.
    r=$(get body-unsized "$port" --http1.0)
    check "$mode: HTTP/1.0 and a close-delimited wrong body: refused, 502 ($r)" refused "$r"
    r=$(get body-unsized-true "$port" --http1.0)
    check "$mode: HTTP/1.0 and a close-delimited body, even a true one: refused ($r)" refused "$r"
    r=$(get body-wrong "$port" --http1.0)
    check "$mode: HTTP/1.0 with a length: the cut is short of it ($r)" failed_transfer "$r"
    r=$(get body-true "$port" --http1.0)
    is "$r" "0 200 $TRUE_DIGEST" "$mode: HTTP/1.0 with a length: the truth passes whole"
    r=$(get body-unsized-true "$port")
    is "$r" "0 200 $TRUE_DIGEST" "$mode: HTTP/1.1 and an unsized true body: chunked, whole"
    r=$(get body-unsized "$port")
    check "$mode: HTTP/1.1 and an unsized wrong body: the last chunk never comes ($r)" failed_transfer "$r"
    is "$(get_http09 "$port" body-wrong)" 0 "$mode: HTTP/0.9 gets not one byte of a wrong body"
    is "$(get_http09 "$port" body-true)" 0 "$mode: nor of a true one: it could not tell them apart"
done

# nginx's slice module asks the upstream for the blob in parts, and sends them as one 200 (the
# parts after the first from subrequests, which this filter never sees): a body that cannot
# be verified, so it is refused before a byte leaves. Before the fix the wrong bytes passed
# whole (curl 0, 200).
if ((SLICE)); then
    r=$(get ranged-wrong "$SLICE_PORT")
    check "slice: a 200 made of the upstream's parts is refused with a 502, never relayed ($r)" \
        refused "$r"
    check "slice: and the error log says why" \
        grep -aq 'a filter of the location changed the upstream.s status (slice?)' "$EDGE_DIR/error.log"
else
    diag "this nginx has no slice module: its checks are left to the stock binary's run"
fi

# A hash job not back from the thread pool within send_timeout cuts the transfer at once,
# even of a true body: the client is not kept waiting for the held end.
BIG_DIGEST=$(perl -I"$INC" -MRegistryCache::LyingUpstream -MDigest::SHA=sha256_hex \
    -e 'print "sha256:", sha256_hex(RegistryCache::LyingUpstream::big_body())')
rc=0
r=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 \
    "http://127.0.0.1:$LATE_PORT/v2/lie/body-big/blobs/$BIG_DIGEST") || rc=$?
# Cut (18), reset (56) or empty (52); not a timeout of the client's own (28).
check "a hash job late by send_timeout cuts the transfer (curl $rc, $r)" \
    bash -c "[[ $rc == 18 || $rc == 52 || $rc == 56 ]]"
check "and says so in the error log" \
    grep -aq 'hashing in the thread pool took longer than send_timeout; the transfer is cut' "$EDGE_DIR/error.log"
is "$(http_status -I "http://127.0.0.1:$LATE_PORT/v2/lie/honest/blobs/$TRUE_DIGEST")" 200 \
    "the worker answers the next request"

# After a refused answer the connection closes: the upstream's body is still being read to
# its end, and a client waiting on the connection for its next answer would wait for that.
connects=$(curl -s -o /dev/null -o /dev/null -w '%{num_connects} ' --max-time 10 \
    "http://127.0.0.1:$ON_PORT/v2/lie/body-gzip/blobs/$TRUE_DIGEST" \
    "http://127.0.0.1:$ON_PORT/v2/lie/body-true/blobs/$TRUE_DIGEST")
is "$connects" "1 1 " "the next request after a refusal opens a new connection"

# HTTP/2 (cleartext, prior knowledge): a cut resets the stream, which the client sees.
recorded_h2=0
if ((HTTP2)); then
    r=$(get body-wrong "$H2_PORT" --http2-prior-knowledge)
    check "HTTP/2: wrong bytes end in a reset stream (curl 92), never a complete answer ($r)" \
        test "${r%% *}" = 92
    r=$(get body-unsized "$H2_PORT" --http2-prior-knowledge)
    check "HTTP/2: an unsized wrong body too ($r)" test "${r%% *}" = 92
    r=$(get body-unsized-true "$H2_PORT" --http2-prior-knowledge)
    is "$r" "0 200 $TRUE_DIGEST" "HTTP/2: an unsized true body passes whole"
    recorded_h2=1
else
    diag "this nginx has no HTTP/2: its checks are left to the stock binary's run"
fi

# Nothing of the above was learned: in each mode the two true 200s verified whole (HTTP/1.0
# with a length, HTTP/1.1 chunked) were recorded, the true GET after a refusal, the honest
# HEAD after the late job, and HTTP/2's, nothing else; a HEAD of each lie misses.
is "$(recorded)" $((6 + recorded_h2)) "only the verified 200s taught the cache"
for kind in body-identity body-gzip body-203 body-206; do
    is "$(curl -s -o /dev/null -I -w '%header{x-cache-status}' --max-time 10 \
        "http://$EDGE/v2/lie/$kind/blobs/$TRUE_DIGEST")" MISS "$kind: a following HEAD is a MISS"
done
check "the refusal of the encoded body is logged with its repository" \
    grep -aq 'refused the upstream.s answer in repository "lie/body-gzip": the upstream.s body is encoded' \
    "$EDGE_DIR/error.log"
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
