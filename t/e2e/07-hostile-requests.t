#!/usr/bin/env bash
# A corpus of malformed and hostile requests (t/hostile/requests.tsv, each with the status
# it must get) sent to an edge in front of the real registry: every answer as expected,
# nothing recorded from any of them, no worker crashed.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

HOSTILE=$(cd "$(dirname "$0")/../hostile" && pwd)
e2e_init
e2e_registry
e2e_edge_start
diag "edge on $EDGE, registry on $REGISTRY"

# Through a file, so that a send.pl that dies is a failure, not fewer checks.
rc=0
perl "$HOSTILE/send.pl" "$EDGE_PORT" <"$HOSTILE/requests.tsv" >"$T/hostile.out" || rc=$?
is "$rc" 0 "send.pl sent every request"
is "$(wc -l <"$T/hostile.out")" "$(grep -cv '^#' "$HOSTILE/requests.tsv")" "one answer per request"
while IFS=$'\t' read -r expected got label; do
    is "$got" "$expected" "$label"
done <"$T/hostile.out"

is "$(edge_metric 'nginx_registry_cache_recorded_total{cache="edge"}')" 0 "nothing was recorded"
check "no worker crashed; no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
