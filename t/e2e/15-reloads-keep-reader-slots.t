#!/usr/bin/env bash
# 200 reloads, each old worker kept alive by a transfer in progress (as long layer pulls keep
# them): hits are still hits, new workers open the store, and LMDB's reader table holds only
# the serving worker's slot, because a worker told to exit gives its slot back. An old worker
# that gave its slot back still learns (its writes need none). Stopping the edge ends every
# worker and transfer. Before the fix, each old worker kept its slot until its last transfer
# ended, and after about 126 generations new workers failed with MDB_READERS_FULL.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

RELOADS=${RELOADS:-200}
e2e_init

# The upstream: HEAD /v2/<name>/blobs/<digest> is answered honestly. GET /v2/hold/... sends
# a head that promises 1 GiB and 4 KiB of it, then a byte every 5 s (well within nginx's
# proxy_read_timeout) until the other side closes. GET /v2/finish/... sends the first half
# of a body whose digest it prints, then a byte of the rest every 5 s, and all of the rest
# once the file $T/finish exists. Every GET
# in progress is noted in $T/holder.log. One process of asyncio: hundreds of connections.
HOLDER_PY=$(cat <<'PY'
import asyncio, hashlib, itertools, os, signal, sys

log_path, trigger = sys.argv[1], sys.argv[2]
FINISH = b"the bytes of a layer that takes long to pull\n" * 30000
FINISH_DIGEST = "sha256:" + hashlib.sha256(FINISH).hexdigest()

def head(digest, length):
    return ("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {length}\r\nDocker-Content-Digest: {digest}\r\n"
            "Connection: close\r\n\r\n").encode()

def note(line):
    with open(log_path, "a") as f:
        f.write(line + "\n")

async def closed_within(reader, seconds):
    try:
        return await asyncio.wait_for(reader.read(1), seconds) == b""
    except asyncio.TimeoutError:
        return False

async def serve(reader, writer):
    try:
        request = await reader.readuntil(b"\r\n\r\n")
        method, path = request.split(b" ", 2)[:2]
        parts = path.decode().split("/")  # '', 'v2', name, 'blobs', digest
        if len(parts) != 5 or parts[1] != "v2" or parts[3] != "blobs":
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        elif method == b"HEAD":
            writer.write(head(parts[4], len(FINISH)))
        elif parts[2] == "finish":
            sent = len(FINISH) // 2
            writer.write(head(FINISH_DIGEST, len(FINISH)) + FINISH[:sent])
            await writer.drain()
            note("finish")
            for tick in itertools.count(1):
                if os.path.exists(trigger):
                    break
                await asyncio.sleep(0.05)
                if tick % 100 == 0:  # a byte of the body every 5 s keeps nginx reading
                    writer.write(FINISH[sent:sent + 1])
                    sent += 1
                    await writer.drain()
            writer.write(FINISH[sent:])
        else:
            writer.write(head(parts[4], 1 << 30) + b"x" * 4096)
            await writer.drain()
            note("hold " + parts[4])
            while not await closed_within(reader, 5):
                writer.write(b"x")
                await writer.drain()
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()

async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], FINISH_DIGEST, flush=True)
    await server.serve_forever()

signal.alarm(600)  # a run cut short cannot leave it behind for long
asyncio.run(main())
PY
)
python3 -c "$HOLDER_PY" "$T/holder.log" "$T/finish" >"$T/holder.out" 2>"$T/logs/holder.log" &
E2E_HELPERS+=($!)
for _ in $(seq 50); do [[ -s $T/holder.out ]] && break; sleep 0.1; done
read -r LIAR_PORT FINISH_DIGEST <"$T/holder.out"
touch "$T/holder.log"

# The edge of the lying-upstream tests, one worker, with the holder as its upstream.
EDGE_DIR=$T/edge
e2e_liar_edge_start "$EDGE_DIR/cache zone=edge:1m max_size=64m"
MASTER=$(<"$EDGE_DIR/nginx.pid")
diag "edge on $EDGE, upstream holding transfers on 127.0.0.1:$LIAR_PORT, $RELOADS reloads"

cache_status() {
    curl -s -o /dev/null -I -w '%header{x-cache-status}' --max-time 10 "http://$EDGE/v2/$1/blobs/$2"
}
recorded() { edge_metric 'nginx_registry_cache_recorded_total{cache="edge"}'; }
recorded_at_least() { (($(recorded) >= $1)); }
children() { pgrep -P "$MASTER" | sort -n; }
exiting() { grep -ac 'gracefully shutting down' "$EDGE_DIR/error.log" || true; }
exiting_at_least() { (($(exiting) >= $1)); }
held_at_least() { (($(grep -c . "$T/holder.log") >= $1)); }
# The worker that serves: every other child of the master has been told to exit.
serving_worker() { ps -o pid=,args= --ppid "$MASTER" | awk '!/shutting down/ { print $1 }'; }
# Slots in lock.mdb are the serving worker's alone (old workers and the master hold none).
only_serving_holds_slots() {
    local serving readers
    serving=$(serving_worker)
    readers=$(lmdb_reader_pids "$EDGE_DIR/cache")
    echo "serving: $serving; reader slots held by: ${readers//$'\n'/ }"
    [[ -n $serving && $readers == "$serving" ]]
}
# Ten HEADs of the blob learned first, all hits.
all_hits() {
    local i s
    for ((i = 0; i < 10; i++)); do
        s=$(cache_status hold "$HIT")
        [[ $s == HIT ]] || { echo "request $i: X-Cache-Status '$s'"; return 1; }
    done
}

# The master opened the store to validate it before the worker started, and closed it.
check "after the start only the worker holds a reader slot" wait_for only_serving_holds_slots
# Sized for many generations of old workers: 256 of them, plus a slot each for the master.
max_readers() { mdb_stat -e "$EDGE_DIR/cache" 2>/dev/null | awk '/Max readers:/ { print $3 }'; }
is "$(max_readers)" 512 "the reader table has room for 256 generations of one worker"

HIT=$(honest_digest 1)
is "$(cache_status hold "$HIT")" MISS "first HEAD of a blob is a MISS"
check "its descriptor is committed" wait_for recorded_at_least 1
is "$(cache_status hold "$HIT")" HIT "then a HIT"

# The first worker is held by the transfer that finishes at the end.
curl -s --max-time 300 -o "$T/finish.body" "http://$EDGE/v2/finish/blobs/$FINISH_DIGEST" &
FINISH=$!
E2E_HELPERS+=("$FINISH")
check "a transfer is in progress on the first worker" wait_for held_at_least 1

# Transfers held from this shell's own sockets (bash's /dev/tcp): no process per transfer.
# Reload N waits until the worker it replaced was told to exit (it logs so at once, having
# closed its listening sockets), so transfer N+1 lands on the new worker.
start=$SECONDS
held_fds=()
failed_at=
for ((n = 1; n <= RELOADS; n++)); do
    if ((n > 1)); then
        exec {fd}<>"/dev/tcp/127.0.0.1/${EDGE#*:}"
        printf 'GET /v2/hold/blobs/%s HTTP/1.1\r\nHost: edge\r\n\r\n' "$(honest_digest $((1000 + n)))" >&"$fd"
        held_fds+=("$fd")
        wait_for held_at_least "$n" >/dev/null || { failed_at="transfer $n"; break; }
    fi
    kill -HUP "$MASTER"  # what `nginx -s reload` sends
    wait_for exiting_at_least "$n" >/dev/null || { failed_at="reload $n"; break; }
done
diag "$RELOADS reloads with transfers held in $((SECONDS - start)) s"
is "$failed_at" "" "every reload took effect with a transfer held in the worker it replaced"
is "$(children | wc -l)" "$((RELOADS + 1))" \
    "the $RELOADS old workers still run, each held by its transfer, beside the new one"

check "after $RELOADS reloads under held transfers every HEAD is a HIT" all_hits
NEW=$(honest_digest 2)
is "$(cache_status hold "$NEW")" MISS "the newest worker learns a new blob"
check "and commits it" wait_for recorded_at_least 2
is "$(cache_status hold "$NEW")" HIT "which is then a HIT"
check "reader slots in lock.mdb belong to the serving worker only" wait_for only_serving_holds_slots

# The first worker gave its slot back long ago; its held body now ends, is verified and
# learned, and the worker commits it with no reader slot of its own.
before=$(recorded)
touch "$T/finish"
check "the held transfer of the first worker ends" wait_for bash -c "! kill -0 $FINISH 2>/dev/null"
is "$(sha256sum <"$T/finish.body" | cut -d' ' -f1)" "${FINISH_DIGEST#sha256:}" "its client got the whole body"
check "the exiting worker commits what the body taught" wait_for recorded_at_least "$((before + 1))"
is "$(cache_status finish "$FINISH_DIGEST")" HIT "and the serving worker answers it from the store"

# The held transfers end from the client side, and their workers exit as gracefully exiting
# workers do: the exit watch, a cancelable timer, keeps none waiting. (Stopping the edge
# with them still held would make nginx 1.22 itself log "open socket left" alerts.)
workers=$(children)
for fd in "${held_fds[@]}"; do exec {fd}>&-; done
only_serving_left() { [[ $(children) == "$(serving_worker)" ]]; }
check "once their transfers end, the $RELOADS old workers exit" wait_for only_serving_left
e2e_edge_stop
still_running() { local pid; for pid in $workers; do alive "$pid" && echo "$pid"; done; return 0; }
is "$(still_running)" "" "stopping the edge leaves none of its workers running"
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
