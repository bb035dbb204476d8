#!/usr/bin/env bash
# Installs, from Debian's archive, every package the build, the tests and `make run` need,
# and only those that are missing (a machine that has them all is left alone, offline).
set -euo pipefail

packages=(
    # build: the core with CMake, the module with nginx's own build
    build-essential cmake pkg-config nginx nginx-dev dpkg-dev
    liblmdb-dev lmdb-utils libssl-dev libgtest-dev libbenchmark-dev
    # the upstream registry and real registry clients
    docker-registry skopeo podman containerd
    # dockerd, pulling through the edge as a registry mirror (conf-examples/clients/docker)
    docker.io
    # the Test::Nginx runner's Perl dependencies, and the test scripts' tools
    perl libtest-base-perl libtest-longstring-perl libtext-diff-perl libwww-perl
    libhttp-message-perl liblist-moreutils-perl curl jq python3 openssl gzip tar xxd coreutils
    # the token service of the tests (Debian's /usr/bin/python3)
    python3-jwt python3-cryptography
    # promtool, which checks the metrics exposition and the example alerts; YAML for the
    # check of the metric names the example dashboard and alerts use
    prometheus python3-yaml
    # the Debian package (make deb): debhelper with nginx-dev's dh_nginx, checked by lintian
    debhelper fakeroot lintian
    # libFuzzer and the sanitizers (make fuzz), and valgrind for the unit tests
    clang libclang-rt-14-dev valgrind
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: root is needed to apt-get install: ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
