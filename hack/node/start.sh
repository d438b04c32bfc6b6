# shellcheck shell=bash
# The real node's parts, each started and configured by one function: PKI, cgroups, bridge and CNI,
# containerd, kubelet, kube-proxy, the route from pods to the API server, CoreDNS. Sourced by hack/node.sh.

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
    sign local-path "/CN=system:local-path-provisioner" 'extendedKeyUsage=clientAuth\n'
  ) >>"$D/logs/pki.log" 2>&1 || { tail -20 "$D/logs/pki.log" >&2; return 1; }
  write_kubeconfig "$N/kubelet.kubeconfig" "system:node:$NODE_NAME" kubelet
  write_kubeconfig "$N/kube-proxy.kubeconfig" system:kube-proxy kube-proxy
  write_kubeconfig "$N/coredns.kubeconfig" system:coredns coredns
  write_kubeconfig "$N/local-path.kubeconfig" system:local-path-provisioner local-path
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

# Dynamic PersistentVolumes: Rancher's local-path provisioner runs on the host (like CoreDNS) and serves the
# default StorageClass "local-path". Claims wait for their pod's node (WaitForFirstConsumer); the provisioner
# then runs a helper pod there (the project image, as root, in local-path-storage) that makes the volume's
# directory under $N/volumes, and removes it when a claim with reclaim policy Delete is released. Only the real
# node is mapped: a claim whose pod was scheduled to a kwok node fails with the provisioner's reason (an Event).
node_storage() {
  local image; image="$(sed -n 's/^DEFAULT_IMAGE = "\(.*\)"$/\1/p' "$ROOT/operator/tradingbot_operator/api/constants.py")"
  mkdir -p "$N/volumes" "$N/local-path"
  cat >"$N/local-path/config.json" <<JSON
{"nodePathMap": [{"node": "$NODE_NAME", "paths": ["$N/volumes"]}]}
JSON
  cat >"$N/local-path/helperPod.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: helper-pod}
spec:
  securityContext: {runAsUser: 0, runAsGroup: 0}
  containers:
  - {name: helper-pod, image: "$image", imagePullPolicy: Never}
YAML
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Namespace
metadata:
  name: local-path-storage
  labels: {pod-security.kubernetes.io/enforce: privileged}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: local-path-helper, namespace: local-path-storage}
automountServiceAccountToken: false
---
apiVersion: v1
kind: ConfigMap
metadata: {name: local-path-config, namespace: local-path-storage}
data:
  setup: |-
    set -eu
    mkdir -m 0777 -p "\$VOL_DIR"
  teardown: |-
    set -eu
    rm -rf "\$VOL_DIR"
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:local-path-provisioner"}
rules:
- {apiGroups: [""], resources: [nodes, persistentvolumeclaims, configmaps, pods, pods/log], verbs: [get, list, watch]}
- {apiGroups: [""], resources: [persistentvolumes], verbs: [get, list, watch, create, patch, update, delete]}
- {apiGroups: [""], resources: [events], verbs: [create, patch]}
- {apiGroups: [storage.k8s.io], resources: [storageclasses], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:local-path-provisioner"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:local-path-provisioner"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:local-path-provisioner"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: local-path-helpers, namespace: local-path-storage}
rules:
- {apiGroups: [""], resources: [pods], verbs: [get, list, watch, create, patch, update, delete]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: local-path-helpers, namespace: local-path-storage}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: local-path-helpers}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:local-path-provisioner"}]
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
YAML
  start local-path "$LOCAL_PATH_BIN/local-path-provisioner" start --kubeconfig "$N/local-path.kubeconfig" \
    --namespace local-path-storage --config "$N/local-path/config.json" --helper-pod-file "$N/local-path/helperPod.yaml" \
    --configmap-name local-path-config --service-account-name local-path-helper --helper-image "$image"
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
  node_storage
  kubectl taint nodes -l type=kwok "$KWOK_TAINT" --overwrite >/dev/null
}

