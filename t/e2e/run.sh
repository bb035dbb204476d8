#!/usr/bin/env bash
# Run the end-to-end suite against one shared registry.
#
#   t/e2e/run.sh [PROVE-ARGS...]        e.g. t/e2e/run.sh -v
#
# Starts a registry (t/fixtures/registry.sh) in a temp dir unless
# REGISTRY_PORT is already set, seeds it (t/fixtures/seed.sh), exports
# REGISTRY_PORT and runs `prove t/e2e/`; the registry is stopped on exit.
# Test env passes through: MODULE_SO, NGINX_BIN, E2E_PLAIN_PROXY, E2E_KEEP.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FIXTURES=$(cd "$HERE/../fixtures" && pwd)
WORK=

cleanup() {
    local rc=$?
    if [[ -n $WORK ]]; then
        "$FIXTURES/registry.sh" stop "$WORK/registry" || true
        if [[ ${E2E_KEEP:-0} == 1 ]]; then echo "# kept $WORK"; else rm -rf "$WORK"; fi
    fi
    exit "$rc"
}

main() {
    local start=$SECONDS
    if [[ -z ${REGISTRY_PORT:-} ]]; then
        WORK=$(mktemp -d "${TMPDIR:-/tmp}/e2e-run.XXXXXX")
        trap cleanup EXIT
        REGISTRY_PORT=$("$FIXTURES/registry.sh" start "$WORK/registry")
        "$FIXTURES/seed.sh" "127.0.0.1:$REGISTRY_PORT" "$WORK/fixtures"
        echo "# registry on 127.0.0.1:$REGISTRY_PORT (log: $WORK/registry/registry.log)"
    fi
    export REGISTRY_PORT
    local rc=0
    prove "$@" "$HERE/" || rc=$?
    echo "# e2e finished in $((SECONDS - start))s"
    return "$rc"
}

main "$@"
