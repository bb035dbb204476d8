#!/usr/bin/env bash
# Fetches Debian's full nginx source (the tree `apt-get source nginx` unpacks) into DIR and
# prints the path of the unpacked tree. Needs a deb-src entry for Debian's archive; adds one
# beside the machine's own entry when none is there.
set -euo pipefail

dest=${1:?usage: nginx-source.sh DIR}
mkdir -p "$dest"
find_tree() { find "$dest" -mindepth 1 -maxdepth 1 -type d -name 'nginx-*' | head -n1; }
existing=$(find_tree)
if [ -n "$existing" ] && [ -x "$existing/configure" ]; then
    echo "$existing"; exit 0
fi

src_list=/etc/apt/sources.list.d/registry-cache-deb-src.sources
if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # Mirror the machine's own Debian entry, as source.
    cat > "$src_list" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    apt-get update -qq >&2
fi
(cd "$dest" && apt-get source -qq --download-only nginx >&2 && dpkg-source -x --no-check nginx_*.dsc >/dev/null)
tree=$(find_tree)
[ -n "$tree" ] || { echo "nginx-source.sh: apt-get source nginx gave no tree in $dest" >&2; exit 1; }
echo "$tree"
