# shellcheck shell=bash
# The real node beside the kwok nodes: containerd (+ runc), a kubelet, kube-proxy, CoreDNS and a bridge network,
# so pods run as real containers. Sourced by hack/cluster.sh, whose helpers (log, start, pid_of, wait_for,
# kubectl, pick_ports, write_kubeconfig) and variables ($D, $CACHE, versions) it uses.
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
NODE_PROCS=(containerd kubelet kube-proxy apiserver-proxy coredns)
NODE_BIN="$CACHE/kubernetes-node-v$K8S_VERSION"
CONTAINERD_BIN="$CACHE/containerd-v$CONTAINERD_VERSION"
CNI_BIN="$CACHE/cni-plugins-v$CNI_PLUGINS_VERSION"
COREDNS_BIN="$CACHE/coredns-v$COREDNS_VERSION"
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
           "$CNI_BIN/bridge" "$CNI_BIN/host-local" "$CNI_BIN/loopback" "$COREDNS_BIN/coredns" "$PAUSE_DIR/pause.oci.tar"; do
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

# --- up -----------------------------------------------------------------------------------------------------
node_pki() {
  local p="$D/pki"
  (
    cd "$p"
    sign() {  # sign NAME SUBJECT EXTENSIONS
      openssl req -new -newkey rsa:2048 -nodes -keyout "$1.key" -subj "$2" -out "$1.csr"
      printf '%b' "$3" >"$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out "$1.crt" -extfile "$1.ext"
    }
    # Node authorization knows a kubelet by this name and group.
    sign kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" 'extendedKeyUsage=clientAuth\n'
    sign kubelet-serving "/CN=$NODE_NAME" "subjectAltName=IP:$NODE_IP,DNS:$NODE_NAME\nextendedKeyUsage=serverAuth\n"
    sign kube-proxy "/CN=system:kube-proxy" 'extendedKeyUsage=clientAuth\n'
    sign coredns "/CN=system:coredns" 'extendedKeyUsage=clientAuth\n'
  ) >>"$D/logs/pki.log" 2>&1 || { tail -20 "$D/logs/pki.log" >&2; return 1; }
  write_kubeconfig "$N/kubelet.kubeconfig" "system:node:$NODE_NAME" kubelet
  write_kubeconfig "$N/kube-proxy.kubeconfig" system:kube-proxy kube-proxy
  write_kubeconfig "$N/coredns.kubeconfig" system:coredns coredns
}

node_save_sysctls() {
  local s
  : >"$N/sysctls.saved"
  for s in "${NODE_SYSCTLS[@]}"; do
    [ -e "/proc/sys/${s//.//}" ] && echo "$s=$(cat "/proc/sys/${s//.//}")" >>"$N/sysctls.saved"
  done
  # Chains and nftables tables that exist now are not ours to remove later.
  { iptables-save; ip6tables-save; } 2>/dev/null | sed -n 's/^:\([^ ]*\) .*/\1/p' | sort -u >"$N/iptables-chains.before"
  if command -v nft >/dev/null; then nft list tables >"$N/nft-tables.before" 2>/dev/null || true; fi
  local path
  : >"$N/made-paths"
  for path in "${NODE_MACHINE_PATHS[@]}"; do [ -e "$path" ] || echo "$path" >>"$N/made-paths"; done
}

node_cgroups() {
  local h
  if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
    mkdir -p "/sys/fs/cgroup/$NODE_CGROUP"
    for h in cpuset cpu io memory pids hugetlb; do
      grep -qw "$h" /sys/fs/cgroup/cgroup.controllers && echo "+$h" >"/sys/fs/cgroup/$NODE_CGROUP/cgroup.subtree_control" 2>/dev/null || true
    done
    return
  fi
  for h in /sys/fs/cgroup/*/; do
    h="${h%/}"
    [ -d "$h" ] && [ "$(basename "$h")" != unified ] || continue
    mkdir -p "$h/$NODE_CGROUP"
  done
  # A new cpuset cgroup starts with no CPUs and no memory nodes; give it its parent's.
  cat /sys/fs/cgroup/cpuset/cpuset.cpus >"/sys/fs/cgroup/cpuset/$NODE_CGROUP/cpuset.cpus"
  cat /sys/fs/cgroup/cpuset/cpuset.mems >"/sys/fs/cgroup/cpuset/$NODE_CGROUP/cpuset.mems"
}

node_network() {
  sysctl -qw net.ipv4.ip_forward=1
  ip link add "$NODE_BRIDGE" type bridge
  ip addr add "$NODE_IP/$NODE_PREFIX" dev "$NODE_BRIDGE"
  ip link set "$NODE_BRIDGE" up
  mkdir -p "$N/cni/conf" "$N/cni/ipam"
  # No ipMasq and no portmap: pods reach only the bridge, each other and Services, so the CNI plugins add no
  # iptables rules of their own; kube-proxy masquerades Service traffic (masqueradeAll) instead of br_netfilter.
  cat >"$N/cni/conf/10-tradingbot.conflist" <<CNI
{
  "cniVersion": "1.0.0",
  "name": "tradingbot",
  "plugins": [
    {"type": "bridge", "bridge": "$NODE_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$N/cni/ipam", "ranges": [[{"subnet": "$NODE_SUBNET", "gateway": "$NODE_IP"}]],
              "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "loopback"}
  ]
}
CNI
}

node_containerd() {
  mkdir -p "$N/run" "$N/containerd"
  cat >"$N/containerd.toml" <<TOML
version = 3
root = "$N/containerd/root"
state = "$N/containerd/state"
[grpc]
  address = "$N/run/containerd.sock"
[ttrpc]
  address = "$N/run/containerd.sock.ttrpc"
[plugins.'io.containerd.internal.v1.opt']
  path = "$N/containerd/opt"
[plugins.'io.containerd.nri.v1.nri']
  disable = true
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "$PAUSE_IMAGE"
[plugins.'io.containerd.cri.v1.runtime']
  enable_unprivileged_ports = false
  enable_unprivileged_icmp = false
  # The VM may not lower OOM scores; the kubelet asks -998 for sandboxes.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["$CNI_BIN"]
    conf_dir = "$N/cni/conf"
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
TOML
  PATH="$CONTAINERD_BIN:$PATH" start containerd "$CONTAINERD_BIN/containerd" --config "$N/containerd.toml"
  wait_for "containerd" 60 ctr version
  ctr images import --index-name "$PAUSE_IMAGE" "$PAUSE_DIR/pause.oci.tar" >/dev/null 2>>"$D/logs/containerd.log"
}

node_kubelet() {
  mkdir -p "$N/kubelet" "$N/logs/pods"
  cat >"$N/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$D/pki/ca.crt"}
authorization: {mode: Webhook}
tlsCertFile: "$D/pki/kubelet-serving.crt"
tlsPrivateKeyFile: "$D/pki/kubelet-serving.key"
containerRuntimeEndpoint: "unix://$N/run/containerd.sock"
cgroupDriver: cgroupfs
cgroupRoot: /$NODE_CGROUP
failCgroupV1: false
failSwapOn: false
clusterDNS: [$DNS_SERVICE_IP]
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
podLogsDir: "$N/logs/pods"
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "50Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
serializeImagePulls: false
registerNode: true
YAML
  start kubelet "$NODE_BIN/kubelet" --config="$N/kubelet.yaml" --kubeconfig="$N/kubelet.kubeconfig" \
    --root-dir="$N/kubelet" --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" \
    --node-labels="tradingbot.dev/node=real" --v=1
  wait_for "the kubelet's /healthz" 60 curl -sf "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz"
  wait_for "node $NODE_NAME Ready" 90 kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout=5s
}

node_proxy() {
  cat >"$N/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$N/kube-proxy.kubeconfig"}
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $NODE_SUBNET
healthzBindAddress: 127.0.0.1:$PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$PROXY_METRICS_PORT
nodePortAddresses: ["$NODE_IP/32"]
oomScoreAdj: 0
iptables: {masqueradeAll: true, localhostNodePorts: false, minSyncPeriod: 0s}
# Leave the machine's conntrack settings alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
  start kube-proxy "$NODE_BIN/kube-proxy" --config="$N/kube-proxy.yaml"
  wait_for "kube-proxy /healthz" 60 curl -sf "http://127.0.0.1:$PROXY_HEALTHZ_PORT/healthz"
}

# Pods reach the API server through the "kubernetes" Service: kube-proxy sends it to the bridge address, where
# socat hands it to the API server on 127.0.0.1 (which stays bound to loopback only).
node_apiserver_route() {
  start apiserver-proxy "$(command -v socat)" -L "$N/run/apiserver-proxy.lock" \
    "TCP-LISTEN:$APISERVER_PORT,bind=$NODE_IP,reuseaddr,fork" "TCP:127.0.0.1:$APISERVER_PORT"
  kubectl apply -f - >/dev/null <<YAML
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kubernetes-tradingbot
  namespace: default
  labels: {kubernetes.io/service-name: kubernetes, endpointslice.kubernetes.io/managed-by: tradingbot.dev-cluster}
addressType: IPv4
endpoints: [{addresses: ["$NODE_IP"], conditions: {ready: true}}]
ports: [{name: https, port: $APISERVER_PORT, protocol: TCP}]
YAML
}

# CoreDNS runs on the host (no image to build for it) and serves the kube-dns Service through kube-proxy.
node_dns() {
  cat >"$N/Corefile" <<COREFILE
.:$DNS_PORT {
    bind $NODE_IP
    errors
    health 127.0.0.1:$DNS_HEALTH_PORT
    ready 127.0.0.1:$DNS_READY_PORT
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $N/coredns.kubeconfig tradingbot-local
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
    loadbalance
}
COREFILE
  kubectl apply -f - >/dev/null <<YAML
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- {apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:coredns"}]
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: $DNS_SERVICE_IP
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-host
  namespace: kube-system
  labels: {kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: tradingbot.dev-cluster}
addressType: IPv4
endpoints: [{addresses: ["$NODE_IP"], conditions: {ready: true}}]
ports:
- {name: dns, port: $DNS_PORT, protocol: UDP}
- {name: dns-tcp, port: $DNS_PORT, protocol: TCP}
YAML
  start coredns "$COREDNS_BIN/coredns" -conf "$N/Corefile"
  wait_for "CoreDNS /ready" 60 curl -sf "http://127.0.0.1:$DNS_READY_PORT/ready"
}

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
  [ -f "$NODE_CLAIM" ] && node_cleanup_machine "$(cat "$NODE_CLAIM")"
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

node_start_all() {
  mkdir -p "$N"
  read -r KUBELET_PORT KUBELET_HEALTHZ_PORT PROXY_HEALTHZ_PORT PROXY_METRICS_PORT DNS_PORT DNS_HEALTH_PORT DNS_READY_PORT <<<"$(pick_ports 7)"
  cat >"$N/ports.env" <<PORTS
KUBELET_PORT=$KUBELET_PORT
KUBELET_HEALTHZ_PORT=$KUBELET_HEALTHZ_PORT
PROXY_HEALTHZ_PORT=$PROXY_HEALTHZ_PORT
PROXY_METRICS_PORT=$PROXY_METRICS_PORT
DNS_PORT=$DNS_PORT
DNS_HEALTH_PORT=$DNS_HEALTH_PORT
DNS_READY_PORT=$DNS_READY_PORT
PORTS
  node_save_sysctls
  node_pki
  node_cgroups
  node_network
  node_containerd
  node_kubelet
  node_proxy
  node_apiserver_route
  node_dns
  kubectl taint nodes -l type=kwok "$KWOK_TAINT" --overwrite >/dev/null
}

# --- down ---------------------------------------------------------------------------------------------------
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

# containerd's shims outlive it by design; ours are the ones talking to our containerd socket.
node_kill_shims() {
  local pid
  for pid in $(pgrep -f containerd-shim-runc-v2 || true); do
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$N/run/containerd.sock" && kill -KILL "$pid" 2>/dev/null || true
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
  local owner="$1" on="$1/node"
  node_kill_pods
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
  for name in coredns apiserver-proxy kube-proxy kubelet; do node_stop "$name"; done
  # Containers first, through containerd, so the shims exit and clean up after themselves.
  if pid_of containerd >/dev/null; then
    local task
    for task in $(ctr tasks ls -q 2>/dev/null); do ctr tasks kill -s SIGKILL "$task" >/dev/null 2>&1 || true; done
    node_kill_pods
    for task in $(ctr tasks ls -q 2>/dev/null); do ctr tasks delete -f "$task" >/dev/null 2>&1 || true; done
  fi
  node_stop containerd
  node_kill_pods
  node_kill_shims
  node_cleanup_machine "$D"
  rm -rf --one-file-system "$N"
  log "real node removed (processes, mounts, bridge $NODE_BRIDGE, iptables chains, cgroups, sysctls)"
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
