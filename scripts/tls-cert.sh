#!/usr/bin/env bash
# A certificate authority of its own and a certificate it signed for an edge on this host
# (127.0.0.1, ::1, localhost), for `make run TLS=1` and the tests of a TLS edge:
#
#   scripts/tls-cert.sh DIR    -> DIR/ca/ca.crt, DIR/edge.crt, DIR/edge.key
#
# DIR/ca holds only the authority's certificate, as the clients' certificate directories want
# it (skopeo --src-cert-dir, podman --cert-dir, containerd's hosts.toml `ca`). Kept when
# already there: an edge restarted keeps the certificate its clients trust.
set -euo pipefail

dir=${1:?usage: tls-cert.sh DIR}
mkdir -p "$dir/ca"
[ -s "$dir/edge.crt" ] && [ -s "$dir/edge.key" ] && [ -s "$dir/ca/ca.crt" ] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj "/CN=nginx-registry-cache test authority" -keyout "$work/ca.key" -out "$dir/ca/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$dir/edge.key" -out "$work/edge.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$work/ext"
openssl x509 -req -in "$work/edge.csr" -CA "$dir/ca/ca.crt" -CAkey "$work/ca.key" -CAcreateserial \
    -days 365 -extfile "$work/ext" -out "$dir/edge.crt" 2>/dev/null
chmod 600 "$dir/edge.key"
