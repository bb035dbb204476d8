#!/usr/bin/env bash
# The upstream stopped (connection refused), hanging (accepts, never answers) or resetting:
# what the cache holds keeps answering; everything else gets nginx's 502 or 504, within the
# configured timeouts, as OCI error JSON (code UNAVAILABLE) that registry clients can read.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_start_liar
# An upstream that accepts connections and never answers (bounded: it exits after 5 min).
perl -MIO::Socket::INET -e '$| = 1; alarm 300;
    my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 64, ReuseAddr => 1) or die;
    print $s->sockport, "\n"; my @held; while (my $c = $s->accept) { push @held, $c }' >"$T/hang.port" &
E2E_HELPERS+=($!)
for _ in $(seq 50); do [[ -s $T/hang.port ]] && break; sleep 0.1; done

EDGE_DIR=$T/edge
mkdir -p "$EDGE_DIR"
declare -A PORT
upstream_of() {
    case $1 in
        liar) echo "127.0.0.1:$LIAR_PORT" ;;
        stopped) echo "127.0.0.1:$(free_port)" ;;  # nothing listens there
        hanging) echo "127.0.0.1:$(<"$T/hang.port")" ;;
    esac
}
servers=""
for name in liar stopped hanging; do
    PORT[$name]=$(free_port)
    servers+="
  server {
    listen 127.0.0.1:${PORT[$name]};
    add_header X-Cache-Status \$registry_cache_status always;
    location /v2/ { registry_cache edge; registry_cache_pass @upstream; }
    location @upstream {
      proxy_pass http://$(upstream_of "$name");
      proxy_connect_timeout 1s;
      proxy_read_timeout 1s;
    }
  }"
done
{ edge_conf_head; cat; } >"$EDGE_DIR/nginx.conf" <<CONF
$servers
}
CONF
"$NGINX_BIN" -p "$EDGE_DIR/" -c "$EDGE_DIR/nginx.conf" -e "$EDGE_DIR/error.log"
EDGE=127.0.0.1:${PORT[liar]}
_edge_wait_ready

CACHED=sha256:$(printf 'cached' | sha256sum | cut -d' ' -f1)
UNCACHED=sha256:$(printf 'uncached' | sha256sum | cut -d' ' -f1)
# METHOD on SERVER of /v2/lie/KIND/blobs/DIGEST: "status cache-status seconds" and the body.
ask() {
    curl -s -o "$T/body" -X "$1" -w '%{http_code} %header{x-cache-status} %{time_total}' --max-time 10 \
        "http://127.0.0.1:${PORT[$2]}/v2/lie/$3/blobs/$4" || true
}
head_() { curl -s -o /dev/null -I -w '%{http_code} %header{x-cache-status}' --max-time 10 \
    "http://127.0.0.1:${PORT[$1]}/v2/lie/$2/blobs/$3" || true; }
oci_unavailable() { jq -e '.errors[0].code == "UNAVAILABLE"' "$T/body" >/dev/null; }
within() { awk -v t="$1" -v max="$2" 'BEGIN { exit !(t < max) }'; }

is "$(head_ liar honest "$CACHED") $(head_ liar honest "$CACHED")" "200 MISS 200 HIT" "a blob is learned"
for name in stopped hanging; do
    is "$(head_ "$name" honest "$CACHED")" "200 HIT" "upstream $name: the cached blob still answers"
done

result=$(ask GET stopped honest "$UNCACHED")
is "${result%% *}" 502 "upstream stopped: a miss gets 502"
check "as OCI error JSON" oci_unavailable
result=$(ask GET hanging honest "$UNCACHED")
is "${result%% *}" 504 "upstream hanging: a miss gets 504"
check "as OCI error JSON" oci_unavailable
check "within the 1 s read timeout and some slack (${result##* } s)" within "${result##* }" 5
result=$(ask GET liar reset "$UNCACHED")
is "${result%% *}" 502 "upstream resetting: a miss gets 502"
check "as OCI error JSON" oci_unavailable
is "$(head_ stopped honest "$UNCACHED")" "502 MISS" "a HEAD miss gets 502, without a body"

# No connection or memory leaks on the failure paths: 100 more failures of each kind leave
# the worker with the descriptors and the anonymous memory it had.
worker=$(pgrep -P "$(<"$EDGE_DIR/nginx.pid")" | head -n1)
fds() { ls "/proc/$worker/fd" | wc -l; }
rss_anon() { awk '/^RssAnon:/ { print $2 }' "/proc/$worker/status"; }
fds_before=$(fds)
rss_before=$(rss_anon)
for _ in $(seq 100); do
    head_ stopped honest "$UNCACHED" >/dev/null
    head_ liar reset "$UNCACHED" >/dev/null
done
hanging=()
for _ in $(seq 5); do
    head_ hanging honest "$UNCACHED" >/dev/null &
    hanging+=($!)
done
wait "${hanging[@]}"  # not a bare wait: the helper servers are children of this shell too
is "$(fds)" "$fds_before" "open descriptors of the worker unchanged after 205 failed upstream requests"
# Under ASan (make test-asan) its allocator's quarantine grows RssAnon by design.
if [[ ${E2E_SANITIZED:-0} != 1 ]]; then
    check "RssAnon of the worker flat ($rss_before kB, then $(rss_anon) kB)" \
        test "$(($(rss_anon) - rss_before))" -lt 512
fi
check "no worker crashed; no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
