#!/usr/bin/env bash
# The client configurations of conf-examples/clients/, as shipped, in front of the edge of
# conf-examples/edge-local-registry.conf (what `make run` starts): each names the edge
# 127.0.0.1:8080, and only that address is changed here, to this test's edge. dockerd
# (registry-mirrors), ctr (hosts.toml) and podman and skopeo (registries.conf) pull an image
# by its Docker Hub name, docker.io/library/<name>:1.0; it arrives from the edge (Docker Hub
# is out of reach here: a pull that went past the edge fails), with the manifest digest the
# test registry holds, and the edge's access log shows what each client asked. Each client
# pulls its own repository, so that each pull is a miss the edge passes upstream. The
# Kubernetes examples are documentation: they are parsed only.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

CLIENTS=$(cd "$(dirname "$0")/../../conf-examples/clients" && pwd)
EXAMPLE=$(cd "$(dirname "$0")/../../conf-examples" && pwd)/edge-local-registry.conf
DEFAULT_EDGE=127.0.0.1:8080
e2e_init
e2e_registry

# --- the edge, from the example -------------------------------------------------------
EDGE_DIR=$T/edge
mkdir -p "$EDGE_DIR"/{temp,cache}
EDGE=127.0.0.1:$(free_port)
METRICS=127.0.0.1:$(free_port)
sed -e "s|^load_module modules/.*;|load_module $MODULE_SO;|" \
    -e "s|^worker_processes auto;|worker_processes 1;\nuser root root;|" \
    -e "s|logs/||" \
    -e "s|server 127.0.0.1:5000;|server $REGISTRY;|" \
    -e "s|listen $DEFAULT_EDGE;|listen $EDGE;|" \
    -e "s|listen 127.0.0.1:9145;|listen $METRICS;|" \
    "$EXAMPLE" >"$EDGE_DIR/nginx.conf"
"$NGINX_BIN" -p "$EDGE_DIR/" -c "$EDGE_DIR/nginx.conf" -e "$EDGE_DIR/error.log"
check "the edge of the example answers on $EDGE" _edge_wait_ready

# --- the image, under a Docker Hub name per client -------------------------------------
e2e_build_image hello 1.0 "$T/src"
DIGEST=$(layout_manifest_digest "$T/src" 1.0)
NAME=mirrored-$$
for client in docker ctr podman skopeo; do
    skopeo_ copy --dest-tls-verify=false "oci:$T/src:1.0" "docker://$REGISTRY/library/$NAME-$client:1.0" ||
        { diag "could not push library/$NAME-$client"; exit 1; }
done

# A client's configuration file, its edge address changed to this test's edge: SHIPPED OUT.
adapt() {
    sed "s|$DEFAULT_EDGE|$EDGE|g" "$1" >"$2"
    if ! grep -qF "$EDGE" "$2" || grep -qF "$DEFAULT_EDGE" "$2"; then
        echo "$1 does not name $DEFAULT_EDGE"
        return 1
    fi
}
# The edge's access-log lines of requests for REPO (the example's format: address, request,
# status, bytes, time, cache=..., user agent), printed for the report.
asked() { grep -aF " /v2/library/$1/" "$EDGE_DIR/access.log"; }
# The client asked the edge for REPO's tag 1.0 (HEAD or GET, with containerd's ?ns) and for
# its blobs, all answered; the edge passed the first of them upstream (a MISS).
edge_served() {
    asked "$1" | tee /dev/stderr | grep -aqE "\"(HEAD|GET) /v2/library/$1/manifests/1\.0(\?ns=docker\.io)? HTTP/1\.1\" 200 " &&
        asked "$1" | grep -aqE "\"GET /v2/library/$1/blobs/sha256:[0-9a-f]{64}(\?ns=docker\.io)? HTTP/1\.1\" 200 " &&
        asked "$1" | grep -aqF " cache=MISS "
}

# --- Docker: daemon.json -----------------------------------------------------------------
if e2e_has_dockerd; then
    check "daemon.json names the edge, adapted to this one" \
        adapt "$CLIENTS/docker/daemon.json" "$T/daemon.json"
    e2e_dockerd_start "$T/daemon.json"
    diag "$("$DOCKERD" --version)"
    mirror_listed() { docker_ info 2>/dev/null | grep -qF "http://$EDGE/"; }
    check "dockerd lists the edge as its mirror" mirror_listed
    check "docker pulls $NAME-docker:1.0 (Docker Hub's library/$NAME-docker)" docker_ pull "$NAME-docker:1.0"
    is "$(docker_ image inspect -f '{{join .RepoDigests " "}}' "$NAME-docker:1.0" 2>&1)" "$NAME-docker@$DIGEST" \
        "docker holds the manifest the registry holds"
    check "dockerd asked the edge" edge_served "$NAME-docker"
    e2e_dockerd_stop
else
    echo "ok $((++_tap_n)) # SKIP no dockerd: the docker.io package (scripts/install-deps.sh)"
fi

# --- containerd: certs.d/docker.io/hosts.toml ------------------------------------------
if command -v containerd >/dev/null && command -v ctr >/dev/null; then
    mkdir -p "$T/certs.d/docker.io"
    check "hosts.toml names the edge, adapted to this one" \
        adapt "$CLIENTS/containerd/certs.d/docker.io/hosts.toml" "$T/certs.d/docker.io/hosts.toml"
    e2e_containerd_start
    diag "$(containerd --version)"
    check "ctr pulls docker.io/library/$NAME-ctr:1.0 with --hosts-dir" \
        ctr_ images pull --hosts-dir "$T/certs.d" --snapshotter native "docker.io/library/$NAME-ctr:1.0"
    is "$(ctr_ images ls 2>/dev/null | awk -v i="docker.io/library/$NAME-ctr:1.0" '$1 == i { print $3 }')" \
        "$DIGEST" "containerd holds the manifest the registry holds"
    check "containerd asked the edge" edge_served "$NAME-ctr"
    check "with ns=docker.io" grep -aqF "/v2/library/$NAME-ctr/manifests/1.0?ns=docker.io " "$EDGE_DIR/access.log"
    kill -TERM "$CONTAINERD"
    wait "$CONTAINERD" 2>/dev/null || true
else
    echo "ok $((++_tap_n)) # SKIP no containerd or ctr: the containerd package (scripts/install-deps.sh)"
fi

# --- podman and skopeo: registries.conf ------------------------------------------------
mkdir -p "$T/podman"
check "registries.conf names the edge, adapted to this one" \
    adapt "$CLIENTS/containers/registries.conf" "$T/podman/registries.conf"
if command -v podman >/dev/null; then
    diag "$(podman --version)"
    check "podman pulls docker.io/library/$NAME-podman:1.0" podman_ pull -q "docker.io/library/$NAME-podman:1.0"
    is "$(podman_ image inspect -f '{{.Digest}}' "docker.io/library/$NAME-podman:1.0" 2>&1)" "$DIGEST" \
        "podman holds the manifest the registry holds"
    check "podman asked the edge" edge_served "$NAME-podman"
else
    echo "ok $((++_tap_n)) # SKIP no podman: the podman package (scripts/install-deps.sh)"
fi
if command -v skopeo >/dev/null; then
    diag "$(skopeo --version)"
    # skopeo 1.9 reads no CONTAINERS_REGISTRIES_CONF: its --registries-conf names the file.
    check "skopeo copies docker://docker.io/library/$NAME-skopeo:1.0 with registries.conf" \
        skopeo --registries-conf "$T/podman/registries.conf" --policy "$T/skopeo/policy.json" \
        --registries.d "$T/skopeo/registries.d" --tmpdir "$T" copy \
        "docker://docker.io/library/$NAME-skopeo:1.0" "oci:$T/skopeo-out:1.0"
    is "$(layout_manifest_digest "$T/skopeo-out" 1.0)" "$DIGEST" "skopeo got the manifest the registry holds"
    check "skopeo asked the edge" edge_served "$NAME-skopeo"
else
    echo "ok $((++_tap_n)) # SKIP no skopeo: the skopeo package (scripts/install-deps.sh)"
fi

# --- Kubernetes nodes: documentation, parsed -------------------------------------------
check "kubernetes/containerd-config.toml parses, config_path = /etc/containerd/certs.d" \
    /usr/bin/python3 -c 'import sys, tomllib
c = tomllib.load(open(sys.argv[1], "rb"))
assert c["plugins"]["io.containerd.grpc.v1.cri"]["registry"]["config_path"] == "/etc/containerd/certs.d"' \
    "$CLIENTS/kubernetes/containerd-config.toml"
check "kubernetes/k3s-registries.yaml parses, docker.io's endpoint the edge" \
    /usr/bin/python3 -c 'import sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
assert c["mirrors"]["docker.io"]["endpoint"] == ["http://'"$DEFAULT_EDGE"'"], c' \
    "$CLIENTS/kubernetes/k3s-registries.yaml"

check "edge error log has no [alert], [crit] or [emerg]" edge_error_log_clean
done_testing
