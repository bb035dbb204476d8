#!/usr/bin/env bash
# registry_cache_link_ttl and registry_cache_tag_ttl in front of the clients that pull through
# containerd (ctr) and the Docker daemon: past the TTLs, a repeated pull is answered by the
# edge after one HEAD per object it holds (REVALIDATED: the registry sends no manifest or
# blob body again), and with the registry stopped, registry_cache_use_stale keeps the same
# pulls working (STALE), every digest checked by the client as it always does.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

e2e_init
# A registry of the test's own: it is stopped half way.
OWN=$T/own-registry
REGISTRY=127.0.0.1:$("$FIXTURES/registry.sh" start "$OWN")
trap 'rc=$?; set +e; "$FIXTURES/registry.sh" stop "$OWN" >/dev/null 2>&1; (exit $rc); _e2e_cleanup' EXIT
e2e_build_image hello 1.0 "$T/src"
DIGEST=$(layout_manifest_digest "$T/src" 1.0)
CLIENTS=(ctr)
e2e_has_dockerd && CLIENTS+=(docker)
for client in "${CLIENTS[@]}"; do
    skopeo_ copy --dest-tls-verify=false "oci:$T/src:1.0" "docker://$REGISTRY/e2e/expiring-$client:1.0" ||
        { diag "could not push e2e/expiring-$client"; exit 1; }
done

# What the edge answered itself (a request it passes upstream is logged by the upstream's
# location instead); what the edge asked the registry (its revalidation HEADs too), with the
# registry's status and the bytes of the body that came back.
STORE_EDGE_HTTP="  log_format pulls '\$request_method \$uri \$status \$registry_cache_status';
  log_format asked '\$uri \$upstream_status \$upstream_response_length';"
STORE_EDGE_SERVER="    access_log $T/pulls.log pulls;"
STORE_EDGE_LOCATION="      registry_cache_link_ttl 1s;
      registry_cache_tag_ttl 1s;
      registry_cache_use_stale error timeout http_502 http_503 http_504;"
STORE_EDGE_UPSTREAM="      access_log $T/asked.log asked;
      log_subrequest on;"
e2e_store_edge_start "zone=edge:1m max_size=64m blobs_max_size=1g" "$REGISTRY"
diag "edge on $EDGE, registry on $REGISTRY"

e2e_containerd_start
if [[ ${CLIENTS[*]} == *docker* ]]; then
    printf '{"insecure-registries": ["%s"]}\n' "$EDGE" >"$T/daemon.json"
    e2e_dockerd_start "$T/daemon.json"
fi
# The image CLIENT pulls: a repository of its own.
image() { echo "$EDGE/e2e/expiring-$1:1.0"; }

# One pull by CLIENT, from nothing it held: the image it ends with is the registry's.
pull() {  # CLIENT WHAT
    local want=$DIGEST
    [[ $1 == docker ]] && want=$EDGE/e2e/expiring-docker@$DIGEST
    check "$1 holds nothing of the image" "$1_forget_image" "$(image "$1")"
    check "$1 pulls the image $2" "$1_pull_image" "$(image "$1")"
    is "$("$1_image_digest" "$(image "$1")")" "$want" "$1 holds the manifest the registry holds"
}
# The edge's own answers to CLIENT's requests for its repository since line MARK of its log,
# counted by status: "N HIT M REVALIDATED ...", sorted.
answers() {  # CLIENT MARK
    tail -n +$(($2 + 1)) "$T/pulls.log" | awk -v r="/v2/e2e/expiring-$1/" 'index($2, r) == 1 { print $4 }' |
        sort | uniq -c | awk '{ printf "%s%s %s", (NR > 1 ? " " : ""), $1, $2 }'
}
# What the registry answered the edge about CLIENT's repository since line MARK of its log:
# "status bytes" per request.
asked() {  # CLIENT MARK
    tail -n +$(($2 + 1)) "$T/asked.log" | awk -v r="/v2/e2e/expiring-$1/" 'index($1, r) == 1 { print $2, $3 }'
}
lines() { wc -l <"$1"; }

for client in "${CLIENTS[@]}"; do
    mark=$(lines "$T/asked.log")
    pull "$client" "through the edge"
    check "the edge fetched $client's first pull from the registry" \
        bash -c "[[ \$(grep -c '^200 [1-9]' <<<'$(asked "$client" "$mark")') -ge 5 ]]"
done

# Past the TTLs (of a second; the edge counts whole seconds).
sleep 2.1
for client in "${CLIENTS[@]}"; do
    mark=$(lines "$T/pulls.log") asked_mark=$(lines "$T/asked.log")
    pull "$client" "again, past the TTLs"
    diag "$client, past the TTLs: $(answers "$client" "$mark")"
    check "the edge revalidated what it holds for $client" bash -c "[[ '$(answers "$client" "$mark")' == *REVALIDATED* ]]"
    is "$(asked "$client" "$asked_mark" | sort -u)" "200 0" \
        "the registry answered HEADs alone: no manifest or blob body came again"
done

"$FIXTURES/registry.sh" stop "$OWN" >/dev/null 2>&1
check "the registry is stopped" bash -c "! curl -s -o /dev/null --max-time 2 http://$REGISTRY/v2/"
sleep 2.1
for client in "${CLIENTS[@]}"; do
    mark=$(lines "$T/pulls.log") asked_mark=$(lines "$T/asked.log")
    pull "$client" "with the registry stopped"
    diag "$client, the registry stopped: $(answers "$client" "$mark")"
    like "$(answers "$client" "$mark")" '^[0-9]+ STALE$' "the edge answered every request of $client stale"
    is "$(asked "$client" "$asked_mark" | grep -vc '^502 ' || true)" 0 \
        "and passed none of them upstream (what it tried of the registry failed)"
done
check "every stale answer was logged" grep -aq 'answered stale' "$EDGE_DIR/error.log"

if [[ ${CLIENTS[*]} == *docker* ]]; then
    e2e_dockerd_stop
else
    echo "ok $((++_tap_n)) # SKIP no dockerd: the docker.io package (scripts/install-deps.sh)"
fi
check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
