#!/usr/bin/env bash
# Single flight cannot be held by one request: a HEAD that declares a body and never sends
# it would, as the leader, keep every follower waiting out the flight's whole bound (5 s)
# while nginx waits for the body (client_body_timeout). A request with a body never leads
# (nor follows): the next HEAD of the blob leads its own flight and is answered at once.
# Before the fix (module of 29171a5) that HEAD took the whole 5 s.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_registry_with_hello
e2e_edge_start
diag "edge on $EDGE, registry on $REGISTRY"

misses() { edge_metric 'nginx_registry_cache_misses_total{cache="edge"}'; }

# A HEAD of the layer that declares 10 bytes of body and sends none; held open (at most
# 30 s) until the test ends.
perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(PeerAddr => $ARGV[0], Timeout => 5) or die $!;
    print $s "HEAD /v2/demo/hello/blobs/$ARGV[1] HTTP/1.1\r\nHost: edge\r\nContent-Length: 10\r\n\r\n";
    sleep 30;' "$EDGE" "$LAYER" &
HOLDER=$!
E2E_HELPERS+=("$HOLDER")
for _ in $(seq 100); do [[ $(misses) == 1 ]] && break; sleep 0.05; done
is "$(misses)" 1 "the HEAD that declares a body reached the edge and missed"

r=$(curl -s -o /dev/null -I --max-time 15 -w '%{http_code} %header{x-cache-status} %{time_total}' \
    "http://$EDGE/v2/demo/hello/blobs/$LAYER")
read -r code status seconds <<<"$r"
is "$code $status" "200 MISS" "the next HEAD of the blob is answered by the upstream"
check "without waiting on the stalled request's flight (took ${seconds} s; the bound is 5 s)" \
    awk -v s="$seconds" 'BEGIN { exit !(s < 2.5) }'
is "$(curl -s -o /dev/null -I --max-time 10 -w '%header{x-cache-status}' \
    "http://$EDGE/v2/demo/hello/blobs/$LAYER")" HIT "and what it learned is a HIT"
kill "$HOLDER" 2>/dev/null || true
wait "$HOLDER" 2>/dev/null || true
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
