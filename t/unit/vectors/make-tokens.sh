#!/usr/bin/env bash
# Makes the Bearer token vectors of t/unit/token_test.cpp with OpenSSL's command line only:
# a trusted root (RSA) and intermediate (P-384), signing certificates for RS256/PS256, ES256,
# ES384, ES512 and EdDSA (Ed25519; an Ed448 one, refused) under it, an untrusted root with a
# signing certificate of its own, and tokens good and bad. The signatures of ECDSA are not
# deterministic, so the vectors are kept in the tree (tokens.txt, roots.pem, jwks.json, now.txt); this script remakes them:
#   t/unit/vectors/make-tokens.sh t/unit/vectors
# KEEP_SIGNING_KEYS=1 also leaves the RS256 and ES256 signing keys and their chains in
# DIR/signing (never in the tree: the e2e tests make their own).
set -euo pipefail
out=$(cd "${1:?usage: make-tokens.sh DIR}" && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
subj() { printf '/CN=%s' "$1"; }

# Certificates: root (RSA 2048, self-signed), intermediate (P-384) under it, leaves under that.
openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 36500 -subj "$(subj 'test token root')" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout inter.key -out inter.csr -subj "$(subj 'test token intermediate')" 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n' >ca.ext
openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -days 36500 -extfile ca.ext -out inter.pem 2>/dev/null
leaf() {  # NAME KEYGEN-ARGS... : a signing certificate under ISSUER (default: the intermediate)
    local name=$1 issuer=${ISSUER:-inter}
    shift
    openssl req -new "$@" -nodes -keyout "$name.key" -out "$name.csr" -subj "$(subj "$name")" 2>/dev/null
    openssl x509 -req -in "$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" -CAcreateserial -days 36500 -out "$name.pem" 2>/dev/null
}
leaf rsa -newkey rsa:2048
leaf p256 -newkey ec -pkeyopt ec_paramgen_curve:P-256
leaf p384 -newkey ec -pkeyopt ec_paramgen_curve:P-384
leaf p521 -newkey ec -pkeyopt ec_paramgen_curve:P-521
leaf ed25519 -newkey ed25519
leaf ed448 -newkey ed448
leaf rsa1024 -newkey rsa:1024
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -days 36500 -subj "$(subj 'another root')" \
    -addext basicConstraints=critical,CA:TRUE 2>/dev/null
ISSUER=other leaf stranger -newkey rsa:2048
# The vectors' time: once every certificate is valid (their notBefore is when they were made).
sleep 1
now=$(date +%s)
# A key of the JWK set only (no certificate), P-256.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out jwk.key 2>/dev/null

der_b64() { openssl x509 -in "$1.pem" -outform DER | openssl base64 -A; }
x5c() { local c first=1; printf '['; for c in "$@"; do ((first)) || printf ','; first=0; printf '"%s"' "$(der_b64 "$c")"; done; printf ']'; }

# libtrust's key ID of a key (as distribution's `kid`): base32 of the first 30 bytes of the
# SHA-256 of its DER SubjectPublicKeyInfo, in groups of four.
key_id() {
    openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | openssl dgst -sha256 -binary | head -c 30 | base32 -w0 |
        sed 's/\(....\)/\1:/g; s/:$//'
}

# Signs INPUT (stdin) with KEY for ALG; prints the JWS signature, base64url.
sign() {
    local alg=$1 key=$2 half
    case $alg in
        RS256 | RS384 | RS512) openssl dgst "-sha${alg:2}" -sign "$key" ;;
        PS256 | PS384 | PS512) openssl dgst "-sha${alg:2}" -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest -sign "$key" ;;
        ES256 | ES384 | ES512)
            half=$(( ${alg:2} == 512 ? 66 : ${alg:2} / 8 ))
            # DER ECDSA-Sig-Value to the raw R‖S that JWS wants, each zero-padded to HALF bytes.
            openssl dgst "-sha${alg:2}" -sign "$key" >sig.der
            openssl asn1parse -inform DER -in sig.der | awk -F: '/INTEGER/ { print $NF }' |
                while read -r hex; do printf "%0$((half * 2))s" "$hex" | tr ' ' 0; done | xxd -r -p ;;
        EdDSA) cat >msg.bin; openssl pkeyutl -sign -rawin -inkey "$key" -in msg.bin ;;
        HS256) openssl dgst -sha256 -mac HMAC -macopt "key:$(cat "$key")" -binary ;;
    esac | b64url
}

ISS=test-token-issuer SVC=test-registry
PULL_PRIVATE='"access":[{"type":"repository","name":"demo/private","actions":["pull"]}]'
claims() {  # claims granting pull on demo/private, valid now; C_* variables change one
    printf '{"iss":"%s","sub":"alice","aud":"%s","exp":%d,"nbf":%d,"iat":%d,"jti":"j%s",%s}' \
        "${C_ISS:-$ISS}" "${C_AUD:-$SVC}" "${C_EXP:-$((now + 300))}" "${C_NBF:-$((now - 10))}" "$now" "$RANDOM" \
        "${C_ACCESS:-$PULL_PRIVATE}"
}
# token NAME ALG KEY HEADER-EXTRA-MEMBERS [CLAIMS]
token() {
    local name=$1 alg=$2 key=$3 extra=$4 body=${5:-$(claims)} h p
    h=$(printf '{"typ":"JWT","alg":"%s"%s}' "$alg" "$extra" | b64url)
    p=$(printf '%s' "$body" | b64url)
    printf '%s %s.%s.%s\n' "$name" "$h" "$p" "$(printf '%s.%s' "$h" "$p" | sign "$alg" "$key")"
}
chain() { printf ',"x5c":%s' "$(x5c "$@")"; }

{
    token valid_rs256 RS256 rsa.key "$(chain rsa inter)"
    token valid_rs512 RS512 rsa.key "$(chain rsa inter)"
    token valid_ps256 PS256 rsa.key "$(chain rsa inter)"
    token valid_es256 ES256 p256.key "$(chain p256 inter)"
    token valid_es384 ES384 p384.key "$(chain p384 inter)"
    token valid_es512 ES512 p521.key "$(chain p521 inter)"
    token valid_eddsa EdDSA ed25519.key "$(chain ed25519 inter)"
    token valid_kid_of_root RS256 root.key ",\"kid\":\"$(key_id root.key)\""
    token valid_kid_of_jwks ES256 jwk.key ',"kid":"jwks-key-1"'
    token valid_aud_array RS256 rsa.key "$(chain rsa inter)" "$(C_AUD="other\",\"$SVC" claims | sed "s/\"aud\":\"other\",\"$SVC\"/\"aud\":[\"other\",\"$SVC\"]/")"
    token valid_within_leeway RS256 rsa.key "$(chain rsa inter)" "$(C_EXP=$((now - 30)) claims)"
    token other_repository RS256 rsa.key "$(chain rsa inter)" \
        "$(C_ACCESS='"access":[{"type":"repository","name":"demo/other","actions":["pull"]}]' claims)"
    token push_only RS256 rsa.key "$(chain rsa inter)" \
        "$(C_ACCESS='"access":[{"type":"repository","name":"demo/private","actions":["push"]}]' claims)"
    token no_access RS256 rsa.key "$(chain rsa inter)" "$(C_ACCESS='"access":[]' claims)"
    token untrusted_root RS256 stranger.key "$(chain stranger)"
    token untrusted_kid RS256 stranger.key ",\"kid\":\"$(key_id stranger.key)\""
    token chain_without_intermediate RS256 rsa.key "$(chain rsa)"
    token expired RS256 rsa.key "$(chain rsa inter)" "$(C_EXP=$((now - 120)) claims)"
    token not_yet_valid RS256 rsa.key "$(chain rsa inter)" "$(C_NBF=$((now + 120)) claims)"
    token wrong_issuer RS256 rsa.key "$(chain rsa inter)" "$(C_ISS=another-issuer claims)"
    token wrong_service RS256 rsa.key "$(chain rsa inter)" "$(C_AUD=another-service claims)"
    token rsa_1024 RS256 rsa1024.key "$(chain rsa1024 inter)"
    token alg_not_the_key RS256 p256.key "$(chain p256 inter)"
    openssl x509 -in rsa.pem -pubkey -noout >rsa.pub
    token hs256_with_public_key HS256 rsa.pub "$(chain rsa inter)"
    h=$(printf '{"typ":"JWT","alg":"none"%s}' "$(chain rsa inter)" | b64url)
    printf 'alg_none %s.%s.\n' "$h" "$(claims | b64url)"
    # A valid token whose claims were swapped for others (another repository granted).
    read -r _ good < <(token valid_again RS256 rsa.key "$(chain rsa inter)")
    IFS=. read -r gh _ gs <<<"$good"
    printf 'tampered_payload %s.%s.%s\n' "$gh" \
        "$(C_ACCESS='"access":[{"type":"repository","name":"demo/secret","actions":["pull"]}]' claims | b64url)" "$gs"
    printf 'truncated_signature %s\n' "${good:0:$((${#good} - 6))}"
    # Ed448: EdDSA, but not as distribution's JOSE library implements it.
    token eddsa_ed448 EdDSA ed448.key "$(chain ed448 inter)"
    # Valid for two hundred years, signed by a chain valid for one hundred.
    token exp_after_chain RS256 rsa.key "$(chain rsa inter)" "$(C_EXP=$((now + 200 * 365 * 86400)) claims)"
    token crit_header RS256 rsa.key "$(chain rsa inter),\"crit\":[\"exp\"]"
} >tokens.txt

# The JWK set: the P-256 key above, by its kid.
jwk_xy() {  # the uncompressed point of a P-256 public key: x and y, base64url
    openssl pkey -in jwk.key -pubout -outform DER 2>/dev/null | tail -c 64 >point.bin
    printf '"x":"%s","y":"%s"' "$(head -c 32 point.bin | b64url)" "$(tail -c 32 point.bin | b64url)"
}
printf '{"keys":[{"kty":"EC","crv":"P-256","kid":"jwks-key-1",%s}]}\n' "$(jwk_xy)" >jwks.json

cat root.pem >"$out/roots.pem"
# For a token service of the tests (t/fixtures/token-service.py): the signing keys and chains.
if [[ ${KEEP_SIGNING_KEYS:-0} == 1 ]]; then
    mkdir -p "$out/signing"
    cp rsa.key rsa.pem p256.key p256.pem inter.pem "$out/signing/"
fi
cp tokens.txt jwks.json "$out/"
echo "$now" >"$out/now.txt"
printf '%s %s\n' "$ISS" "$SVC" >"$out/issuer-service.txt"
echo "vectors in $out (now = $now)"
