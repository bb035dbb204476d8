#!/usr/bin/env bash
# One revalidation for many: past its TTL, a tag (or a link) that 20 clients ask for at once,
# over two workers, is asked about upstream with one HEAD. The first request leads; the others
# wait for its outcome and are answered with what it renewed (a fleet pulling one image after
# the TTL sends one HEAD, not one per node), and a tag that moved one GET of its new manifest.
# A manifest the edge never saw, asked for by 20 clients at once, is fetched once likewise.
# An upstream that does not confirm what is held otherwise sends each waiting request its own
# way, as if nobody had led. A leader whose client leaves before the upstream answers is
# replaced by one of those that waited, and the rest wait on.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

export E2E_WORKERS=2
e2e_init
e2e_registry
e2e_build_image hello 1.0 "$T/src"
DIGEST=$(layout_manifest_digest "$T/src" 1.0)
CONFIG=$(jq -r .config.digest "$(layout_blob "$T/src" "$DIGEST")")
check "skopeo pushes e2e/fleet:1.0 to the registry" \
    skopeo_ copy --dest-tls-verify=false "oci:$T/src:1.0" "docker://$REGISTRY/e2e/fleet:1.0"

# Between the edge and the registry, a tap that holds each HEAD for the seconds in $T/hold
# (half a second: long enough for the 20 clients of a burst to come while one is asked), and
# each GET of a manifest for those in $T/hold_gets, before it passes it on, and writes the path
# of each HEAD to $T/heads as it comes.
echo 0.5 >"$T/hold"
echo 0 >"$T/hold_gets"
touch "$T/heads"
SLOW_PY=$(cat <<'PY'
import asyncio, sys

listen_port, upstream_port, hold_file, heads_file, gets_file = (int(sys.argv[1]), int(sys.argv[2]), sys.argv[3],
                                                                sys.argv[4], sys.argv[5])

async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()

async def serve(reader, writer):
    head = await reader.readuntil(b"\r\n\r\n")
    if head.startswith(b"HEAD "):
        with open(heads_file, "a") as heads:
            heads.write(head.split(b" ")[1].decode() + "\n")
        with open(hold_file) as hold:
            await asyncio.sleep(float(hold.read()))
    elif head.startswith(b"GET ") and b"/manifests/" in head.split(b" ")[1]:
        with open(gets_file) as hold:
            await asyncio.sleep(float(hold.read()))
    up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
    up_writer.write(head)
    await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", listen_port)
    async with server:
        await server.serve_forever()

asyncio.run(main())
PY
)
SLOW_PORT=$(free_port)
python3 -c "$SLOW_PY" "$SLOW_PORT" "$REGISTRY_PORT" "$T/hold" "$T/heads" "$T/hold_gets" 2>"$T/logs/slow.log" &
SLOW_PID=$!
trap 'rc=$?; set +e; kill "$SLOW_PID" 2>/dev/null; (exit $rc); _e2e_cleanup' EXIT
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$SLOW_PORT/v2/" && break; sleep 0.1; done

# Every request the edge sends upstream, its revalidations' HEADs (subrequests) too, with the
# bytes of the body that came back (a subrequest's \$request_method is its main request's:
# a HEAD is told by its empty body).
STORE_EDGE_HTTP="  log_format asked '\$uri \$status \$upstream_response_length';"
STORE_EDGE_LOCATION="      registry_cache_tag_ttl 2s;
      registry_cache_link_ttl 2s;"
STORE_EDGE_UPSTREAM="      access_log $T/asked.log asked;
      log_subrequest on;"
# A second server of the same cache whose clients are answered with what is held while
# another revalidates it (registry_cache_use_stale updating).
UPDATING=127.0.0.1:$(free_port)
STORE_EDGE_SERVERS="  server {
    listen $UPDATING;
    add_header X-Cache-Status \$registry_cache_status always;
    location /v2/ {
      registry_cache edge;
      registry_cache_pass @registry;
      registry_cache_verify threads=verify;
      registry_cache_tag_ttl 2s;
      registry_cache_link_ttl 2s;
      registry_cache_use_stale updating;
    }
    location @registry {
      proxy_pass http://127.0.0.1:$SLOW_PORT;
$STORE_EDGE_UPSTREAM
    }
  }"
e2e_store_edge_start "zone=edge:1m max_size=64m blobs_max_size=1g" "127.0.0.1:$SLOW_PORT"
touch "$T/asked.log"
diag "edge on $EDGE with 2 workers, registry on $REGISTRY behind a tap on 127.0.0.1:$SLOW_PORT"

ACCEPT='Accept: application/vnd.oci.image.manifest.v1+json'
# burst PATH [N [CURL OPTION]]: N (20) GETs (or HEADs: -I) of PATH at once, each on its own
# connection, to $TO (the edge); prints "status cache-status" per request, counted.
TO=$EDGE
burst() {
    seq "${2:-20}" | xargs -P "${2:-20}" -I{} curl ${3:-} -s -o /dev/null --max-time 15 -H "$ACCEPT" \
        -w '%{http_code} %header{x-cache-status}\n' "http://$TO$1" | sort | uniq -c | awk '{ $1 = $1; print }' |
        paste -sd';' -
}
# The HEADs the edge sent upstream for PATH since line MARK of its log, and the rest.
heads_since() { tail -n +$(($1 + 1)) "$T/asked.log" | awk -v p="$2" '$1 == p && $3 == "0"' | wc -l; }
others_since() { tail -n +$(($1 + 1)) "$T/asked.log" | awk '$3 != "0"' | wc -l; }
lines() { wc -l <"$T/asked.log"; }

TAG=/v2/e2e/fleet/manifests/1.0
MANIFEST=/v2/e2e/fleet/manifests/$DIGEST
BLOB=/v2/e2e/fleet/blobs/$CONFIG
for path in "$TAG" "$MANIFEST" "$BLOB"; do
    curl -s -o /dev/null -H "$ACCEPT" "http://$EDGE$path"
done
is "$(burst "$TAG")" "20 200 HIT" "the tag, learned, answers 20 clients at once from the edge"

# Past the TTLs of 2 s (whole seconds: 3 s after they were learned). The tag last: its
# revalidation renews the link of the manifest it names too.
sleep 3.1
waits() { edge_metric 'nginx_registry_cache_flight_waits_total{cache="edge"}'; }
for path in "$MANIFEST" "$BLOB" "$TAG"; do
    mark=$(lines) waited=$(waits)
    is "$(burst "$path")" "19 200 HIT;1 200 REVALIDATED" \
        "${path##*/} past its TTL, 20 clients at once: one revalidated it, the others were answered with what it renewed"
    is "$(heads_since "$mark" "$path")" 1 "with one HEAD upstream"
    is "$(others_since "$mark")" 0 "and nothing else"
    like "$(($(waits) - waited))" '^([1-9]|1[0-9])$' "the clients that came while it asked waited for it, counted"
done

# A first client that leaves while its HEAD is held upstream (2 s), after 10 others came to
# wait for it: one of them asks again, the others wait for that, and all 10 are answered.
# Each step waits for what the one before it shows (the tap's log, the edge's metric).
sleep 3.1
echo 2 >"$T/hold"
heads() { wc -l <"$T/heads"; }
until_true() {  # SECONDS COMMAND...: polls COMMAND every 0.05 s until it succeeds
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.05
    done
}
# leader_leaves PATH [-I]: the answers of the 10 others, counted, and the HEADs upstream.
leader_leaves() {
    local asked waited leader followers
    asked=$(heads) waited=$(waits)
    curl ${2:-} -s -o /dev/null --max-time 15 -H "$ACCEPT" "http://$EDGE$1" &
    leader=$!
    until_true 10 eval '(($(heads) > asked))' || echo "(its HEAD never reached the upstream)"
    burst "$1" 10 "${2:-}" >"$T/followers" &
    followers=$!
    until_true 10 eval '(($(waits) - waited >= 10))' || echo "(the others did not wait for it)"
    kill "$leader"
    wait "$followers"
    echo "$(<"$T/followers"), $(($(heads) - asked)) HEADs"
}
is "$(leader_leaves "$TAG")" "9 200 HIT;1 200 REVALIDATED, 2 HEADs" \
    "the tag's first client gone mid-HEAD: one of the 10 that waited revalidated it, the others were answered with it (one more HEAD)"
# The same for a miss: a HEAD of a layer the edge never saw.
LAYER=/v2/e2e/fleet/blobs/$(jq -r '.layers[0].digest' "$(layout_blob "$T/src" "$DIGEST")")
is "$(leader_leaves "$LAYER" -I)" "9 200 HIT;1 200 MISS, 2 HEADs" \
    "a layer's first client gone mid-HEAD: one of the 10 that waited asked again, the others were answered with what it learned"
echo 0.5 >"$T/hold"

# With registry_cache_use_stale updating, the others are answered at once with what is held
# (STALE) while the first asks (held 2 s upstream: none of the 20 comes after its answer).
sleep 3.1
echo 2 >"$T/hold"
TO=$UPDATING
for path in "$MANIFEST" "$BLOB" "$TAG"; do
    mark=$(lines)
    is "$(burst "$path")" "1 200 REVALIDATED;19 200 STALE" \
        "${path##*/} past its TTL, 20 clients at once, use_stale updating: one revalidated it, the others were answered with what is held"
    is "$(heads_since "$mark" "$path")" 1 "with one HEAD upstream"
done
TO=$EDGE
echo 0.5 >"$T/hold"

# A tag moved upstream, past its TTL, 20 clients at once: the first learns of it with its HEAD
# and fetches the new manifest by the tag; the others wait for it and are answered with what it
# recorded (one manifest GET upstream, not one per client: registries count those).
e2e_build_image other 1.0 "$T/moved"
MOVED=$(layout_manifest_digest "$T/moved" 1.0)
check "skopeo pushes another image as e2e/fleet:1.0" \
    skopeo_ copy --dest-tls-verify=false "oci:$T/moved:1.0" "docker://$REGISTRY/e2e/fleet:1.0"
sleep 3.1
mark=$(lines)
is "$(burst "$TAG")" "19 200 HIT;1 200 MISS" \
    "the tag moved upstream, 20 clients at once: one fetched the new manifest, the others were answered with it"
is "$(heads_since "$mark" "$TAG")" 1 "with one HEAD upstream"
is "$(others_since "$mark")" 1 "and one GET of the tag"
is "$(curl -s -o /dev/null -H "$ACCEPT" -w '%header{docker-content-digest}' "http://$EDGE$TAG")" "$MOVED" \
    "the edge answers the tag with the new manifest"

# An upstream that no longer holds what the edge holds: the tag is deleted there (with the
# manifest it names). Each waiting request asks for itself, and gets the upstream's own answer.
sleep 3.1
check "the registry forgets the tag" \
    curl -sf -X DELETE -o /dev/null "http://$REGISTRY/v2/e2e/fleet/manifests/$MOVED"
mark=$(lines)
is "$(burst "$TAG")" "20 404 MISS" "the tag gone upstream, past its TTL: every client gets the upstream's 404"
like "$(heads_since "$mark" "$TAG")" '^([1-9]|1[0-9]|20)$' "after at most one HEAD each"

# A fleet of containerd or Docker nodes, whose first request is a HEAD of the tag, when the tag
# moved to a manifest the edge never saw: the first learns of it with its HEAD and asks the tag
# itself; the others are answered with what its answer taught (the tag's record: a HEAD needs no
# manifest bytes). Two HEADs upstream for the fleet, not one or two per node.
IMAGE_RANDOM_BYTES=4096 e2e_build_image third 1.0 "$T/third"  # (small: only its manifest is asked)
THIRD=$(layout_manifest_digest "$T/third" 1.0)
check "skopeo pushes a third image as e2e/fleet:1.0" \
    skopeo_ copy --dest-tls-verify=false "oci:$T/third:1.0" "docker://$REGISTRY/e2e/fleet:1.0"
# (The edge's record of the tag is past its TTL already: nothing renewed it since the sleep above.)
mark=$(lines)
is "$(burst "$TAG" 20 -I)" "19 200 HIT;1 200 MISS" \
    "the tag moved upstream, 20 HEADs at once: the first asked it, the others were answered with what it learned"
is "$(heads_since "$mark" "$TAG")" 2 "with two HEADs upstream (its revalidation, then its own)"
is "$(others_since "$mark")" 0 "and nothing else"
is "$(curl -s -o /dev/null -I -H "$ACCEPT" -w '%header{docker-content-digest} %header{content-length}' "http://$EDGE$TAG")" \
    "$THIRD $(wc -c <"$(layout_blob "$T/third" "$THIRD")")" "the edge answers a HEAD of the tag with the new digest and size"

# A rollout: an image the edge never saw, its manifest asked for by 20 clients at once by its
# digest, then by its tag (each GET held half a second upstream). The first of each fetches it;
# the others wait for it and are answered with what it recorded: one manifest GET upstream
# each time, not 20 (registries count those against pull limits).
IMAGE_RANDOM_BYTES=4096 e2e_build_image rollout 1.0 "$T/rollout"  # (small: only its manifest is asked)
ROLLOUT=$(layout_manifest_digest "$T/rollout" 1.0)
check "skopeo pushes e2e/rollout:1.0 to the registry" \
    skopeo_ copy --dest-tls-verify=false "oci:$T/rollout:1.0" "docker://$REGISTRY/e2e/rollout:1.0"
gets_since() { tail -n +$(($1 + 1)) "$T/asked.log" | awk -v p="$2" '$1 == p && $3 != "0"' | wc -l; }
echo 0.5 >"$T/hold_gets"
for path in "/v2/e2e/rollout/manifests/$ROLLOUT" /v2/e2e/rollout/manifests/1.0; do
    mark=$(lines)
    is "$(burst "$path")" "19 200 HIT;1 200 MISS" \
        "${path##*/}, never seen, 20 clients at once: one fetched it, the others were answered with what it recorded"
    is "$(gets_since "$mark" "$path")" 1 "with one GET upstream"
done
echo 0 >"$T/hold_gets"

check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
