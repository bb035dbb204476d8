#!/usr/bin/env bash
# The operator's route: Debian's full nginx source (apt-get source nginx), configured with
# --with-compat --add-dynamic-module=<repo>, `make modules`; the resulting .so must load into
# Debian's stock /usr/sbin/nginx (binary compatibility is what --with-compat promises).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: check-nginx-source-build.sh BUILD_DIR}" && pwd)
nginx_bin=${NGINX_BIN:-/usr/sbin/nginx}

tree=$("$repo/scripts/nginx-source.sh" "$build/nginx-full")
"$repo/scripts/build-module.sh" "$tree" "$build/with-compat"

prefix=$(mktemp -d "${TMPDIR:-/tmp}/registry-cache-load.XXXXXX")
trap 'rm -rf "$prefix"' EXIT
mkdir -p "$prefix/logs"
cat > "$prefix/nginx.conf" <<CONF
load_module $build/with-compat/ngx_http_registry_cache_module.so;
pid logs/nginx.pid;
events {}
http {
    registry_cache_path cache zone=edge:1m;
    server {
        listen 127.0.0.1:1;
        location /v2/ { registry_cache edge; registry_cache_pass @registry; }
        location @registry { return 502; }
    }
}
CONF
"$nginx_bin" -p "$prefix/" -c nginx.conf -e logs/error.log -t
echo "ok: the module built from $tree loads into $nginx_bin"
