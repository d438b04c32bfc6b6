# shellcheck shell=bash
# Taking the real node down and undoing what it changed on the machine. Sourced by hack/node.sh.

node_stop() {  # node_stop NAME: SIGTERM, then SIGKILL after 15 s
  local pid
  pid="$(pid_of "$1")" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 15))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  log "stopped $1 (pid $pid)"
}

# Every process in the node's cgroup tree (containers, pause processes), then the tree itself.
node_kill_pods() {
  local dirs procs pid
  dirs="$(find /sys/fs/cgroup -maxdepth 2 -type d -name "$NODE_CGROUP" 2>/dev/null)"
  [ -n "$dirs" ] || return 0
  for _ in 1 2 3 4 5; do
    procs="$(find $dirs -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)"
    [ -n "$procs" ] || break
    for pid in $procs; do kill -KILL "$pid" 2>/dev/null || true; done
    sleep 0.3
  done
  # Leaves first.
  find $dirs -depth -type d -exec rmdir {} + 2>/dev/null || true
}

# containerd's shims outlive it by design; a cluster's are the ones talking to its containerd socket.
node_kill_shims() {  # node_kill_shims STATE_DIR
  local pid
  for pid in $(pgrep -f containerd-shim-runc-v2 || true); do
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$1/node/run/containerd.sock" && kill -KILL "$pid" 2>/dev/null || true
  done
}

node_unmount() {
  local point
  # Deepest first; field 5 of mountinfo is the mount point.
  awk -v d="$D/" 'index($5, d) == 1 { print length($5), $5 }' /proc/self/mountinfo | sort -rn | cut -d' ' -f2- |
    while read -r point; do
      umount "$point" 2>/dev/null || umount -l "$point" 2>/dev/null || true
    done
}

# Chains kube-proxy (and anything else of ours) made: the KUBE-/CNI- chains that did not exist before node_up.
node_cleanup_iptables() {
  local saved="$1" cmd table chain rule
  [ -x "$NODE_BIN/kube-proxy" ] && "$NODE_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  for cmd in iptables ip6tables; do
    for table in filter nat mangle raw; do
      for chain in $("$cmd" -t "$table" -S 2>/dev/null | sed -n 's/^-N \(\(KUBE\|CNI\)-[^ ]*\)$/\1/p'); do
        [ -f "$saved" ] && grep -qx -- "$chain" "$saved" && continue
        "$cmd" -t "$table" -S 2>/dev/null | grep -- "-j $chain\( \|$\)" | sed 's/^-A //' | while read -r rule; do
          eval "$cmd -t $table -D $rule" 2>/dev/null || true
        done
        "$cmd" -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $("$cmd" -t "$table" -S 2>/dev/null | sed -n 's/^-N \(\(KUBE\|CNI\)-[^ ]*\)$/\1/p'); do
        [ -f "$saved" ] && grep -qx -- "$chain" "$saved" && continue
        "$cmd" -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
}

# The nftables tables iptables-nft made for kube-proxy's chains (filter, nat, mangle in ip and ip6), once empty.
node_cleanup_nft_tables() {
  local saved="$1" family table cmd
  command -v nft >/dev/null && [ -f "$saved" ] || return 0
  nft list tables 2>/dev/null | while read -r _ family table; do
    grep -qx "table $family $table" "$saved" && continue
    cmd=iptables; [ "$family" = ip6 ] && cmd=ip6tables
    [ "$family" = ip ] || [ "$family" = ip6 ] || continue
    "$cmd" -t "$table" -S 2>/dev/null | grep -q '^-A' && continue
    nft delete table "$family" "$table" 2>/dev/null || true
  done
}

node_restore_sysctls() {
  local line
  [ -f "$1" ] || return 0
  while read -r line; do sysctl -qw "$line" 2>/dev/null || true; done <"$1"
}

# Undo a real node's machine-wide traces (bridge, chains, cgroups, sysctls), also for a cluster that died
# without a clean down. $1 is the state dir that held it.
node_cleanup_machine() {
  local owner="$1" on="$1/node" name pid
  # A dead cluster's node processes may have outlived its kubelet.
  for name in "${NODE_PROCS[@]}"; do
    pid="$(D="$owner" pid_of "$name")" && kill -KILL "$pid" 2>/dev/null
  done
  node_kill_pods
  node_kill_shims "$owner"
  D="$owner" node_unmount
  ip link del "$NODE_BRIDGE" 2>/dev/null || true
  node_cleanup_iptables "$on/iptables-chains.before"
  node_cleanup_nft_tables "$on/nft-tables.before"
  node_restore_sysctls "$on/sysctls.saved"
  local path
  if [ -f "$on/made-paths" ]; then
    while read -r path; do
      case "$path" in /run/containerd|/var/lib/kubelet|/var/lib/cni|/var/log/containers|/var/log/pods) ;; *) continue ;; esac
      umount -R "$path" 2>/dev/null || true
      rm -rf --one-file-system "$path"
    done <"$on/made-paths"
  fi
  # Where they were there before, ours are the links into our state dir.
  find /var/log/containers -maxdepth 1 -lname "$owner/*" -delete 2>/dev/null || true
  rm -f "$NODE_CLAIM"
}

node_down_locked() {
  [ -d "$N" ] || { [ -f "$NODE_CLAIM" ] && [ "$(cat "$NODE_CLAIM")" = "$D" ] && rm -f "$NODE_CLAIM"; return 0; }
  local name
  for name in local-path coredns apiserver-proxy kube-proxy kubelet; do node_stop "$name"; done
  # Without the node no claim can be provisioned: its StorageClass goes too (when the API server still answers).
  kubectl delete storageclass local-path --ignore-not-found --request-timeout=5s >/dev/null 2>&1 || true
  if [ -f "$NODE_CLAIM" ] && [ "$(cat "$NODE_CLAIM")" != "$D" ]; then
    # Another cluster took the machine's node after ours died (and cleaned up after it): the bridge, chains
    # and cgroups are its own now. Only what is left of ours goes.
    node_stop containerd
    node_kill_shims "$D"
    node_unmount
    rm -rf --one-file-system "$N"
    log "real node: removed this cluster's leftovers (the machine's node belongs to $(cat "$NODE_CLAIM"))"
    return 0
  fi
  # Containers first, through containerd, so the shims exit and clean up after themselves.
  if pid_of containerd >/dev/null; then
    local task
    for task in $(ctr tasks ls -q 2>/dev/null); do ctr tasks kill -s SIGKILL "$task" >/dev/null 2>&1 || true; done
    node_kill_pods
    for task in $(ctr tasks ls -q 2>/dev/null); do ctr tasks delete -f "$task" >/dev/null 2>&1 || true; done
  fi
  node_stop containerd
  node_kill_pods
  node_kill_shims "$D"
  node_cleanup_machine "$D"
  rm -rf --one-file-system "$N"
  log "real node removed (processes, mounts, bridge $NODE_BRIDGE, iptables chains, cgroups, sysctls)"
}

