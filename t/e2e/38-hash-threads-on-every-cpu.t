#!/usr/bin/env bash
# The threads that hash bodies run on every CPU the master may use, even where
# worker_cpu_affinity pins the worker (whose threads would inherit its pin, and hash on the
# CPU of its own event loop): after a blob's body is verified in a thread, the thread that
# hashed it may run anywhere the master may; the worker itself stays where it was pinned.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
CPUS=$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)
if [[ $CPUS != *[-,]* ]]; then
    echo "1..0 # SKIP one CPU only ($CPUS): nothing to unpin"
    exit 0
fi
e2e_registry_with_hello
# The worker on the first CPU of this process's set (nginx's mask is a string of bits, the
# lowest CPU rightmost).
FIRST=$(cut -d- -f1 <<<"${CPUS%%,*}")
MASK=1
for ((i = 0; i < FIRST; i++)); do MASK+=0; done
STORE_EDGE_MAIN="worker_cpu_affinity $MASK;"
e2e_store_edge_start "zone=edge:1m max_size=64m blobs_max_size=1g" "$REGISTRY"
diag "edge on $EDGE (its worker on CPU $FIRST of $CPUS), registry on $REGISTRY"

get() { curl -s -o /dev/null -w '%{http_code} %header{x-cache-status}' "http://$EDGE/v2/demo/hello/blobs/$LAYER"; }
is "$(get)" "200 MISS" "a blob's body passes, verified"
check "and is kept" test -f "$EDGE_DIR/cache/blobs/sha256/${LAYER:7:2}/${LAYER#sha256:}"
is "$(get)" "200 HIT" "the next GET is answered from the file, proven first in a thread of the pool"

WORKER=$(pgrep -P "$(<"$EDGE_DIR/nginx.pid")" | head -n1)
# "tid cpus" for each thread of the worker.
threads() {
    local task
    for task in /proc/"$WORKER"/task/*; do
        echo "${task##*/} $(awk '/^Cpus_allowed_list:/ { print $2 }' "$task/status")"
    done
}
diag "the worker's threads: $(threads | paste -sd';' -)"
is "$(threads | awk -v w="$WORKER" '$1 == w { print $2 }')" "$FIRST" "the worker's own thread stays on its CPU"
like "$(threads | awk -v w="$WORKER" -v all="$CPUS" '$1 != w && $2 == all' | wc -l)" '^[1-9]' \
    "the thread that hashed runs on every CPU the master may ($CPUS)"
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
