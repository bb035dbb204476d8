#!/usr/bin/env bash
# Every configuration in conf-examples/ is one an operator can copy: with the module in the
# prefix's modules/ directory, `nginx -t` accepts it as it stands.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

EXAMPLES=$(cd "$(dirname "$0")/../../conf-examples" && pwd)
e2e_init
for conf in "$EXAMPLES"/*.conf; do
    prefix=$T/$(basename "$conf" .conf)
    mkdir -p "$prefix"/{modules,logs,temp,cache}
    ln -s "$MODULE_SO" "$prefix/modules/"
    check "nginx -t accepts conf-examples/$(basename "$conf")" \
        "$NGINX_BIN" -t -q -p "$prefix/" -c "$conf" -e "$prefix/logs/error.log"
done
done_testing
