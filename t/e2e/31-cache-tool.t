#!/usr/bin/env bash
# registry-cache, the operator's tool, on the cache directory of an edge that goes on serving:
# skopeo pulls an image through an edge that keeps blob bodies; stats, ls, show and verify
# read the cache (their --json parsed by jq) while a loop of HEADs keeps the edge busy, every
# one of them answered; a damaged blob file is reported by verify and removed by verify --fix;
# a purge by the tool makes the edge ask the registry again (MISS). Exit codes as the README
# documents them: 0 ok, 1 nothing matched or problems found, 2 usage, 3 store or system error.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
for tool in skopeo jq; do command -v "$tool" >/dev/null || skip_all "$tool missing"; done
TOOL=${REGISTRY_CACHE_TOOL:-$(dirname "$MODULE_SO")/registry-cache}
[[ -x $TOOL ]] || skip_all "no registry-cache at $TOOL (make build)"
e2e_registry
e2e_build_image hello 1.0 "$T/src"
MANIFEST=$(layout_manifest_digest "$T/src" 1.0)
LAYER=$(layout_largest_layer "$T/src" 1.0)
CONFIG=$(jq -r '.config.digest' "$(layout_blob "$T/src" "$MANIFEST")")
LAYER_SIZE=$(stat -c %s "$(layout_blob "$T/src" "$LAYER")")
BLOBS=$(jq '.layers | length + 1' "$(layout_blob "$T/src" "$MANIFEST")")
MAP_SIZE=$((64 << 20))
STORE_EDGE_LOCATION="      registry_cache_tag_ttl 1h;"
e2e_store_edge_start "zone=edge:1m max_size=64m blobs_max_size=1g" "$REGISTRY"
CACHE=$EDGE_DIR/cache
diag "edge on $EDGE, cache $CACHE, tool $TOOL"
# The edge forwards the client's Host upstream, so it keeps what it learns under that Host:
# the tool names such a repository with --host.
IN=(--host 127.0.0.1)

# The tool's exit code, its stdout in $T/out and stderr in $T/err.
tool() {
    local rc=0
    "$TOOL" "$@" >"$T/out" 2>"$T/err" || rc=$?
    echo "$rc"
}
json_is() { jq -e "$1" "$T/out" >/dev/null; }

check "skopeo pulls demo/hello:1.0 through the edge" \
    skopeo_ copy --src-tls-verify=false "docker://$EDGE/demo/hello:1.0" "oci:$T/pulled:1.0"
bodies_kept() { [[ $(tool stats --json "$CACHE") == 0 ]] && json_is ".entries.blob_bodies == $BLOBS"; }
check "the edge keeps the $BLOBS blob bodies (stats --json)" wait_for bodies_kept

# A client that keeps the edge busy while the tool runs: HEADs of the layer, each status noted.
busy() {
    while [[ ! -e $T/stop ]]; do
        curl -s -o /dev/null -I --max-time 5 -w '%{http_code}\n' "http://$EDGE/v2/demo/hello/blobs/$LAYER" >>"$T/heads"
    done
}
busy &
BUSY=$!
E2E_HELPERS+=("$BUSY")
busy_heads() { [[ -s $T/heads ]]; }
check "the busy client is answered" wait_for busy_heads

is "$(tool stats --json "$CACHE")" 0 "stats --json exits 0"
check "stats counts the manifest link, the tag and the blob links" \
    json_is ".entries.manifest_links == 1 and .entries.tags == 1 and .entries.blob_links == $BLOBS and .entries.manifest_bodies == 1"
check "stats gives the map's limit as nginx set it (max_size) and bytes in use below it" \
    json_is ".map_size == $MAP_SIZE and .map_used > 0 and .map_used < .map_size"
check "stats counts the bytes of the blob files, the layer's among them" \
    json_is ".blob_file_bytes >= $LAYER_SIZE and .blob_body_bytes == .blob_file_bytes"
check "stats gives the oldest entry's time, of this run" json_is ".oldest_stored_at >= $(($(date +%s) - 600))"
is "$(tool stats "$CACHE")" 0 "stats for a person exits 0"
like "$(cat "$T/out")" "oldest entry +20[0-9][0-9]-" "and says when the oldest entry was stored"

is "$(tool ls --json "$CACHE")" 0 "ls --json exits 0"
check "ls lists demo/hello, in no namespace, with its counts" \
    json_is ".repositories[] | select(.name == \"demo/hello\" and .namespace == \"\" and .host == \"127.0.0.1\" and .tags == 1 and .manifest_links == 1)"
is "$(tool ls "$CACHE")" 0 "ls for a person exits 0"
like "$(cat "$T/out")" "^host=127.0.0.1 demo/hello  blobs $BLOBS " "and names the repository as --host names it"
is "$(tool ls --json "$CACHE" "${IN[@]}" demo/hello)" 0 "ls --json demo/hello exits 0"
check "its tag 1.0 names the manifest" json_is ".tags[] | select(.reference == \"1.0\" and .digest == \"$MANIFEST\")"
check "its layer's link has the layer's size and is public" \
    json_is ".blob_links[] | select(.reference == \"$LAYER\" and .size == $LAYER_SIZE and .scope == \"public\")"
check "its manifest link has the manifest's media type" \
    json_is ".manifest_links[] | select(.reference == \"$MANIFEST\" and .media_type == \"application/vnd.oci.image.manifest.v1+json\")"
is "$(tool ls "$CACHE" "${IN[@]}" demo/nothing)" 1 "ls of a repository the cache does not hold exits 1"

is "$(tool show --json "$CACHE" "${IN[@]}" demo/hello 1.0)" 0 "show --json of the tag exits 0"
check "it shows the tag and the manifest it names" \
    json_is "[.records[].kind] == [\"tag\", \"manifest\"] and .records[1].reference == \"$MANIFEST\""
is "$(tool show --json "$CACHE" "${IN[@]}" demo/hello "$LAYER")" 0 "show --json of the layer exits 0"
check "it shows the link and the body kept on disk, of the layer's size" \
    json_is ".records[0].kind == \"blob\" and .blob_body.size == $LAYER_SIZE"
is "$(tool show "$CACHE" "${IN[@]}" demo/hello 9.9)" 1 "show of a tag the cache does not hold exits 1"
is "$(tool show "$CACHE" demo/hello 1.0)" 1 "show of the repository in no namespace exits 1 (the edge keeps it under its Host)"
is "$(tool show "$CACHE" Demo/Hello 1.0)" 2 "show of an invalid name exits 2"
is "$(tool frobnicate "$CACHE")" 2 "an unknown command exits 2"
is "$(tool stats "$T/nowhere")" 3 "stats of a directory without a cache exits 3"
like "$(cat "$T/err")" "$T/nowhere.*stat\\($T/nowhere/data.mdb\\): No such file" "naming the path and the call that failed"
check "and creates nothing there" test ! -e "$T/nowhere"

is "$(tool verify --hash --json "$CACHE")" 0 "verify --hash of a sound cache exits 0"
check "having checked every table and found nothing" \
    json_is ".problems == [] and .checked.blob_bodies == $BLOBS and .checked.blob_links == $BLOBS and .hashed"

# Damage: one byte of the layer's file changed (its size kept), the config's file cut short.
layer_file=$CACHE/blobs/sha256/${LAYER:7:2}/${LAYER#sha256:}
config_file=$CACHE/blobs/sha256/${CONFIG:7:2}/${CONFIG#sha256:}
check "the layer's body file is where the layout says" test -f "$layer_file"
printf 'X' | dd of="$layer_file" bs=1 seek=10 conv=notrunc status=none
truncate -s 1 "$config_file"
is "$(tool verify --json "$CACHE")" 1 "verify (sizes only) finds a problem and exits 1"
check "the config's file, of the wrong size" \
    json_is "[.problems[] | select(.table == \"blob_bodies\") | .reference] == [\"$CONFIG\"] and (.problems[0].problem | test(\"bytes, recorded\"))"
is "$(tool verify --hash --json "$CACHE")" 1 "verify --hash exits 1"
check "and finds the layer's changed byte too" \
    json_is "[.problems[].reference] | sort == ([\"$CONFIG\", \"$LAYER\"] | sort)"
is "$(tool verify --hash --fix --json "$CACHE")" 1 "verify --hash --fix exits 1 (problems were found)"
check "having removed the two records" json_is ".fixed == 2"
check "and their files" test ! -e "$layer_file" -a ! -e "$config_file"
is "$(tool verify --hash --json "$CACHE")" 0 "verify --hash then finds the cache sound"
is "$(tool stats --json "$CACHE")" 0 "stats then"
check "counts $((BLOBS - 2)) blob bodies, the map size unchanged" \
    json_is ".entries.blob_bodies == $((BLOBS - 2)) and .map_size == $MAP_SIZE"
layer_sha=$(curl -s "http://$EDGE/v2/demo/hello/blobs/$LAYER" | sha256sum | cut -d' ' -f1)
is "sha256:$layer_sha" "$LAYER" "the edge answers a GET of the layer with its true bytes"

manifest_status() {
    curl -s -o /dev/null -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        -w '%{http_code} %header{x-cache-status}' "http://$EDGE/v2/demo/hello/manifests/$MANIFEST"
}
is "$(manifest_status)" "200 HIT" "the edge answers the manifest itself before the purge"
is "$(tool purge --json "$CACHE" "${IN[@]}" demo/hello "$CONFIG")" 0 "a purge of one digest exits 0"
check "forgetting that one blob link" json_is ".purged.blob_links == 1 and .purged.manifest_links == 0"
is "$(tool purge --json "$CACHE" "${IN[@]}" demo/hello)" 0 "purge --json of the repository exits 0"
check "counting what went" json_is ".purged.manifest_links == 1 and .purged.tags == 1 and .purged.blob_links == $((BLOBS - 1))"
is "$(manifest_status)" "200 MISS" "the edge then asks the registry for the manifest"
is "$(tool purge "$CACHE" "${IN[@]}" demo/nothing)" 1 "a purge that matches nothing exits 1"
is "$(tool purge "$CACHE" "${IN[@]}" demo/hello 'bad tag')" 2 "a purge of neither a digest nor a tag exits 2"

touch "$T/stop"
wait "$BUSY" || true
heads=$(wc -l <"$T/heads")
check "the busy client made many HEADs during the tool's runs ($heads)" test "$heads" -ge 20
is "$(sort -u "$T/heads" | tr '\n' ' ')" "200 " "and every one was answered 200"
is "$(tool stats --json "$CACHE")" 0 "stats after the tool's writes"
check "the map size is still nginx's" json_is ".map_size == $MAP_SIZE"
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
