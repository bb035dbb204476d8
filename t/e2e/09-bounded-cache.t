#!/usr/bin/env bash
# max_size is honoured: an edge whose cache holds 1 MiB learns far more distinct blobs than
# fit (from an upstream that confirms any digest), every request is answered by the
# upstream's 200 (never a 5xx, never MDB_MAP_FULL), the oldest entries are evicted and
# counted, and what was learned last is still a hit.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_start_liar

EDGE_DIR=$T/edge
mkdir -p "$EDGE_DIR"
e2e_liar_edge_start "$EDGE_DIR/cache zone=edge:1m max_size=1m"

# About twice what the map holds (one record of ~130 bytes per blob, pages half to fully
# used): eviction must have happened, more than once.
TOTAL=15000
is "$(honest_head_statuses "$TOTAL" 1000)" "200: $TOTAL" "all $TOTAL HEADs answered 200"
evictions=$(edge_metric 'nginx_registry_cache_evictions_total{cache="edge"}')
check "entries were evicted ($evictions) to stay within max_size" test "${evictions:-0}" -gt 0
used=$(edge_metric 'nginx_registry_cache_map_bytes_used{cache="edge"}')
check "the map stays within 1 MiB ($used bytes used)" test "${used:-0}" -le 1048576
is "$(edge_metric 'registry_storage_cache_errors_total{cache="edge"}')" 0 "no store errors"
# The liar answers 200 to any honest digest: only X-Cache-Status tells what the cache kept.
cache_status() {
    curl -s -o /dev/null -I -w '%{http_code} %header{x-cache-status}' --max-time 10 \
        "http://$EDGE/v2/lie/honest/blobs/$(honest_digest "$1")"
}
is "$(cache_status "$TOTAL")" "200 HIT" "the newest blob is still answered from the cache"
is "$(cache_status 1)" "200 MISS" "the oldest was evicted"
check "no worker crashed; no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
