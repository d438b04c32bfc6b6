#!/usr/bin/env bash
# Install the Debian packages the real node and the image build need (runc, iptables, nftables, socat, debootstrap;
# pinned in hack/versions.env). Idempotent: when everything is installed it only checks, in well under a second.
#
# usage: hack/install-node-deps.sh [--check]
#   --check  install nothing; exit 1 and name what is missing
# Exits 0 without doing anything, and says why, where a real node cannot run anyway (not Linux, not root,
# no apt-get): cluster-up then continues with kwok nodes only.
set -euo pipefail

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$HACK/versions.env"

log() { printf '[node-deps %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

IFS=, read -r -a packages <<<"$NODE_DEB_PACKAGES"
missing=()
for p in "${packages[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  log "installed: $(dpkg-query -W -f='${Package} ${Version}  ' "${packages[@]}")"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  log "missing Debian packages: ${missing[*]} (make node installs them)"
  exit 1
fi
if [ "$(uname -s)" != Linux ]; then log "skipped: a real node needs Linux"; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then log "skipped: installing ${missing[*]} needs root (a real node needs root too)"; exit 0; fi
if ! command -v apt-get >/dev/null; then log "skipped: no apt-get to install ${missing[*]}; install them by hand"; exit 0; fi

log "installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# An update first only when the package lists cannot offer what is missing (a fresh CI image has none).
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
log "installed: $(dpkg-query -W -f='${Package} ${Version}  ' "${packages[@]}")"
