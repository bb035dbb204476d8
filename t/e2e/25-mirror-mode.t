#!/usr/bin/env bash
# Mirror mode (registry_cache_upstream_auth on): the edge holds the upstream's credentials and
# fetches Bearer tokens itself from the token service of the test (t/fixtures/token-service.py),
# through the location registry_cache_token_pass names, one per repository scope, shared by
# the workers until the end of their life. Clients bring no credentials: skopeo, podman and ctr
# pull a public and a private image through the edge; the second pull asks the upstream only
# the tag and the token service nothing. A client's own Authorization never reaches the
# upstream. A token near its end is renewed; a token the upstream refuses (invalid_token) is
# forgotten, and the request goes upstream once more with a new one; a token service that
# fails or lies gives no token, and nothing of its answer reaches a header. What the edge asks
# the upstream is counted at a tap between the two.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

export E2E_WORKERS=2
e2e_init
e2e_token_realm tokens
# Keys under another root, which the registry does not trust: their tokens are invalid there.
mkdir -p "$T/strangers"
KEEP_SIGNING_KEYS=1 "$E2E_DIR/../unit/vectors/make-tokens.sh" "$T/strangers" >/dev/null
# Tokens whose life ends 8 s after they are issued (60 s, dated 40 s back, less 12 s of margin).
token_service short "$T/tokens/signing" 60 40
token_service strangers "$T/strangers/signing"

# The token-auth registry, holding the image under these names.
token_registry_start "$REALM" demo/hello private/hello private/other revoked/hello
DIGEST=$(layout_manifest_digest "$LAYOUT" 1.0)
mapfile -t BLOBS < <(layout_image_digests "$LAYOUT" "$DIGEST")
CONFIG=${BLOBS[0]}

# The edge's credentials, readable by the master only (it reads them before workers start).
echo 'alice:secret' >"$T/edge.cred"
chmod 600 "$T/edge.cred"
# edge_server PORT TOKEN-URI TOKEN-PORT: a server of the edge in mirror mode.
edge_server() {
    cat <<CONF
  server {
    listen 127.0.0.1:$1;
    add_header X-Cache-Status \$registry_cache_status always;
    location = ${2%%\?*} {
      internal;
      subrequest_output_buffer_size 64k;
      proxy_pass http://127.0.0.1:$3/token;
    }
    location /v2/ {
      registry_cache edge;
      registry_cache_pass @registry;
      registry_cache_verify threads=verify;
      registry_cache_upstream_auth on;
      registry_cache_upstream_credentials $T/edge.cred;
      registry_cache_token_pass $2;
    }
    location @registry { proxy_pass http://127.0.0.1:$TAP_PORT; proxy_buffering off; }
  }
CONF
}
TAP_PORT=$(free_port) SHORT_EDGE_PORT=$(free_port) STRANGER_EDGE_PORT=$(free_port)
STORE_EDGE_HTTP="  log_format tap '\$request_method \$uri \$status \"\$http_authorization\"';"
STORE_EDGE_SERVER="    location = /_token { internal; subrequest_output_buffer_size 64k;
      proxy_pass http://127.0.0.1:$(<"$T/tokens.port")/token; }"
STORE_EDGE_LOCATION="      registry_cache_upstream_auth on;
      registry_cache_upstream_credentials $T/edge.cred;
      registry_cache_token_pass /_token?service=$SERVICE;"
STORE_EDGE_SERVERS="  server {
    listen 127.0.0.1:$TAP_PORT;
    access_log $T/tap.log tap;
    location / { proxy_pass http://127.0.0.1:$PORT; }
  }
$(edge_server "$SHORT_EDGE_PORT" "/_short?service=$SERVICE" "$(<"$T/short.port")")
$(edge_server "$STRANGER_EDGE_PORT" "/_stranger?service=$SERVICE" "$(<"$T/strangers.port")")"
e2e_store_edge_start "zone=edge:2m max_size=16m blobs_max_size=64m" "127.0.0.1:$TAP_PORT"
touch "$T/tap.log"
diag "edge on $EDGE, tap on 127.0.0.1:$TAP_PORT, registry on 127.0.0.1:$PORT"

MARK=0 TMARK=0
mark() { MARK=$(wc -l <"$T/tap.log"); TMARK=$(wc -l <"$T/logs/tokens.log"); }
# What the upstream served the edge since the mark: "METHOD PATH STATUS;..." (no /v2/).
asked() { tail -n +$((MARK + 1)) "$T/tap.log" | awk '$2 != "/v2/" { print $1, $2, $3 }' | paste -sd';' -; }
# Token requests since the mark, to the main token service.
token_requests() { tail -n +$((TMARK + 1)) "$T/logs/tokens.log" | grep -c 'GET /token' || true; }

is "$(curl -s -w ' %{http_code}' "http://$EDGE/v2/")" "{} 200" "the edge's /v2/ says 200 without asking for credentials"
is "$(wc -l <"$T/tap.log")" 0 "and asks the upstream nothing for it"

pull_skopeo() {  # IMAGE
    local dir
    dir=$(mktemp -d "$T/skopeo.XXXXXX")
    skopeo_ copy --src-tls-verify=false --src-no-creds "docker://$EDGE/$1" "oci:$dir:1.0" &&
        [[ $(layout_manifest_digest "$dir" 1.0) == "$DIGEST" ]] && layout_verify_blobs "$dir" >/dev/null
}
e2e_podman_init
e2e_containerd_start
# pull_CLIENT IMAGE: pulled without credentials, checked, then forgotten.
pull_podman() {
    podman_pull_image "$EDGE/$1" && [[ $(podman_image_digest "$EDGE/$1") == "$DIGEST" ]] &&
        podman_forget_image "$EDGE/$1"
}
pull_ctr() {
    ctr_pull_image "$EDGE/$1" && [[ $(ctr_image_digest "$EDGE/$1") == "$DIGEST" ]] && ctr_forget_image "$EDGE/$1"
}

mark
check "skopeo: a first pull of private/hello with no credentials of its own" pull_skopeo private/hello:1.0
is "$(token_requests)" 1 "the edge fetched one token for the scope, whatever the requests of the pull"
check "with the edge's Basic credentials" grep -q 'GET /token?service=.*scope=repository:private/hello:pull' \
    "$T/logs/tokens.log"
check "every request upstream carried the edge's token" \
    awk -v m="$MARK" 'NR > m && $2 != "/v2/" && $4 != "\"Bearer" { exit 1 }' "$T/tap.log"
is "$(asked | tr ';' '\n' | awk '$3 != 200' | paste -sd';' -)" "" "and none of them was refused"
for client in skopeo podman ctr; do
    for image in private/hello:1.0 demo/hello:1.0; do
        check "$client: pulls $image without credentials" "pull_$client" "$image"
        mark
        check "$client: and again" "pull_$client" "$image"
        is "$(asked)" "HEAD /v2/${image%%:*}/manifests/1.0 200" \
            "$client: the second pull of $image asked the upstream only the tag"
        is "$(token_requests)" 0 "$client: and the token service nothing (the token lives on)"
    done
done
is "$(curl -s -o /dev/null -I -w '%{http_code} %header{x-cache-status}' "http://$EDGE/v2/private/hello/blobs/$CONFIG")" \
    "200 HIT" "what mirror mode learned is public to the edge's clients"

# A client's own Authorization never goes upstream: the edge's token does.
mark
curl -s -o /dev/null -H 'Authorization: Bearer the-clients-own' -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$EDGE/v2/private/other/manifests/1.0"
check "a client's own token is replaced by the edge's" \
    awk -v m="$MARK" 'NR > m && $2 == "/v2/private/other/manifests/1.0" {
        seen = 1; if ($0 ~ /the-clients-own/ || $4 != "\"Bearer") exit 1 } END { exit !seen }' "$T/tap.log"

# Concurrent first requests of a scope in both workers: one token request.
# Only the curls are waited for: containerd and the token services run in the background too.
# heads_at_once PATH...: a HEAD of each at the same time, each sent twice on one kept-alive
# connection (a request that waited for a token must end, or the second never gets an
# answer); all answered before it returns, their statuses in $T/statuses.
heads_at_once() {
    local path curls=()
    : >"$T/statuses"
    for path in "$@"; do
        curl -s -o /dev/null -o /dev/null -I --max-time 20 -w '%{http_code} %{num_connects}\n' \
            "http://$EDGE$path" "http://$EDGE$path" >>"$T/statuses" &
        curls+=($!)
    done
    wait "${curls[@]}" || true
}
mark
PATHS=()
for i in $(seq 8); do PATHS+=("/v2/demo/once/blobs/${BLOBS[$((i % ${#BLOBS[@]}))]}"); done
heads_at_once "${PATHS[@]}"
is "$(token_requests)" 1 "8 concurrent first requests of a scope, in two workers: one token request"
is "$(sort "$T/statuses" | uniq -c | xargs)" "8 404 0 8 404 1" \
    "all answered (the upstream's 404: no such repository), and again on their kept-alive connections"
mark
PATHS=()
for i in $(seq 8); do PATHS+=("/v2/demo/fresh-$i/blobs/$CONFIG"); done
heads_at_once "${PATHS[@]}"
is "$(token_requests)" 8 "8 scopes never asked: a token each"
is "$(sort "$T/statuses" | uniq -c | xargs)" "8 404 0 8 404 1" "all answered, twice"

# The servers below share the cache zone, so they ask for what it has not learned: misses.
# A client that leaves while its request fetches the scope's token (the token service takes
# 3 s for slow/ scopes) does not hold the next request of that scope: it fetches one itself
# rather than wait for a fetch nobody will finish.
mark
curl -s -o /dev/null -I --max-time 1 "http://$EDGE/v2/slow/gone/blobs/$CONFIG" || true
is "$(curl -s -o /dev/null -I --max-time 15 -w '%{http_code}' "http://$EDGE/v2/slow/gone/blobs/$CONFIG")" 404 \
    "a client left during the token fetch: the next request of the scope is answered (the upstream's 404)"
is "$(token_requests)" 2 "with a token of its own fetch"

# Short-lived tokens: each is used until its end, then renewed.
SHORT=127.0.0.1:$SHORT_EDGE_PORT
short_requests() { grep -c 'GET /token' "$T/logs/short.log" || true; }
head_short() { curl -s -o /dev/null -I -w '%{http_code}' "http://$SHORT/v2/private/other/blobs/$1"; }
is "$(head_short "${BLOBS[0]}") $(short_requests)" "200 1" "a short-lived token is fetched"
started=$(date +%s)
is "$(head_short "${BLOBS[1]}") $(short_requests)" "200 1" "and used while it lives"
# Its life ends 8 s after it was issued: wait for that second, then the next request renews it.
while (($(date +%s) < started + 9)); do sleep 0.2; done
is "$(head_short "${BLOBS[2]}") $(short_requests)" "200 2" "past its end, the next request fetches another"

# A token the upstream refuses (invalid_token: revoked, its key retired) is forgotten, and the
# request goes upstream once more with a new one: the client sees only the second answer. The
# token service's first token for revoked/hello has a signature no key made.
mark
curl -s -D "$T/revoked.headers" -o "$T/revoked.body" -H "Accept: application/vnd.oci.image.manifest.v1+json" \
    "http://$EDGE/v2/revoked/hello/manifests/1.0"
is "$(head -n1 "$T/revoked.headers" | tr -d '\r')" "HTTP/1.1 200 OK" "a refused token: the client gets the answer to the retry"
is "sha256:$(sha256sum <"$T/revoked.body" | cut -d' ' -f1)" "$DIGEST" "the manifest's own bytes"
is "$(grep -ci '^www-authenticate:' "$T/revoked.headers" || true) $(grep -ci '^content-length:' "$T/revoked.headers")" "0 1" \
    "and none of the refusal's headers"
is "$(asked)" "GET /v2/revoked/hello/manifests/1.0 401;GET /v2/revoked/hello/manifests/1.0 200" \
    "the upstream was asked twice: refused, then answered"
is "$(token_requests)" 2 "with a new token fetched between"
check "the edge says it forgot the token" grep -q 'refused the edge.s token (invalid_token): it is forgotten' \
    "$EDGE_DIR/error.log"

# Refused again: the upstream's 401 goes to the client, and the next request tries afresh.
STRANGER=127.0.0.1:$STRANGER_EDGE_PORT
stranger_requests() { grep -c 'GET /token' "$T/logs/strangers.log" || true; }
is "$(curl -s -o /dev/null -I -w '%{http_code}' "http://$STRANGER/v2/private/never/blobs/${BLOBS[0]}") $(stranger_requests)" \
    "401 2" "tokens the upstream refuses twice: its 401 reaches the client after one retry"
is "$(curl -s -o /dev/null -I -w '%{http_code}' "http://$STRANGER/v2/private/never/blobs/${BLOBS[1]}") $(stranger_requests)" \
    "401 4" "the next request fetched another, and retried once"
is "$(edge_metric 'nginx_registry_cache_upstream_tokens_refused_total{cache="edge"}')" 5 "every refusal is counted"

check "no worker crashed; no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
