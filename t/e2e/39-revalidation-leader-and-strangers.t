#!/usr/bin/env bash
# One revalidation for many, from the side of those it must not fail: the client that leads
# leaves while its HEAD is asked (the others are still answered, long before the 5 s wait
# ends), a client's HEAD leads GETs, and clients whose Accept does not name the held type
# never wait on it (e2e 37 is the fleet's burst itself).
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

# Between the edge and the registry, a tap that holds each HEAD for half a second before it
# passes it on: long enough for the 20 clients of a burst to come while one is asked.
SLOW_PY=$(cat <<'PY'
import asyncio, sys

listen_port, upstream_port = int(sys.argv[1]), int(sys.argv[2])

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
        await asyncio.sleep(0.5)
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
python3 -c "$SLOW_PY" "$SLOW_PORT" "$REGISTRY_PORT" 2>"$T/logs/slow.log" &
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
e2e_store_edge_start "zone=edge:1m max_size=64m blobs_max_size=1g" "127.0.0.1:$SLOW_PORT"
touch "$T/asked.log"
diag "edge on $EDGE with 2 workers, registry on $REGISTRY behind a tap on 127.0.0.1:$SLOW_PORT"

ACCEPT='Accept: application/vnd.oci.image.manifest.v1+json'
# burst PATH: 20 GETs of PATH at once, each on its own connection; prints "status
# cache-status" per request, counted.
burst() {
    seq 20 | xargs -P 20 -I{} curl -s -o /dev/null --max-time 15 -H "$ACCEPT" \
        -w '%{http_code} %header{x-cache-status}\n' "http://$EDGE$1" | sort | uniq -c | awk '{ $1 = $1; print }' |
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
# The leader's client leaves while its HEAD is held.
sleep 3.1
mark=$(lines)
curl -s -o /dev/null --max-time 0.2 -H "$ACCEPT" "http://$EDGE$TAG" & bg=$!
sleep 0.1
start=$(date +%s.%N)
out=$(seq 19 | xargs -P 19 -I{} curl -s -o /dev/null --max-time 15 -H "$ACCEPT" \
        -w '%{http_code} %header{x-cache-status}\n' "http://$EDGE$TAG" | sort | uniq -c | awk '{ $1 = $1; print }' | paste -sd';' -)
end=$(date +%s.%N)
like "$out" '^(1[89] 200 HIT)(;1 200 REVALIDATED)?$' "the client that led left mid-revalidation: the 19 others are answered from the edge"
like "$(echo "$end - $start < 3" | bc)" '^1$' "well within the 5 s wait ($(echo "$end - $start" | bc) s)"
like "$(heads_since "$mark" "$TAG")" '^[12]$' "with one HEAD upstream (two if the one who left gave up its lead)"
wait "$bg" || true
# Probe: HEAD of the tag as leader, GETs follow
sleep 3.1
mark=$(lines)
curl -s -o /dev/null -I -H "$ACCEPT" "http://$EDGE$TAG" & bg=$!
sleep 0.1
out=$(burst "$TAG")
is "$out" "20 200 HIT" "a client's HEAD leads the GETs that come while it asks"
is "$(heads_since "$mark" "$TAG")" 1 "with one HEAD upstream"
wait "$bg" || true
# Probe: a leader with a different Accept that still names the type
sleep 3.1
mark=$(lines)
curl -s -o /dev/null -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' "http://$EDGE$TAG" & bg=$!
sleep 0.1
out=$(seq 19 | xargs -P 19 -I{} curl -s -o /dev/null --max-time 15 -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
        -w '%{http_code} %header{x-cache-status}\n' "http://$EDGE$TAG" | sort | uniq -c | awk '{ $1 = $1; print }' | paste -sd';' -)
is "$out" "19 404 MISS" "clients whose Accept does not name the held type wait for nobody and get the upstream's answer"
wait "$bg" || true
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
