#!/usr/bin/env bash
# What the e2e tests need, built in the background by `hack/run-tests.sh --prepare` (make test) while the tests
# that need nothing built run. Two stages, each announced by a file in DIR holding its exit code, so the tests
# can go on as soon as they have what they need (tests/support/prepared.py):
#   DIR/control-plane  the control plane's binaries (make binaries): the kwok e2e tests can start
#   DIR/all            also the real node's binaries, its Debian packages and the image (make node-binaries,
#                      make test-host-deps): the real-pod tests can start
# The Go builds run one after the other (they share Go's build cache; two at once would compile the same packages
# twice); the apt installs and the image build, which mostly wait on the network and the disk, run beside them.
#
# usage: hack/prepare-tests.sh DIR    (output: the build logs; progress lines carry their own timestamps)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir="${1:?usage: hack/prepare-tests.sh DIR}"
mkdir -p "$dir"
rm -f "$dir/control-plane" "$dir/all"

announce() {  # announce STAGE CODE: written under a temporary name and renamed, so never read half-written
  echo "$2" >"$dir/$1.partial" && mv "$dir/$1.partial" "$dir/$1"
}

make --no-print-directory test-host-deps &
host=$!
make --no-print-directory binaries
control_plane=$?
announce control-plane "$control_plane"
node=1
[ "$control_plane" -ne 0 ] || { make --no-print-directory node-binaries; node=$?; }
wait "$host"
host_rc=$?
if [ "$control_plane" -ne 0 ]; then all=$control_plane; elif [ "$node" -ne 0 ]; then all=$node; else all=$host_rc; fi
announce all "$all"
exit "$all"
