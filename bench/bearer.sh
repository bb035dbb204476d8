#!/usr/bin/env bash
# A HEAD hit with a Bearer token checked at the edge (registry_cache_token_trust, a token the
# worker already checked once) against an anonymous HEAD hit, in one run, one nginx (see
# bench/README.md, "Bearer tokens"). The anonymous hit comes from a registry without
# authentication, the Bearer hit from one with `auth: token` holding the same image.
#
#   bench/bearer.sh [--record]
#
# Env:     BEARER_ROUNDS      rounds over the two targets; a figure is the median (3)
#          BEARER_DURATION    seconds per target and round (5)
#          BEARER_CONCURRENCY ab -c (32)
#          BEARER_HEADER_BUFFER client_header_buffer_size of the edge (nginx's default, 1k; a
#                             request with a token of 2.8 KB fits one of 4k)
#          BUILD, MODULE_SO, NGINX_BIN as for bench/scale.sh
# One nginx worker on CPU 1; ab on CPU 0. --record appends the table to bench/RESULTS.md.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
ROUNDS=${BEARER_ROUNDS:-3}
DURATION=${BEARER_DURATION:-5}
CONCURRENCY=${BEARER_CONCURRENCY:-32}
BUILD=${BUILD:-$REPO/build}
MODULE_SO=${MODULE_SO:-$BUILD/ngx_http_registry_cache_module.so}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
RECORD=0
[[ ${1:-} == --record ]] && RECORD=1

# shellcheck disable=SC2034  # read by lib.sh
BENCH=bearer
# shellcheck source=lib.sh
. "$HERE/lib.sh"
bench_require ab curl jq taskset skopeo
bench_workdir

# The anonymous upstream, seeded with demo/hello; the token upstream, on the same storage
# once demo/private was pushed there, with token authentication under fresh test keys.
REGISTRY_PORT=$("$REPO/t/fixtures/registry.sh" start "$WORK/registry")
"$REPO/t/fixtures/seed.sh" "127.0.0.1:$REGISTRY_PORT" "$WORK/fixtures" >/dev/null
LAYOUT=$WORK/fixtures/images/hello
printf '{"default":[{"type":"insecureAcceptAnything"}]}\n' >"$WORK/policy.json"
skopeo --policy "$WORK/policy.json" copy -q --dest-tls-verify=false "oci:$LAYOUT:1.0" \
    "docker://127.0.0.1:$REGISTRY_PORT/demo/private:1.0" >/dev/null
mkdir -p "$WORK/tokens"
"$REPO/t/unit/vectors/make-tokens.sh" "$WORK/tokens" >/dev/null
read -r ISSUER SERVICE <"$WORK/tokens/issuer-service.txt"
TOKEN=$(awk '$1 == "valid_rs256" { print $2 }' "$WORK/tokens/tokens.txt")  # x5c: two certificates
KID_TOKEN=$(awk '$1 == "valid_kid_of_root" { print $2 }' "$WORK/tokens/tokens.txt")  # kid: a key ID
mkdir -p "$WORK/token-registry"
ln -s "$WORK/registry/data" "$WORK/token-registry/data"
TOKEN_PORT=$(REGISTRY_TOKEN_AUTH="http://127.0.0.1:9/token $SERVICE $ISSUER $WORK/tokens/roots.pem" \
    "$REPO/t/fixtures/registry.sh" start "$WORK/token-registry")
trap '"$REPO/t/fixtures/registry.sh" stop "$WORK/token-registry" >/dev/null 2>&1; _bench_cleanup' EXIT
MANIFEST=$(jq -r '.manifests[0].digest' "$LAYOUT/index.json")
CONFIG=$(jq -r '.config.digest' "$LAYOUT/blobs/${MANIFEST/://}")
ANON=/v2/demo/hello/blobs/$CONFIG
BEARER=/v2/demo/private/blobs/$CONFIG

user_line=''
[[ $(id -u) == 0 ]] && user_line='user root root;'
ANON_PORT=$(free_port) BEARER_PORT=$(free_port)
M=$WORK/nginx-module
mkdir -p "$M/tmp" "$M/cache-anon" "$M/cache-bearer"
cat >"$M/nginx.conf" <<EOF
load_module $MODULE_SO;
$user_line
worker_processes 1;
worker_cpu_affinity 10;
daemon on;
pid $M/nginx.pid;
error_log $M/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_header_buffer_size ${BEARER_HEADER_BUFFER:-1k};
    client_body_temp_path $M/tmp/client_body;
    proxy_temp_path $M/tmp/proxy;
    fastcgi_temp_path $M/tmp/fastcgi;
    uwsgi_temp_path $M/tmp/uwsgi;
    scgi_temp_path $M/tmp/scgi;
    registry_cache_path $M/cache-anon zone=anon:1m max_size=64m;
    registry_cache_path $M/cache-bearer zone=bearer:1m max_size=64m;
    server {
        listen 127.0.0.1:$ANON_PORT;
        location /v2/ {
            registry_cache anon;
            registry_cache_pass @registry;
        }
        location @registry {
            proxy_pass http://127.0.0.1:$REGISTRY_PORT;
        }
    }
    server {
        listen 127.0.0.1:$BEARER_PORT;
        location /v2/ {
            registry_cache bearer;
            registry_cache_pass @registry;
            registry_cache_token_trust $WORK/tokens/roots.pem issuer=$ISSUER service=$SERVICE;
        }
        location @registry {
            proxy_pass http://127.0.0.1:$TOKEN_PORT;
        }
    }
}
EOF
"$NGINX_BIN" -p "$M/" -c "$M/nginx.conf" -e "$M/error.log"
sleep 0.5

# Teach both (one HEAD each), then check that each is now answered without the upstream.
curl -s -o /dev/null -I "http://127.0.0.1:$ANON_PORT$ANON"
curl -s -o /dev/null -I -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$BEARER_PORT$BEARER"
sleep 0.2
upstream_asked() {
    cat "$WORK/registry/registry.log" "$WORK/token-registry/registry.log" | grep -c "blobs/$CONFIG" || true
}
before=$(upstream_asked)
for _ in 1 2 3; do
    [[ $(curl -s -o /dev/null -I -w '%{http_code}' "http://127.0.0.1:$ANON_PORT$ANON") == 200 ]] || die "anonymous HEAD failed"
    [[ $(curl -s -o /dev/null -I -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
        "http://127.0.0.1:$BEARER_PORT$BEARER") == 200 ]] || die "Bearer HEAD failed"
done

declare -A RPS=()
run_ab() {  # PORT PATH [HEADER] -> req/s
    local header=()
    [[ -n ${3:-} ]] && header=(-H "$3")
    taskset -c 0 ab -q -k -i -c "$CONCURRENCY" -t "$DURATION" -n 50000000 "${header[@]}" \
        "http://127.0.0.1:$1$2" 2>/dev/null | awk '/Requests per second/{print int($4)} /Non-2xx/{print "bad"}'
}
# The third target sends the token's bytes in a header nobody reads: what nginx itself pays
# to receive and parse a request that large, apart from the check.
for ((round = 1; round <= ROUNDS; round++)); do
    for t in anonymous bearer padded bearer-kid padded-kid; do
        case $t in
            anonymous) out=$(run_ab "$ANON_PORT" "$ANON") ;;
            bearer) out=$(run_ab "$BEARER_PORT" "$BEARER" "Authorization: Bearer $TOKEN") ;;
            padded) out=$(run_ab "$ANON_PORT" "$ANON" "X-Padding: Bearer $TOKEN") ;;
            bearer-kid) out=$(run_ab "$BEARER_PORT" "$BEARER" "Authorization: Bearer $KID_TOKEN") ;;
            padded-kid) out=$(run_ab "$ANON_PORT" "$ANON" "X-Padding: Bearer $KID_TOKEN") ;;
        esac
        [[ $out == *bad* ]] && die "$t: non-2xx answers"
        RPS[$t]+="$out "
        log "round $round $t: $out req/s"
    done
done
after=$(upstream_asked)
[[ $before == "$after" ]] || die "the module went upstream during the measurement ($before -> $after log lines)"

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
bytes=$(printf '%s' "$TOKEN" | wc -c)
kid_bytes=$(printf '%s' "$KID_TOKEN" | wc -c)
row() {  # LABEL TARGET AGAINST-LABEL AGAINST-TARGET
    local x y
    x=$(echo "${RPS[$2]}" | median) y=$(echo "${RPS[$4]}" | median)
    printf '| %s | %s | %s | %s | %.2f | %s| %s|\n' "$1" "$x" "$3" "$y" "$(awk -v x="$x" -v y="$y" 'BEGIN{print x/y}')" \
        "${RPS[$2]}" "${RPS[$4]}"
}
table=$(
    echo "| HEAD of a cached blob with | req/s | against | its req/s | ratio | rounds | its rounds |"
    echo "| --- | ---: | --- | ---: | ---: | --- | --- |"
    row "a token with x5c ($bytes bytes)" bearer "no token" anonymous
    row "a token with x5c ($bytes bytes)" bearer "no token, the same bytes in X-Padding" padded
    row "a token with kid ($kid_bytes bytes)" bearer-kid "no token" anonymous
    row "a token with kid ($kid_bytes bytes)" bearer-kid "no token, the same bytes in X-Padding" padded-kid
)
echo "$table"
cmd="BEARER_ROUNDS=$ROUNDS BEARER_DURATION=$DURATION BEARER_HEADER_BUFFER=${BEARER_HEADER_BUFFER:-1k} bench/bearer.sh"
echo "Command: \`$cmd\`"
if ((RECORD)); then
    {
        echo
        echo "## $(date -u +%F) HEAD hit with a Bearer token checked at the edge — $(git -C "$REPO" rev-parse --short HEAD)"
        echo
        echo "One nginx worker on CPU 1, ab on CPU 0 (\`taskset -c 0 ab -q -k -i -c $CONCURRENCY -t $DURATION\`): the"
        echo "same cached blob HEAD through two servers of one nginx, one in front of a registry without"
        echo "authentication (anonymous), one in front of a registry with \`auth: token\` and"
        echo "\`registry_cache_token_trust\`, each request carrying the same RS256 token: one with an \`x5c\`"
        echo "chain of two certificates, one naming its key by \`kid\`. Median of $ROUNDS rounds; the registries' logs show no"
        echo "request for the blob during the measurement. \"The same bytes in X-Padding\" is the anonymous"
        echo "HEAD carrying the token in a header nobody reads: nginx's own cost of a request that large."
        echo
        echo "$table"
        echo
        echo "Command: \`$cmd\`."
    } >>"$REPO/bench/RESULTS.md"
fi
