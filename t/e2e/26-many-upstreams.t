#!/usr/bin/env bash
# One edge for two registries, told apart by containerd's `ns`: both hold demo/app:1.0, each
# its own image. ctr pulls each through the edge as a hosts.toml mirror, twice; each pull gets
# the image of the registry it named, every blob of it, though the edge learned the other's
# tag, manifests and blobs under the same repository name (before namespaces, the second
# registry's pull got the first's tag). A HEAD of a blob only one registry has is a hit in its
# namespace and that upstream's 404 in the other's.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
command -v ctr >/dev/null && command -v containerd >/dev/null ||
    skip_all "containerd missing (scripts/install-deps.sh installs them)"

# --- two registries, one repository name, two images ------------------------------
PORT_A=$("$FIXTURES/registry.sh" start "$T/reg-a")
PORT_B=$("$FIXTURES/registry.sh" start "$T/reg-b")
trap 'rc=$?; set +e; "$FIXTURES/registry.sh" stop "$T/reg-a"; "$FIXTURES/registry.sh" stop "$T/reg-b"; (exit $rc); _e2e_cleanup' EXIT
e2e_build_image hello 1.0 "$T/image-a"
e2e_build_image other 1.0 "$T/image-b"
check "registry A holds demo/app:1.0 (hello)" \
    skopeo_ copy --dest-tls-verify=false "oci:$T/image-a:1.0" "docker://127.0.0.1:$PORT_A/demo/app:1.0"
check "registry B holds demo/app:1.0 (other)" \
    skopeo_ copy --dest-tls-verify=false "oci:$T/image-b:1.0" "docker://127.0.0.1:$PORT_B/demo/app:1.0"
DIGEST_A=$(layout_manifest_digest "$T/image-a" 1.0)
DIGEST_B=$(layout_manifest_digest "$T/image-b" 1.0)
check "the two images differ" test "$DIGEST_A" != "$DIGEST_B"

# --- the edge: a map of ns picks the registry, registry_cache_namespace keys by it -------
NAME_A=registry-a.test:5000
NAME_B=registry-b.test:5000
# containerd sends ns URL-encoded (registry-a.test%3A5000); the namespace is the map's value,
# the registry itself, however its name was spelled.
STORE_EDGE_HTTP="  map \$arg_ns \$registry {
    ${NAME_A/:/%3A} 127.0.0.1:$PORT_A;
    ${NAME_B/:/%3A} 127.0.0.1:$PORT_B;
    default 127.0.0.1:1;
  }"
STORE_EDGE_LOCATION="      registry_cache_namespace \$registry;
      registry_cache_tag_ttl 1h;"
STORE_EDGE_UPSTREAM="      access_log $T/edge/upstream.log;"
e2e_store_edge_start "zone=edge:1m max_size=64m blobs_max_size=1g" '$registry'

# --- containerd, with a hosts.toml mirror for each registry ----------------------------
for name in "$NAME_A" "$NAME_B"; do
    mkdir -p "$T/certs.d/$name"
    printf 'server = "http://%s"\n[host."http://%s"]\n  capabilities = ["pull", "resolve"]\n' \
        "$name" "$EDGE" >"$T/certs.d/$name/hosts.toml"
done
e2e_containerd_start
pull() { ctr_ images pull --hosts-dir "$T/certs.d" --snapshotter native "$1"; }
held() { ctr_ images ls 2>/dev/null | awk -v i="$1" '$1 == i { print $3 }'; }
# Every blob of the image's layout is in containerd's content store (containerd checks each
# against its digest as it writes it).
all_blobs_held() {
    local d
    for d in $(layout_image_digests "$1" "$2"); do
        ctr_ content get "$d" | sha256sum | grep -q "^${d#sha256:} " || { echo "missing or wrong: $d"; return 1; }
    done
}

check "ctr pulls $NAME_A/demo/app:1.0 through the edge" pull "$NAME_A/demo/app:1.0"
is "$(held "$NAME_A/demo/app:1.0")" "$DIGEST_A" "it is registry A's image"
check "every blob of A's image is held, as named" all_blobs_held "$T/image-a" "$DIGEST_A"
check "ctr pulls $NAME_B/demo/app:1.0 through the edge" pull "$NAME_B/demo/app:1.0"
is "$(held "$NAME_B/demo/app:1.0")" "$DIGEST_B" "it is registry B's image, not A's (the tag A taught is A's only)"
check "every blob of B's image is held, as named" all_blobs_held "$T/image-b" "$DIGEST_B"

# Again, with what containerd holds removed: from the edge, and still each its own.
for name in "$NAME_A" "$NAME_B"; do
    ctr_ images rm "$name/demo/app:1.0" >/dev/null
done
ctr_ content prune references >/dev/null 2>&1 || true
check "ctr pulls A again" pull "$NAME_A/demo/app:1.0"
check "ctr pulls B again" pull "$NAME_B/demo/app:1.0"
is "$(held "$NAME_A/demo/app:1.0")" "$DIGEST_A" "A's image again"
is "$(held "$NAME_B/demo/app:1.0")" "$DIGEST_B" "B's image again"
check "containerd asked the edge with ns" \
    grep -aq "/v2/demo/app/manifests/1.0?ns=${NAME_B/:/%3A}" \
    "$T/edge/access.log" "$T/edge/upstream.log"
check "the second pulls' tags were answered by the edge" \
    grep -aq "/v2/demo/app/manifests/1.0?ns=${NAME_B/:/%3A} HTTP/1.1\" 200" "$T/edge/access.log"

# --- a blob only A has: a hit in A's namespace, B's own 404 in B's ----------------------
ONLY_A=$(comm -23 <(layout_image_digests "$T/image-a" "$DIGEST_A" | sort) \
                  <(layout_image_digests "$T/image-b" "$DIGEST_B" | sort) | head -1)
check "A has a blob B has not" test -n "$ONLY_A"
head_of() { curl -s -o /dev/null -I -w '%{http_code} %header{x-cache-status}' "http://$EDGE/v2/demo/app/blobs/$ONLY_A?ns=$1"; }
hit_in_a() { test "$(head_of "${NAME_A/:/%3A}")" = "200 HIT"; }
check "HEAD in A's namespace: learned" wait_for hit_in_a
is "$(head_of "${NAME_B/:/%3A}")" "404 MISS" "HEAD in B's namespace: B's own 404"
is "$(head_of other.test)" "502 MISS" "a namespace of no registry: the default upstream (none here), never a hit"

kill "$CONTAINERD"
wait "$CONTAINERD" 2>/dev/null || true
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
