#!/usr/bin/env bash
# No leak on the request paths: over 100,000 requests (HEAD hits, and misses that the
# upstream confirms and the cache records), the worker's anonymous memory stays flat. The
# store's map is file-backed shared memory (RssFile/RssShmem), so its growth with the
# recorded entries is not counted; RssAnon is what a leak would grow.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
e2e_start_liar
EDGE_DIR=$T/edge
e2e_liar_edge_start "$EDGE_DIR/cache zone=edge:1m max_size=64m"
worker=$(pgrep -P "$(<"$EDGE_DIR/nginx.pid")" | head -n1)
rss_anon() { awk '/^RssAnon:/ { print $2 }' "/proc/$worker/status"; }

# HEAD hits of one learned blob, COUNT of them, over one keep-alive connection.
hits() {
    local i url
    url="url = \"http://$EDGE/v2/lie/honest/blobs/$(honest_digest 1)\""
    for ((i = 0; i < $1; i++)); do echo "$url"; done >"$T/hit-urls"
    curl -s -I -K "$T/hit-urls" | awk '/^HTTP\// { print $2 }' | sort | uniq -c | awk '{ print $2 ":" $1 }'
}
# 10,000 requests, a tenth of them misses of new blobs; prints the statuses seen.
round() {
    { honest_heads "$(($1 * 1000 + 2))" "$(($1 * 1000 + 1001))"; hits 9000 | tr ':' ' ' |
        awk '{ for (i = 0; i < $2; i++) print $1 }'; } | sort | uniq -c | awk '{ print $2 ":" $1 }'
}

honest_heads 1 1 >/dev/null  # learn the blob the hits ask for
round 0 >/dev/null
round 1 >/dev/null
before=$(rss_anon)
statuses=""
for r in $(seq 2 9); do statuses+="$(round "$r") "; done
after=$(rss_anon)
is "$statuses" "$(printf '200:10000 %.0s' $(seq 2 9))" "80,000 more requests, every one answered 200"
check "the worker is the one measured first" alive "$worker"
check "RssAnon of the worker flat: $before kB after 20,000 requests, $after kB after 100,000" \
    test "$((after - before))" -lt 1024
check "no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
