#!/usr/bin/env bash
# Install PostgreSQL for the storage tests, which start their own throwaway server from its binaries
# (tests/support/postgres.py). Idempotent: when an initdb is already there it only says which one, in well
# under a second. Installs Debian's `postgresql` package with apt-get, only as root; elsewhere it says why
# and exits 0, and the tests' PostgreSQL cases are skipped with the same reason.
#
# usage: hack/install-postgres.sh [--check]
#   --check  install nothing; exit 1 when no PostgreSQL server binaries are found
set -euo pipefail

log() { printf '[postgres %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Where Debian and Ubuntu put the server binaries (/usr/lib/postgresql/<major>/bin), else the PATH.
find_initdb() {
  local found
  found="$(ls -1d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$found" ] || found="$(command -v initdb || true)"
  printf '%s' "$found"
}

initdb="$(find_initdb)"
if [ -n "$initdb" ]; then
  log "installed: $("$initdb" --version)"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  log "missing: no PostgreSQL server binaries (hack/install-postgres.sh installs them as root)"
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then log "skipped: installing postgresql needs root; the PostgreSQL storage tests will skip"; exit 0; fi
if ! command -v apt-get >/dev/null; then log "skipped: no apt-get to install postgresql; install it by hand"; exit 0; fi

log "installing postgresql (apt-get)"
export DEBIAN_FRONTEND=noninteractive
# The package's own cluster is not wanted (the tests start theirs): a policy-rc.d keeps it from being
# started, so nothing listens on 5432 after the install.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
fi
cleanup() { if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
# An update first only when the package lists cannot offer it (a fresh CI image has none).
if ! apt-get install -y -qq --no-install-recommends postgresql >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
initdb="$(find_initdb)"
[ -n "$initdb" ] || { log "postgresql installed, but no initdb found under /usr/lib/postgresql"; exit 1; }
log "installed: $("$initdb" --version)"
