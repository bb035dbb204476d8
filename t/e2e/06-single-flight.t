#!/usr/bin/env bash
# Single flight: 20 concurrent HEADs of one uncached blob, spread over two workers, make one
# upstream request; the other 19 wait for its outcome and are answered from the cache. When
# the leader learns nothing (a 404), the followers go upstream themselves and still answer.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

export E2E_WORKERS=2
e2e_init
e2e_registry_with_hello
e2e_edge_start
diag "edge on $EDGE with 2 workers, registry on $REGISTRY"

ABSENT=sha256:$(printf 'absent' | sha256sum | cut -d' ' -f1)

# 20 HEADs at once, each on its own connection; prints "status cache-status" per request.
burst() {
    seq 20 | xargs -P 20 -I{} curl -s -o /dev/null -I --max-time 15 \
        -w '%{http_code} %header{x-cache-status}\n' "http://$EDGE/v2/demo/hello/blobs/$1" | sort
}
# Requests the edge sent upstream: each is logged once, in the location it ended in.
upstream_requests() { grep -ac "HEAD /v2/demo/hello/blobs/$1 " "$EDGE_DIR/upstream.log" || true; }

result=$(burst "$LAYER")
is "$(sort -u <<<"$result" | tr '\n' ';')" "200 HIT;200 MISS;" "every request answered 200: one MISS, the rest HITs"
is "$(grep -c MISS <<<"$result")" 1 "exactly one MISS"
is "$(upstream_requests "$LAYER")" 1 "exactly one upstream request for 20 concurrent HEADs"

result=$(burst "$ABSENT")
is "$(sort -u <<<"$result" | cut -d' ' -f1 | tr '\n' ';')" "404;" \
    "a blob the upstream does not have: every request gets its 404"
is "$(upstream_requests "$ABSENT")" 20 \
    "and, the leader having learned nothing, each of them went upstream once"
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
