#!/usr/bin/env bash
# A full disk: the cache lives on a tmpfs far smaller than its max_size. When the file cannot
# grow, commits fail and are counted as errors; every request is still answered by the
# upstream, no worker dies, and the cache file stays readable.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
EDGE_DIR=$T/edge
CACHE=$EDGE_DIR/cache
mkdir -p "$CACHE"
# A small filesystem of our own (root only, as CI runs): mounted here, unmounted on exit.
mount -t tmpfs -o size=160k tmpfs "$CACHE" 2>/dev/null || skip_all "cannot mount a tmpfs (not root?)"
e2e_start_liar
trap 'e2e_edge_stop; umount "$CACHE" 2>/dev/null; _e2e_cleanup' EXIT

e2e_liar_edge_start "$CACHE zone=edge:1m max_size=16m"

TOTAL=3000
is "$(honest_head_statuses "$TOTAL" 500)" "200: $TOTAL" "all $TOTAL HEADs answered 200 on a full disk"
errors=$(edge_metric 'registry_storage_cache_errors_total{cache="edge"}')
check "failed commits were counted as errors ($errors)" test "${errors:-0}" -gt 0
check "and logged" grep -aq "commit failed" "$EDGE_DIR/error.log"
recorded=$(edge_metric 'nginx_registry_cache_recorded_total{cache="edge"}')
check "what fitted was recorded ($recorded of $TOTAL)" test "${recorded:-0}" -gt 0 -a "${recorded:-0}" -lt "$TOTAL"
is "$(curl -s -o /dev/null -I -w '%{http_code} %header{x-cache-status}' "http://$EDGE/v2/lie/honest/blobs/$(honest_digest 1)")" \
    "200 HIT" "an entry committed before the disk filled is still a hit"
check "mdb_stat still reads the cache file" mdb_stat "$CACHE"
check "no worker crashed; no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
