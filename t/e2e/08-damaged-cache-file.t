#!/usr/bin/env bash
# A damaged cache file (random bytes, a truncated environment, a foreign file) found at
# start or at a reload: nginx starts, the file is moved aside with a [crit] line naming it,
# an empty cache is built, and requests succeed (a miss, then a hit).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_registry_with_hello
EDGE_DIR=$T/edge
CACHE=$EDGE_DIR/cache
mkdir -p "$CACHE"

cache_status() {
    curl -s -o /dev/null -I -w '%header{x-cache-status}' --max-time 10 \
        "http://$EDGE/v2/demo/hello/blobs/$LAYER"
}
serves() { [[ "$(cache_status) $(cache_status)" == "MISS HIT" ]]; }
moved_aside() { ls "$CACHE"/data.mdb.damaged-* >/dev/null 2>&1; }
crit_names_it() { grep -a '\[crit\]' "$EDGE_DIR/error.log" | grep -aF "$CACHE/data.mdb"; }

# Starts the edge on a damaged file made by COMMAND, then checks it all.
damaged_at_start() {
    local kind=$1
    shift
    rm -f "$CACHE"/*
    "$@"
    : >"$EDGE_DIR/error.log"
    check "$kind: nginx starts" e2e_edge_start
    check "$kind: a [crit] line names the file" crit_names_it
    check "$kind: the file was moved aside" moved_aside
    check "$kind: the new cache serves (MISS, then HIT)" serves
    e2e_edge_stop
}

random_bytes() { head -c 65536 /dev/urandom >"$CACHE/data.mdb"; }
foreign_file() { cp "$(command -v docker-registry)" "$CACHE/data.mdb"; }
# A real environment, then cut: LMDB would map the missing pages and die of SIGBUS.
truncated() {
    e2e_edge_start >/dev/null
    cache_status >/dev/null
    cache_status >/dev/null
    e2e_edge_stop
    rm -f "$CACHE"/data.mdb.damaged-*
    truncate -s 8192 "$CACHE/data.mdb"
}

damaged_at_start "random bytes" random_bytes
damaged_at_start "a foreign file" foreign_file
damaged_at_start "a truncated environment" truncated

# At a reload: a damaged file takes the place of the one the workers use (a new inode, as
# a restore from a bad backup would); the new workers must start on a fresh cache.
rm -f "$CACHE"/*
e2e_edge_start
check "before: the cache serves" serves
head -c 65536 /dev/urandom >"$T/garbage"
mv "$T/garbage" "$CACHE/data.mdb"
old_workers=$(pgrep -P "$(<"$EDGE_DIR/nginx.pid")" | sort)
"$NGINX_BIN" -p "$EDGE_DIR/" -c "$EDGE_DIR/nginx.conf" -s reload
new_workers() { pgrep -P "$(<"$EDGE_DIR/nginx.pid")" | sort; }
for _ in $(seq 100); do [[ "$(new_workers)" != "$old_workers" ]] && break; sleep 0.1; done
check "reload: the master survives" alive "$(<"$EDGE_DIR/nginx.pid")"
check "reload: a [crit] line names the file" crit_names_it
check "reload: the file was moved aside" moved_aside
# The old workers may answer the first requests still: wait for them to leave.
for _ in $(seq 100); do
    [[ -z "$(comm -12 <(echo "$old_workers") <(new_workers))" ]] && break
    sleep 0.1
done
check "reload: the new cache serves (MISS, then HIT)" serves
check "no [alert] or [emerg]; [crit] only for the damaged file" \
    edge_error_log_clean "registry cache: .* is damaged"
done_testing
