#!/usr/bin/env bash
# Real clients through the edge in front of a registry with token authentication
# (pass-through mode: registry_cache_token_trust). The registry's challenge sends skopeo,
# podman and ctr to a token service of the test's own (t/fixtures/token-service.py: anonymous
# pull of public repositories, Basic credentials for private/, RS256 and ES256 tokens in turn,
# each with its x5c chain); they come back with Bearer tokens on every request. Each client
# pulls a private image with credentials twice, its own copy removed between the pulls: the
# second pull fetches no blob and no manifest from the upstream (the edge checked the
# client's new tokens and answered from what the first pull taught), only the tag is asked
# (one HEAD: registry_cache_tag_ttl 0), and every digest checks. An anonymous pull of a
# public image works the same. A client with a wrong password is refused by the token service
# and gets nothing from the edge. What the edge asks the upstream is counted at a tap between
# the two.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_token_realm token-service

# The token-auth registry, holding the image under these names.
token_registry_start "$REALM" demo/hello private/hello
DIGEST=$(layout_manifest_digest "$LAYOUT" 1.0)

# The edge, the upstream behind a tap that logs what the edge asks.
TAP_PORT=$(free_port)
STORE_EDGE_HTTP="  log_format tap '\$request_method \$uri \$status';"
STORE_EDGE_LOCATION="      registry_cache_token_trust $T/tokens/roots.pem issuer=$ISSUER service=$SERVICE;"
STORE_EDGE_SERVERS="  server {
    listen 127.0.0.1:$TAP_PORT;
    access_log $T/tap.log tap;
    location / { proxy_pass http://127.0.0.1:$PORT; }
  }"
e2e_store_edge_start "zone=edge:1m max_size=16m blobs_max_size=64m" "127.0.0.1:$TAP_PORT"
touch "$T/tap.log"

MARK=0
mark() { MARK=$(wc -l <"$T/tap.log"); }
# What the upstream served the edge since the mark: "METHOD PATH STATUS;...", without the
# /v2/ pings and the 401s of a client's requests sent before it had a token (containerd sends
# some of each pull's requests without one first; the upstream's challenge goes back to it).
asked() { tail -n +$((MARK + 1)) "$T/tap.log" | awk '$2 != "/v2/" && $3 != 401' | paste -sd';' -; }
# The same, the 401s too.
asked_all() { tail -n +$((MARK + 1)) "$T/tap.log" | awk '$2 != "/v2/"' | paste -sd';' -; }

pull_skopeo() {  # IMAGE [CREDENTIALS]
    local dir creds=(--src-no-creds)
    dir=$(mktemp -d "$T/skopeo.XXXXXX")
    [[ -n ${2:-} ]] && creds=(--src-creds "$2")
    skopeo_ copy --src-tls-verify=false "${creds[@]}" "docker://$EDGE/$1" "oci:$dir:1.0" &&
        [[ $(layout_manifest_digest "$dir" 1.0) == "$DIGEST" ]] && layout_verify_blobs "$dir" >/dev/null
}
e2e_podman_init
pull_podman() {  # IMAGE CREDENTIALS: pulled, checked, then removed (the next pull fetches all)
    podman_ pull --quiet --tls-verify=false --creds "$2" --signature-policy "$T/skopeo/policy.json" "$EDGE/$1" \
        >>"$T/logs/podman.log" 2>&1 &&
        [[ $(podman_ images --digests --format '{{.Digest}}' "$EDGE/$1" 2>/dev/null) == "$DIGEST" ]] &&
        podman_ rmi --all --force >/dev/null 2>&1
}
e2e_containerd_start
pull_ctr() {  # IMAGE CREDENTIALS: the same, its content removed after
    ctr_ images pull --plain-http --snapshotter native --user "$2" "$EDGE/$1" >>"$T/logs/ctr.log" 2>&1 &&
        [[ $(ctr_ images ls 2>/dev/null | awk -v i="$EDGE/$1" '$1 == i { print $3 }') == "$DIGEST" ]] &&
        ctr_ images rm "$EDGE/$1" >/dev/null &&
        ctr_ content ls -q | xargs -r timeout 60 ctr -a "$T/ctr/containerd.sock" content rm >/dev/null
}

# Each client's two pulls: the second asks the upstream nothing but the tag.
image=private/hello:1.0
for client in skopeo podman ctr; do
    check "$client: a first pull of $image with credentials" "pull_$client" "$image" alice:secret
    mark
    check "$client: a second pull" "pull_$client" "$image" alice:secret
    is "$(asked)" "HEAD /v2/private/hello/manifests/1.0 200" \
        "$client: the second pull asked the upstream only the tag (its blobs and manifests were the edge's)"
done
check "the clients fetched their tokens from the token service" \
    grep -q 'GET /token?.*scope=repository%3Aprivate%2Fhello%3Apull' "$T/logs/token-service.log"

# A public image, anonymously (the token service still issues a Bearer token).
check "skopeo: an anonymous pull of demo/hello" pull_skopeo demo/hello:1.0
mark
check "skopeo: and a second one" pull_skopeo demo/hello:1.0
is "$(asked)" "HEAD /v2/demo/hello/manifests/1.0 200" \
    "the second anonymous pull asked the upstream only the tag (skopeo GETs it; the edge revalidates with a HEAD)"

# A wrong password: the token service refuses it, and the client gets nothing.
mark
fails() { ! "$@"; }
check "skopeo with a wrong password fails" fails pull_skopeo private/hello:1.0 alice:wrong
is "$(asked_all)" "" "and the edge passed nothing of it upstream but the ping"

check "no worker crashed; no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
