# shellcheck shell=bash
# The real node beside the kwok nodes: containerd (+ runc), a kubelet, kube-proxy, CoreDNS, a volume provisioner
# and a bridge network,
# so pods run as real containers. Sourced by hack/cluster.sh, whose helpers (log, start, pid_of, wait_for,
# kubectl, pick_ports, write_kubeconfig) and variables ($D, $CACHE, versions) it uses.
#
# This file: settings, the preflight (can a node run here, and if not, why), the machine-wide claim and lock,
# node_up/node_down/node_status. hack/node/start.sh starts the parts; hack/node/cleanup.sh undoes them.
#
# One real node per machine: the bridge, the iptables chains and the cgroup tree have fixed names. The first
# cluster to come up takes it (a claim file under /run); others say so and run with kwok nodes only.
# Everything it makes is undone by node_down: processes, mounts, the bridge, iptables chains, cgroups, sysctls.

NODE_NAME=tradingbot-node
NODE_BRIDGE=tbbr0
# Pod addresses: a subnet no interface on this machine uses (checked before start). Override to move it.
NODE_SUBNET="${TRADINGBOT_NODE_SUBNET:-10.234.0.0/24}"
NODE_IP="${NODE_SUBNET%.*}.1"
NODE_PREFIX="${NODE_SUBNET#*/}"
SERVICE_CIDR=10.96.0.0/16
DNS_SERVICE_IP=10.96.0.10
NODE_CGROUP=tradingbot-node
NODE_CLAIM=/run/tradingbot-real-node
NODE_LOCK=/run/lock/tradingbot-real-node.lock  # lock files in /run/lock are the norm (tmpfs)
NODE_PROCS=(containerd kubelet kube-proxy apiserver-proxy coredns local-path)
NODE_BIN="$CACHE/kubernetes-node-v$K8S_VERSION"
CONTAINERD_BIN="$CACHE/containerd-v$CONTAINERD_VERSION"
CNI_BIN="$CACHE/cni-plugins-v$CNI_PLUGINS_VERSION"
COREDNS_BIN="$CACHE/coredns-v$COREDNS_VERSION"
LOCAL_PATH_BIN="$CACHE/local-path-provisioner-v$LOCAL_PATH_PROVISIONER_VERSION"
PAUSE_DIR="$CACHE/pause-v$PAUSE_VERSION"
PAUSE_IMAGE="localhost/tradingbot/pause:$PAUSE_VERSION"
# The kwok nodes' taint while a real node is up: pods land on the real node unless they tolerate it.
KWOK_TAINT="kwok.x-k8s.io/node=fake:NoSchedule"
# What the kubelet and our network setup change machine-wide, restored on node_down.
NODE_SYSCTLS=(net.ipv4.ip_forward vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.conf.all.route_localnet)
# Fixed paths the kubelet, containerd's shims and libcni use whatever they are configured with; removed on
# node_down when node_up found them absent.
NODE_MACHINE_PATHS=(/run/containerd /var/lib/kubelet /var/lib/cni /var/log/containers /var/log/pods)
N="$D/node"

ctr() { "$CONTAINERD_BIN/ctr" --address "$N/run/containerd.sock" --namespace k8s.io "$@"; }

# --- can a real node run here? ------------------------------------------------------------------------------
# Prints nothing and succeeds when it can; otherwise prints the reason (one line) and fails.
node_preflight() {
  local b p
  case "${TRADINGBOT_REAL_NODE:-auto}" in
    0|no|false|off) echo "disabled by TRADINGBOT_REAL_NODE=${TRADINGBOT_REAL_NODE}"; return 1 ;;
  esac
  [ "$(uname -s)" = Linux ] || { echo "not Linux ($(uname -s)); the kubelet and containerd need Linux"; return 1; }
  [ "$(id -u)" -eq 0 ] || { echo "not root (uid $(id -u)); the kubelet, containerd and the pod network need root"; return 1; }
  for b in "$NODE_BIN/kubelet" "$NODE_BIN/kube-proxy" "$CONTAINERD_BIN/containerd" "$CONTAINERD_BIN/containerd-shim-runc-v2" \
           "$CNI_BIN/bridge" "$CNI_BIN/host-local" "$CNI_BIN/loopback" "$COREDNS_BIN/coredns" "$LOCAL_PATH_BIN/local-path-provisioner" \
           "$PAUSE_DIR/pause.oci.tar"; do
    [ -e "$b" ] || { echo "$b is not built; run 'make node'"; return 1; }
  done
  for p in runc iptables ip6tables socat; do
    command -v "$p" >/dev/null || { echo "$p is not installed; run 'make node' (hack/install-node-deps.sh)"; return 1; }
  done
  if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ]; then
    for p in cpu memory pids; do
      grep -qw "$p" /sys/fs/cgroup/cgroup.controllers || { echo "no cgroups: the cgroup v2 controller '$p' is not available"; return 1; }
    done
  else
    for p in cpu cpuacct cpuset memory pids; do
      [ -d "/sys/fs/cgroup/$p" ] || { echo "no cgroups: the cgroup v1 controller '$p' is not mounted at /sys/fs/cgroup/$p"; return 1; }
    done
  fi
  grep -qw overlay /proc/filesystems || { echo "missing kernel feature: overlayfs (containerd's snapshotter)"; return 1; }
  unshare --net true 2>/dev/null || { echo "missing kernel feature: network namespaces (unshare --net failed)"; return 1; }
  if ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    ip link add tb-probe0 type bridge 2>/dev/null || { echo "missing kernel feature: Linux bridges (ip link add type bridge failed)"; return 1; }
    ip link del tb-probe0
    ip link add tb-probe0 type veth peer name tb-probe1 2>/dev/null || { echo "missing kernel feature: veth pairs"; return 1; }
    ip link del tb-probe0
  fi
  iptables -t nat -S >/dev/null 2>&1 || { echo "missing kernel feature: iptables NAT (iptables -t nat -S failed)"; return 1; }
  local clash
  if clash="$(ip -4 route show | grep -v "dev $NODE_BRIDGE" | python3 -c '
import ipaddress, sys
ours = [ipaddress.ip_network(n) for n in sys.argv[1:]]
for line in sys.stdin:
    word = line.split()[0]
    if word != "default" and any(ipaddress.ip_network(word, strict=False).overlaps(o) for o in ours):
        print(line.strip())
        sys.exit(0)
sys.exit(1)' "$NODE_SUBNET" "$SERVICE_CIDR")"; then
    echo "the pod subnet $NODE_SUBNET or the Service range $SERVICE_CIDR overlaps a route on this machine ($clash); set TRADINGBOT_NODE_SUBNET"
    return 1
  fi
  return 0
}

# The state dir of the cluster holding this machine's real node, if that cluster's kubelet is still running.
node_claim_owner() {
  local owner pid
  [ -f "$NODE_CLAIM" ] || return 1
  owner="$(cat "$NODE_CLAIM")"
  [ -f "$owner/run/kubelet.pid" ] || return 1
  pid="$(cat "$owner/run/kubelet.pid")"
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$owner" || return 1
  echo "$owner"
}

# One node_up/node_down at a time on this machine. The lock file may be removed by the holder (node_down):
# whoever then wakes up on the removed file takes the lock again on the current one.
node_lock() {
  mkdir -p "$(dirname "$NODE_LOCK")"
  while :; do
    exec 8>"$NODE_LOCK"
    flock 8
    [ "$(stat -c %i "$NODE_LOCK" 2>/dev/null)" = "$(stat -L -c %i /proc/$$/fd/8)" ] && return 0
    exec 8>&-
  done
}

# shellcheck source=node/start.sh
source "$(dirname "${BASH_SOURCE[0]}")/node/start.sh"
# shellcheck source=node/cleanup.sh
source "$(dirname "${BASH_SOURCE[0]}")/node/cleanup.sh"

# --- up and down ---------------------------------------------------------------------------------------------
# node_up: start the real node, or say why not. Never fails the cluster: on any problem it undoes what it did.
node_up() {
  local reason
  rm -f "$D/node.skipped"
  if ! reason="$(node_preflight)"; then
    echo "$reason" >"$D/node.skipped"
    log "real node: not started: $reason; continuing with the kwok nodes only"
    return 0
  fi
  node_lock
  local owner
  if owner="$(node_claim_owner)"; then
    exec 8>&-
    [ "$owner" = "$D" ] && { log "real node: already up"; return 0; }
    reason="this machine's real node belongs to the cluster in $owner (one per machine)"
    echo "$reason" >"$D/node.skipped"
    log "real node: not started: $reason; continuing with the kwok nodes only"
    return 0
  fi
  if [ -f "$NODE_CLAIM" ]; then
    owner="$(cat "$NODE_CLAIM")"
    log "real node: cleaning up after the cluster in $owner, which held it and is gone"
    ( set +e; node_cleanup_machine "$owner" )
  fi
  echo "$D" >"$NODE_CLAIM"
  local begin=$SECONDS rc
  # errexit inside the subshell only: any failed step stops the start, and node_up cleans up (the caller
  # must not have an ERR trap set).
  set +e
  ( set -e; node_start_all )
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    exec 8>&-
    log "real node $NODE_NAME Ready in $((SECONDS - begin))s (pods on $NODE_SUBNET, bridge $NODE_BRIDGE)"
    return 0
  fi
  reason="the real node failed to start (logs: $D/logs/{containerd,kubelet,kube-proxy,coredns}.log)"
  log "real node: $reason; stopping it and continuing with the kwok nodes only"
  ( set +e; node_down_locked )
  exec 8>&-
  echo "$reason" >"$D/node.skipped"
  return 0
}

node_down() {
  [ -d "$N" ] || [ -f "$NODE_CLAIM" ] || return 0
  node_lock
  # Best effort to the end: one step failing must not leave the others undone.
  ( set +e; node_down_locked )
  # With the machine's real node gone, so is its lock (node_lock copes with a lock file removed under it).
  [ -f "$NODE_CLAIM" ] || rm -f "$NODE_LOCK"
  exec 8>&-
}

node_untaint_kwok() {
  kubectl taint nodes -l type=kwok "${KWOK_TAINT%%=*}:NoSchedule-" >/dev/null 2>&1 || true
}

node_status() {
  if [ -f "$D/node.skipped" ]; then echo "real node: none ($(cat "$D/node.skipped"))"; return 0; fi
  [ -d "$N" ] || { echo "real node: none"; return 0; }
  local p pid
  for p in "${NODE_PROCS[@]}"; do
    if pid="$(pid_of "$p")"; then echo "$p: running (pid $pid)"; else echo "$p: not running"; fi
  done
  echo "real node: $NODE_NAME at $NODE_IP, pods on $NODE_SUBNET (bridge $NODE_BRIDGE)"
}
