#!/usr/bin/env bash
# Builds ngx_http_registry_cache_module.so the nginx way: configure an nginx source tree with
# --add-dynamic-module=<repo>, then `make modules`. NGINX_SRC is either Debian's module tree
# (/usr/share/nginx/src from nginx-dev, configured with its conf_flags so the module is
# binary-compatible with /usr/sbin/nginx) or a full nginx source tree (configured
# --with-compat). The tree is copied under OUT_DIR so that the source stays untouched.
# NGX_CC_OPT and NGX_LD_OPT, when set, go to configure's --with-cc-opt and --with-ld-opt (the
# Debian package passes dpkg-buildflags' hardening flags this way).
set -euo pipefail

nginx_src=${1:?usage: build-module.sh NGINX_SRC OUT_DIR}
out_dir=${2:?usage: build-module.sh NGINX_SRC OUT_DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
nginx_src=$(cd "$nginx_src" && pwd)
out_dir=$(mkdir -p "$out_dir" && cd "$out_dir" && pwd)

[ -x "$nginx_src/configure" ] || { echo "build-module.sh: no configure in $nginx_src" >&2; exit 1; }

tree="$out_dir/nginx-tree/$(echo "$nginx_src" | tr / _)"
stamp="$tree/.configured"
extra=()
[ -n "${NGX_CC_OPT:-}" ] && extra+=(--with-cc-opt="$NGX_CC_OPT")
[ -n "${NGX_LD_OPT:-}" ] && extra+=(--with-ld-opt="$NGX_LD_OPT")

# Reconfigure when the addon script changed (it lists the sources), the tree is new, or the
# extra flags differ from those it was configured with (the stamp holds them).
if [ ! -f "$stamp" ] || [ "$repo/config" -nt "$stamp" ] ||
    [ "$(cat "$stamp")" != "${extra[*]}" ]; then
    rm -rf "$tree"
    mkdir -p "$tree"
    cp -a "$nginx_src/." "$tree/"
    flags=()
    if [ -f "$tree/conf_flags" ]; then
        # Debian's flags are what /usr/sbin/nginx was built with; modules must match them.
        # shellcheck disable=SC1091
        . "$tree/conf_flags"
        flags=("${NGX_CONF_FLAGS[@]}")
    else
        flags=(--with-compat)
    fi
    (cd "$tree" && ./configure "${flags[@]}" --add-dynamic-module="$repo" "${extra[@]}" >"$tree/configure.log" 2>&1) || {
        tail -n 30 "$tree/configure.log" >&2
        exit 1
    }
    echo "${extra[*]}" >"$stamp"
fi

make -s -C "$tree" -f objs/Makefile modules -j"$(nproc)"
# A new file renamed into place, never a copy over the old one: an nginx running with the old
# module has it mapped, and rewriting its pages under it crashes its workers.
cp "$tree/objs/ngx_http_registry_cache_module.so" "$out_dir/.ngx_http_registry_cache_module.so.new"
mv -f "$out_dir/.ngx_http_registry_cache_module.so.new" "$out_dir/ngx_http_registry_cache_module.so"
echo "built $out_dir/ngx_http_registry_cache_module.so"
