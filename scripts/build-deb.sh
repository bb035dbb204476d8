#!/usr/bin/env bash
# Builds the Debian package libnginx-mod-http-registry-cache_<version>_<arch>.deb into
# OUT_DIR (build/deb) and runs lintian on it. The source tree (what git would track: the
# .gitignore'd build output left out) is staged under OUT_DIR and built there with
# dpkg-buildpackage, so that debhelper's files and the .deb never land in the checkout.
# The module itself is built in OUT_DIR/module, kept between runs; or, with MODULE_PREBUILT
# set to the .so `make module` built from this tree, taken as it is.
set -euo pipefail

out_dir=${1:?usage: build-deb.sh OUT_DIR}
repo=$(cd "$(dirname "$0")/.." && pwd)
out_dir=$(mkdir -p "$out_dir" && cd "$out_dir" && pwd)

package=$(dpkg-parsechangelog -l "$repo/debian/changelog" -S Source)
version=$(dpkg-parsechangelog -l "$repo/debian/changelog" -S Version)
arch=$(dpkg-architecture -q DEB_HOST_ARCH)
deb=$out_dir/${package}_${version}_${arch}.deb
stage=$out_dir/$package-$version

rm -rf "$stage"
mkdir -p "$stage"
tar -C "$repo" --exclude-vcs --exclude-vcs-ignores --exclude=./build -cf - . | tar -C "$stage" -xf -

prebuilt=${MODULE_PREBUILT:+$(cd "$(dirname "$MODULE_PREBUILT")" && pwd)/$(basename "$MODULE_PREBUILT")}
(cd "$stage" && MODULE_OUT="$out_dir/module" MODULE_PREBUILT="$prebuilt" dpkg-buildpackage -b -us -uc) >"$out_dir/build.log" 2>&1 || {
    tail -n 40 "$out_dir/build.log" >&2
    echo "build-deb.sh: dpkg-buildpackage failed, the whole log: $out_dir/build.log" >&2
    exit 1
}
rm -rf "$stage"

# A warning fails `make deb` as an error does: there are no overrides.
lintian --fail-on error,warning --info "$deb"
echo "lintian: no errors or warnings"
echo "built $deb"
