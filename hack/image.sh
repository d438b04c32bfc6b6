#!/usr/bin/env bash
# The project image without Docker: build it from the Dockerfile (hack/imagebuild: the same instructions, run in
# a chroot on a cached Debian bookworm rootfs) into an OCI archive, and import it into the real node's containerd
# under the operator's default image name, so pods find it without a registry.
#
# usage: hack/image.sh build|import|all [--if-possible]
#   --if-possible  where the image cannot be built (not root, not Linux) say why and exit 0 (make test, make demo)
# prints the archive path on the last line of stdout.
set -euo pipefail

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HACK/.." && pwd)"
# shellcheck source=versions.env
source "$HACK/versions.env"
export CACHE="${TRADINGBOT_CACHE:-$HOME/.cache/tradingbot}"
D="${TRADINGBOT_CLUSTER_DIR:-$ROOT/.cluster}"
ARCHIVE="${TRADINGBOT_IMAGE_ARCHIVE:-$ROOT/build/image/tradingbot.oci.tar}"
IMAGE="$(sed -n 's/^DEFAULT_IMAGE = "\(.*\)"$/\1/p' "$ROOT/operator/tradingbot_operator/api/constants.py")"
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/pyproject.toml")"

log() { printf '[image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cannot_build() {
  [ "$(uname -s)" = Linux ] || { echo "not Linux"; return 0; }
  [ "$(id -u)" -eq 0 ] || { echo "not root (the build uses chroot and mounts)"; return 0; }
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed; run 'make node'"; return 0; }
  return 1
}

build() {
  local reason
  if reason="$(cannot_build)"; then
    [ "$IF_POSSIBLE" = 1 ] && { log "not built: $reason"; return 0; }
    echo "error: cannot build the image: $reason" >&2; exit 1
  fi
  local revision created
  revision="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
  created="$(git -C "$ROOT" log -1 --format=%cI 2>/dev/null || echo unknown)"
  local start=$SECONDS
  BASE_DEBIAN_SUITE="$BASE_DEBIAN_SUITE" BASE_DEBIAN_MIRROR="$BASE_DEBIAN_MIRROR" \
  BASE_DEBIAN_PACKAGES="$BASE_DEBIAN_PACKAGES" BASE_ROOTFS_VERSION="$BASE_ROOTFS_VERSION" TRADINGBOT_CACHE="$CACHE" \
  PYTHONPATH="$HACK" python3 -m imagebuild build --dockerfile "$ROOT/Dockerfile" --context "$ROOT" --out "$ARCHIVE" \
    --build-arg "VERSION=$VERSION" --build-arg "REVISION=$revision" --build-arg "CREATED=$created"
  log "$IMAGE: $ARCHIVE ($((SECONDS - start))s)"
}

import() {
  local sock="$D/node/run/containerd.sock"
  if [ ! -S "$sock" ]; then
    log "no real node in $D: $IMAGE not imported ($(cat "$D/node.skipped" 2>/dev/null || echo "cluster not up"))"
    return 0
  fi
  [ -f "$ARCHIVE" ] || { [ "$IF_POSSIBLE" = 1 ] && { log "no archive to import ($ARCHIVE)"; return 0; }; echo "error: $ARCHIVE does not exist; run 'make image'" >&2; exit 1; }
  local ctr=("$CACHE/containerd-v$CONTAINERD_VERSION/ctr" --address "$sock" --namespace k8s.io) want have
  want="sha256:$(tar -xOf "$ARCHIVE" index.json | sha256sum | cut -d' ' -f1)"
  have="$("${ctr[@]}" images ls "name==$IMAGE" 2>/dev/null | awk 'NR > 1 { print $3 }')"
  if [ "$want" = "$have" ]; then log "$IMAGE: already in the node's containerd"; return 0; fi
  local start=$SECONDS
  "${ctr[@]}" images import --index-name "$IMAGE" "$ARCHIVE" >/dev/null
  log "$IMAGE: imported into the node's containerd in $((SECONDS - start))s"
}

IF_POSSIBLE=0
[ "${2:-}" = "--if-possible" ] && IF_POSSIBLE=1
case "${1:-}" in
  build) build ;;
  import) import ;;
  all) build; import ;;
  *) echo "usage: $0 build|import|all [--if-possible]" >&2; exit 2 ;;
esac
echo "$ARCHIVE"
