#!/usr/bin/env bash
# Ranges of blob bodies answered from the store's files, in the shapes real clients send:
# - podman's partial pull of a zstd:chunked image (containers/image GetBlobAt): one range
#   for the table of contents, then one request with several ranges, answered
#   multipart/byteranges; podman checks every file against the table's digests.
# - containerd 2.x's parallel layer fetch (concurrent_layer_fetch_buffer): a GET without a
#   Range read for one chunk and dropped, then open-ended `Range: bytes=N-` requests side by
#   side, each read for one chunk and dropped. Debian's containerd (1.6) fetches whole
#   layers, so the shape is sent with curl, as containerd's fetcher sends it.
# Then the worker's memory over 10,000 GETs of a stored body: flat.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_registry
STORE_EDGE_HTTP="  log_format ranges '\$request_method \$uri \$status \"\$http_range\" \$registry_cache_status \$upstream_addr';"
STORE_EDGE_SERVER="    access_log $T/ranges.log ranges;"
e2e_store_edge_start "zone=edge:1m max_size=16m blobs_max_size=1g" "$REGISTRY"
e2e_podman_init
# podman on overlay storage (partial pulls need it), with partial pulls on.
export PODMAN_DRIVER=overlay CONTAINERS_STORAGE_CONF=$T/podman/storage.conf
cat >"$CONTAINERS_STORAGE_CONF" <<CONF
[storage]
driver = "overlay"
runroot = "$T/podman/run"
graphroot = "$T/podman/root"
[storage.options]
pull_options = {enable_partial_images = "true", use_hard_links = "false", ostree_repos = ""}
CONF
# Overlay mounts of podman's storage go before the temp dir does.
trap 'rc=$?; set +e; podman_ rm -af >/dev/null 2>&1
      findmnt -rn -o TARGET | grep -F "$T/" | sort -r | xargs -r umount 2>/dev/null
      (exit $rc); _e2e_cleanup' EXIT

sha() { echo "sha256:$(sha256sum | cut -d' ' -f1)"; }
# Requests for blob DIGEST since the log's line MARK: "status range cache-status upstream".
blob_requests() {
    tail -n +$(($2 + 1)) "$T/ranges.log" | awk -v p="/blobs/$1" 'index($2, p) { $1 = ""; $2 = ""; print substr($0, 3) }'
}
log_mark() { wc -l <"$T/ranges.log"; }

# ---- podman's partial pull ------------------------------------------------------------
# An image of two files (3 MB of random bytes, a text), pushed zstd:chunked.
mkdir -p "$T/ctx"
head -c 3000000 /dev/urandom >"$T/ctx/random.bin"
seq 1 200000 >"$T/ctx/numbers.txt"
tar -C "$T/ctx" -cf "$T/layer.tar" random.bin numbers.txt
podman_ import "$T/layer.tar" localhost/e2e/chunked:1 >/dev/null 2>&1
podman_ push --format oci localhost/e2e/chunked:1 "oci-archive:$T/chunked.tar" >/dev/null 2>&1
# (gone before the pull, so that podman has no file of it to reuse)
podman_ rmi -af >/dev/null
REPO=e2e/chunked-$$
check "skopeo pushes the image zstd:chunked" skopeo_ copy --dest-tls-verify=false \
    --dest-compress-format zstd:chunked "oci-archive:$T/chunked.tar" "docker://$REGISTRY/$REPO:1"
LAYER=$(curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REGISTRY/v2/$REPO/manifests/1" | jq -r '.layers[0].digest')

# The layer's body into the store (one whole GET), as an earlier whole pull would leave it.
code() { curl -s -o "$T/body" --max-time 20 -w '%{http_code} %header{x-cache-status}' "$@"; }
is "$(code "http://$EDGE/v2/$REPO/blobs/$LAYER") $(sha <"$T/body")" "200 MISS $LAYER" "the layer is fetched whole once"
is "$(code "http://$EDGE/v2/$REPO/blobs/$LAYER")" "200 HIT" "and kept"

mark=$(log_mark)
check "podman pulls it partially through the edge" podman_ pull -q "$EDGE/$REPO:1"
mapfile -t asked < <(blob_requests "$LAYER" "$mark")
diag "the layer's requests: ${asked[*]}"
multi=0 other=0
for a in "${asked[@]}"; do
    case $a in
        '206 "bytes='*,*'" HIT -') multi=$((multi + 1)) ;;
        '206 "bytes='*'" HIT -') ;;
        *) other=$((other + 1)) ;;
    esac
done
check "its layer requests are ranges (${#asked[@]} of them), at least one with several" test "$multi" -ge 1
is "$other" 0 "each answered 206 from the store's file, none passed upstream"
# Every file of the layer as podman assembled it from the ranges.
podman_ create --name partial --entrypoint /random.bin "$EDGE/$REPO:1" >/dev/null
podman_ export partial >"$T/partial.tar"
is "$(tar -xOf "$T/partial.tar" random.bin | sha) $(tar -xOf "$T/partial.tar" numbers.txt | sha)" \
    "$(sha <"$T/ctx/random.bin") $(sha <"$T/ctx/numbers.txt")" "and the files podman built from them are the image's"

# ---- containerd 2.x's parallel chunks -------------------------------------------------
CHUNK=$((1024 * 1024))
SIZE=$((4 * CHUNK + 12345))
head -c "$SIZE" /dev/urandom >"$T/big.bin"
BIG_REPO=e2e/parallel-$$
BIG=$(registry_push_blob "$T/big.bin" "$BIG_REPO")
URL=http://$EDGE/v2/$BIG_REPO/blobs/$BIG
# containerd's fetch of URL: chunk 0 from a GET without a Range, chunks 1..4 from
# `Range: bytes=<start>-`, four at a time, each read for CHUNK bytes and dropped; the chunks
# in order on stdout. Each curl leaves its headers in $T/chunk.I.headers.
parallel_fetch() {
    local i pids=()
    for i in 0 1 2 3 4; do
        if ((i == 0)); then
            (curl -s -D "$T/chunk.0.headers" --max-time 20 "$URL" | head -c "$CHUNK" >"$T/chunk.0") &
        else
            (curl -s -D "$T/chunk.$i.headers" --max-time 20 -H "Range: bytes=$((i * CHUNK))-" "$URL" |
                head -c "$CHUNK" >"$T/chunk.$i") &
        fi
        pids+=($!)
    done
    wait "${pids[@]}"
    cat "$T"/chunk.{0,1,2,3,4}
}
# "status content-range x-cache-status" of chunk I.
chunk_answer() {
    tr -d '\r' <"$T/chunk.$1.headers" | awk 'NR == 1 { s = $2 } tolower($1) == "content-range:" { r = $3 }
        tolower($1) == "x-cache-status:" { c = $2 } END { print s, (r == "" ? "-" : r), c }'
}

is "$(parallel_fetch | sha)" "$BIG" "cold: containerd's parallel chunks assemble the blob"
# The cold fetch's first GET may have kept the body already (when nginx read the upstream's
# answer whole before its client left) or not: either way a whole GET leaves it kept.
like "$(code "$URL") $(sha <"$T/body")" "^200 (MISS|HIT) $BIG\$" "a whole GET keeps it"
mark=$(log_mark)
is "$(parallel_fetch | sha)" "$BIG" "from the store: the parallel chunks assemble the blob"
answers=$(for i in 0 1 2 3 4; do chunk_answer "$i"; done | tr '\n' ' ')
want="200 - HIT "
for i in 1 2 3 4; do want+="206 bytes $((i * CHUNK))-$((SIZE - 1))/$SIZE HIT "; done
want=${want// bytes / }
is "$answers" "$want" "each chunk from the store's file, with its Content-Range"
is "$(blob_requests "$BIG" "$mark" | awk '$NF != "-"' | wc -l)" 0 "none of them went upstream"

# ---- memory over 10,000 GETs of a stored body -----------------------------------------
head -c 65536 /dev/urandom >"$T/small.bin"
SMALL=$(registry_push_blob "$T/small.bin" "$BIG_REPO")
SMALL_URL=http://$EDGE/v2/$BIG_REPO/blobs/$SMALL
is "$(code "$SMALL_URL") $(code "$SMALL_URL")" "200 MISS 200 HIT" "a 64 KiB blob is kept"
worker=$(pgrep -P "$(<"$EDGE_DIR/nginx.pid")" | head -n1)
rss_anon() { awk '/^RssAnon:/ { print $2 }' "/proc/$worker/status"; }
# COUNT GETs over one keep-alive connection; prints the statuses seen.
gets() {
    local i
    for ((i = 0; i < $1; i++)); do echo "url = \"$SMALL_URL\""; echo "output = \"/dev/null\""; done >"$T/urls"
    curl -s -K "$T/urls" -w '%{http_code}\n' | sort | uniq -c | awk '{ print $2 ":" $1 }'
}
gets 2000 >/dev/null
before=$(rss_anon)
is "$(gets 10000)" "200:10000" "10,000 GETs of the stored body, each 200"
after=$(rss_anon)
check "the worker is the one measured first" kill -0 "$worker"
# (Under ASan its allocator and quarantine make RssAnon meaningless, as for e2e 13.)
if [[ ${E2E_SANITIZED:-0} != 1 ]]; then
    check "RssAnon of the worker flat: $before kB before, $after kB after" test "$((after - before))" -lt 1024
fi

check "no worker crashed; no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
