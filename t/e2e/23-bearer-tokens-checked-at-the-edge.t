#!/usr/bin/env bash
# Pass-through mode in front of a registry with token authentication: clients bring their
# own Bearer tokens, and the edge (registry_cache_token_trust) checks them as the registry
# does. A token that grants pull on the repository gets hits of what such requests taught
# (blob HEADs and bodies, manifests, tags); every other token, and no token, never does: the
# client gets the upstream's own 401. The tokens are made fresh by the unit tests' vector
# script (OpenSSL's command line): an RSA root and a P-384 intermediate, signing keys under
# it, and tokens good and bad for repository demo/private.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init

mkdir -p "$T/tokens"
"$E2E_DIR/../unit/vectors/make-tokens.sh" "$T/tokens" >/dev/null
read -r ISSUER SERVICE <"$T/tokens/issuer-service.txt"
declare -A TOKEN
while read -r name token; do TOKEN[$name]=$token; done <"$T/tokens/tokens.txt"

# The upstream: a registry of the test's own holding demo/private (pushed before token
# authentication is turned on, on the same storage).
OWN=$T/token-registry
PORT=$("$FIXTURES/registry.sh" start "$OWN")
LAYOUT=$T/hello
e2e_build_image hello 1.0 "$LAYOUT"
check "demo/private is pushed" skopeo_ copy --dest-tls-verify=false "oci:$LAYOUT:1.0" "docker://127.0.0.1:$PORT/demo/private:1.0"
"$FIXTURES/registry.sh" stop "$OWN"
PORT=$(REGISTRY_TOKEN_AUTH="http://127.0.0.1:9/token $SERVICE $ISSUER $T/tokens/roots.pem" "$FIXTURES/registry.sh" start "$OWN")
trap 'rc=$?; set +e; "$FIXTURES/registry.sh" stop "$OWN"; (exit $rc); _e2e_cleanup' EXIT
MANIFEST=$(layout_manifest_digest "$LAYOUT" 1.0)
mapfile -t BLOBS < <(layout_image_digests "$LAYOUT" "$MANIFEST")
CONFIG=${BLOBS[0]} LAYER=${BLOBS[1]}

STORE_EDGE_LOCATION="      registry_cache_tag_ttl 1h;
      registry_cache_token_trust $T/tokens/roots.pem issuer=$ISSUER service=$SERVICE jwks=$T/tokens/jwks.json;"
e2e_store_edge_start "zone=edge:1m max_size=16m blobs_max_size=64m" "127.0.0.1:$PORT"

# "status X-Cache-Status" of METHOD PATH with token NAME ("-": none).
ask() {
    local method=$1 path=$2 name=$3 auth=() how=()
    [[ $name == - ]] || auth=(-H "Authorization: Bearer ${TOKEN[$name]}")
    [[ $method == HEAD ]] && how=(-I) || how=(-X "$method")
    curl -s -o "$T/body" --max-time 10 "${how[@]}" "${auth[@]}" \
        -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        -w '%{http_code} %header{x-cache-status}' "http://$EDGE/v2/demo/private/$path"
}
head_() { ask HEAD "$@"; }

is "$(head_ "blobs/$CONFIG" -)" "401 MISS" "no token: the upstream's own 401"
is "$(head_ "blobs/$CONFIG" valid_rs256) $(head_ "blobs/$CONFIG" valid_rs256)" "200 MISS 200 HIT" \
    "a token that grants pull: a blob HEAD is learned, then answered here"
is "$(ask GET "manifests/$MANIFEST" valid_rs256) $(ask GET "manifests/$MANIFEST" valid_rs256)" "200 MISS 200 HIT" \
    "a manifest by digest too"
is "$(ask GET manifests/1.0 valid_rs256) $(ask GET manifests/1.0 valid_rs256)" "200 MISS 200 HIT" "a tag too"
is "$(ask GET "blobs/$LAYER" valid_rs256) $(ask GET "blobs/$LAYER" valid_rs256) sha256:$(sha256sum <"$T/body" | cut -d' ' -f1)" \
    "200 MISS 200 HIT $LAYER" "a blob body too, from the store's disk, whole"
is "$(head_ "blobs/$CONFIG" valid_es256) $(ask GET "blobs/$LAYER" valid_es256) $(ask GET manifests/1.0 valid_es256)" \
    "200 HIT 200 HIT 200 HIT" "another token that grants pull (ES256, another signing key) gets the same hits"
is "$(head_ "blobs/$CONFIG" -) $(ask GET "blobs/$LAYER" -) $(ask GET manifests/1.0 -)" "401 MISS 401 MISS 401 MISS" \
    "what tokens taught is never served without one"

for name in untrusted_root untrusted_kid chain_without_intermediate expired not_yet_valid other_repository \
    push_only no_access wrong_issuer wrong_service alg_not_the_key hs256_with_public_key alg_none \
    tampered_payload truncated_signature; do
    is "$(head_ "blobs/$CONFIG" "$name") $(ask GET "blobs/$LAYER" "$name") $(ask GET "manifests/$MANIFEST" "$name")" \
        "401 MISS 401 MISS 401 MISS" "a token $name: never a hit, the upstream's 401"
done
check "refused tokens are logged at info, saying why" grep -aq 'the Bearer token is expired: it proves nothing here' "$EDGE_DIR/error.log"
is "$(curl -s -o /dev/null -I -w '%{http_code}' -H "Authorization: Bearer ${TOKEN[valid_rs256]}" \
    -H "Authorization: Bearer ${TOKEN[valid_rs256]}" "http://$EDGE/v2/demo/private/blobs/$CONFIG")" 400 \
    "two Authorization headers: nginx refuses the request itself"
is "$(curl -s -o /dev/null -I -w '%{http_code} %header{x-cache-status}' -H "Authorization: bearer ${TOKEN[valid_rs256]}" \
    "http://$EDGE/v2/demo/private/blobs/$CONFIG")" "200 HIT" "the scheme is read case-insensitively"
# The registry takes what follows the first space as the token: with two, it refuses a valid one.
is "$(curl -s -o /dev/null -I -w '%{http_code} %header{x-cache-status}' -H "Authorization: Bearer  ${TOKEN[valid_rs256]}" \
    "http://$EDGE/v2/demo/private/blobs/$CONFIG")" "401 MISS" "two spaces after the scheme: the upstream's 401, never a hit"
check "no worker crashed; no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
