#!/usr/bin/env bash
# `make run` / `make stop`: an edge on 127.0.0.1:8080 with the module loaded, on
# conf-examples/edge-local-registry.conf, in front of UPSTREAM (http://host:port) or, without
# it, of a local registry this script starts and seeds with the demo image. TLS=1: on
# 127.0.0.1:8443 with TLS too, its certificate signed by an authority generated in run/edge/tls
# (scripts/tls-cert.sh), the example's TLS lines turned on.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
run_dir="$repo/run"
edge="$run_dir/edge"
registry="$run_dir/registry"
nginx_bin=${NGINX_BIN:-/usr/sbin/nginx}
module="$repo/build/ngx_http_registry_cache_module.so"

start() {
    [ -f "$module" ] || { echo "run.sh: $module is missing; run 'make module'" >&2; exit 1; }
    stop quietly

    local upstream
    if [ -n "${UPSTREAM:-}" ]; then
        case "$UPSTREAM" in
            http://*) upstream=${UPSTREAM#http://}; upstream=${upstream%%/*} ;;
            *) echo "run.sh: UPSTREAM must be http://host:port, not '$UPSTREAM'" >&2; exit 1 ;;
        esac
    else
        "$repo/t/fixtures/registry.sh" start "$registry" >/dev/null
        upstream="127.0.0.1:$("$repo/t/fixtures/registry.sh" port "$registry")"
        "$repo/t/fixtures/seed.sh" "$upstream"
    fi

    mkdir -p "$edge"/{logs,temp,cache,modules}
    ln -sf "$module" "$edge/modules/"
    local tls=()
    if [ "${TLS:-0}" = 1 ]; then
        "$repo/scripts/tls-cert.sh" "$edge/tls"
        tls=(-e 's|^\( *\)#\(listen 127.0.0.1:8443 ssl http2;\)|\1\2|' -e 's|^\( *\)#\(ssl_certificate\)|\1\2|')
    fi
    sed -e "s|server 127.0.0.1:5000;|server $upstream;|" "${tls[@]}" \
        "$repo/conf-examples/edge-local-registry.conf" > "$edge/nginx.conf"
    if [ "${TLS:-0}" = 1 ] && ! grep -q '^ *listen 127.0.0.1:8443 ssl' "$edge/nginx.conf"; then
        echo "run.sh: the example's TLS lines were not found" >&2
        exit 1
    fi
    "$nginx_bin" -p "$edge/" -c nginx.conf -e logs/error.log -t -q
    "$nginx_bin" -p "$edge/" -c nginx.conf -e logs/error.log

    cat <<MSG
edge: http://127.0.0.1:8080 -> http://$upstream  (config: $edge/nginx.conf, logs: $edge/logs/)
pull through it:
  skopeo copy --src-tls-verify=false docker://127.0.0.1:8080/demo/hello:1.0 oci:/tmp/hello:1.0
MSG
    if [ "${TLS:-0}" = 1 ]; then
        cat <<MSG
and with TLS, trusting the authority in $edge/tls/ca:
  skopeo copy --src-cert-dir $edge/tls/ca docker://127.0.0.1:8443/demo/hello:1.0 oci:/tmp/hello:1.0
MSG
    fi
    cat <<MSG
metrics: curl http://127.0.0.1:9145/metrics
stop with: make stop
MSG
}

stop() {
    if [ -f "$edge/logs/nginx.pid" ]; then
        "$nginx_bin" -p "$edge/" -c nginx.conf -e logs/error.log -s quit 2>/dev/null || true
        for _ in $(seq 50); do [ -f "$edge/logs/nginx.pid" ] || break; sleep 0.1; done
    fi
    if [ -d "$registry" ]; then
        "$repo/t/fixtures/registry.sh" stop "$registry"
    fi
    [ "${1:-}" = quietly ] || echo "stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: run.sh start|stop" >&2; exit 2 ;;
esac
