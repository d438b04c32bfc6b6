#!/usr/bin/env bash
# A real local Kubernetes control plane on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler and kwok (fake nodes/kubelet), plus, where the machine allows it (root, Linux), a real node
# that runs pods as containers (hack/node.sh). State, logs and kubeconfig live in .cluster/ of this checkout.
#
# usage: hack/cluster.sh up|down|status|logs|restart NAME [--kill] [--down SECONDS]|node-up|node-down
#   TRADINGBOT_REAL_NODE=0 keeps the cluster to kwok nodes only.
#   TRADINGBOT_APISERVER_ARGS adds kube-apiserver flags (a test runs one with --watch-cache=false).
set -Eeuo pipefail

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HACK/.." && pwd)"
# shellcheck source=versions.env
source "$HACK/versions.env"
CACHE="${TRADINGBOT_CACHE:-$HOME/.cache/tradingbot}"
D="${TRADINGBOT_CLUSTER_DIR:-$ROOT/.cluster}"
NODES="${TRADINGBOT_CLUSTER_NODES:-2}"
K8S_BIN="$CACHE/kubernetes-v$K8S_VERSION"
ETCD_BIN="$CACHE/etcd-v$ETCD_VERSION"
KWOK_BIN="$CACHE/kwok-v$KWOK_VERSION"
HELM_BIN="$CACHE/helm-v$HELM_VERSION"
# Start order; teardown walks it backwards.
PROCS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

kubectl() { "$K8S_BIN/kubectl" --kubeconfig "$D/kubeconfig" "$@"; }

# pid_of NAME: the recorded pid, if that process is still the one we started (guards against pid reuse).
pid_of() {
  local f="$D/run/$1.pid" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f")"
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$D" || return 1
  echo "$pid"
}

apiserver_ready() {
  [ -f "$D/ports.env" ] || return 1
  # shellcheck source=/dev/null
  source "$D/ports.env"
  curl -sf --max-time 2 --cacert "$D/pki/ca.crt" "https://127.0.0.1:$APISERVER_PORT/readyz" >/dev/null 2>&1
}

is_up() {
  local p
  for p in "${PROCS[@]}"; do pid_of "$p" >/dev/null || return 1; done
  apiserver_ready
}

# wait_for DESCRIPTION TIMEOUT_SECONDS COMMAND...: poll until the command succeeds or the deadline passes.
wait_for() {
  local what="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      log "timed out after ${timeout}s waiting for $what; last log lines:"
      tail -n 30 "$D"/logs/*.log >&2 || true
      return 1
    fi
    sleep 0.5
  done
}

# Free TCP ports on 127.0.0.1, drawn at random below the ephemeral range so two checkouts do not collide.
pick_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
ports, rng = [], random.SystemRandom()
while len(ports) < int(sys.argv[1]):
    port = rng.randrange(20000, 32000)
    if port in ports:
        continue
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
    ports.append(port)
print(*ports)
PY
}

make_pki() {
  local p="$D/pki"; mkdir -p "$p"
  (
    cd "$p"
    openssl genrsa -out ca.key 2048
    openssl req -x509 -new -nodes -key ca.key -subj "/CN=tradingbot-local-ca" -days 3650 -out ca.crt
    openssl req -new -newkey rsa:2048 -nodes -keyout apiserver.key -subj "/CN=kube-apiserver" -out apiserver.csr
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:10.96.0.1\nextendedKeyUsage=serverAuth\n' >apiserver.ext
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out apiserver.crt -extfile apiserver.ext
    # O=system:masters makes the admin cluster-admin under RBAC.
    openssl req -new -newkey rsa:2048 -nodes -keyout admin.key -subj "/O=system:masters/CN=tradingbot-admin" -out admin.csr
    printf 'extendedKeyUsage=clientAuth\n' >admin.ext
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out admin.crt -extfile admin.ext
    # The operator's own identity (also cluster-admin here), so its API requests can be told apart (audit log).
    openssl req -new -newkey rsa:2048 -nodes -keyout operator.key -subj "/O=system:masters/CN=tradingbot-operator" -out operator.csr
    openssl x509 -req -in operator.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out operator.crt -extfile admin.ext
    # The API server's identity towards kubelets (logs, exec, port-forward).
    openssl req -new -newkey rsa:2048 -nodes -keyout apiserver-kubelet-client.key -subj "/O=system:masters/CN=kube-apiserver-kubelet-client" -out apiserver-kubelet-client.csr
    openssl x509 -req -in apiserver-kubelet-client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -out apiserver-kubelet-client.crt -extfile admin.ext
    openssl genrsa -out sa.key 2048
    openssl rsa -in sa.key -pubout -out sa.pub
  ) >"$D/logs/pki.log" 2>&1 || { cat "$D/logs/pki.log" >&2; die "could not create the PKI with openssl"; }
}

write_kubeconfig() {
  local file="$1" user="$2" cert="$3"
  cat >"$file" <<KC
apiVersion: v1
kind: Config
clusters:
- name: tradingbot-local
  cluster: {server: "https://127.0.0.1:$APISERVER_PORT", certificate-authority: "$D/pki/ca.crt"}
users:
- name: $user
  user: {client-certificate: "$D/pki/$cert.crt", client-key: "$D/pki/$cert.key"}
contexts:
- name: tradingbot-local
  context: {cluster: tradingbot-local, user: $user}
current-context: tradingbot-local
KC
}

# Requests made as the operator are audited (metadata only), so benchmarks can count them.
write_audit_policy() {
  cat >"$D/audit-policy.yaml" <<POLICY
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  users: ["tradingbot-operator"]
- level: None
POLICY
}

# start NAME BINARY ARGS...: run detached in its own session, log to .cluster/logs/NAME.log, record the pid.
start() {
  local name="$1" bin="$2"; shift 2
  # 9>&- 8>&-: the daemons must not inherit the up/down locks, or they would stay held for the cluster's lifetime.
  setsid "$bin" "$@" >"$D/logs/$name.log" 2>&1 </dev/null 9>&- 8>&- &
  echo $! >"$D/run/$name.pid"
  log "started $name (pid $!)"
}

check_binaries() {
  local b
  for b in "$ETCD_BIN/etcd" "$K8S_BIN/kube-apiserver" "$K8S_BIN/kube-controller-manager" \
           "$K8S_BIN/kube-scheduler" "$K8S_BIN/kubectl" "$KWOK_BIN/kwok" "$KWOK_BIN/stages.yaml" "$HELM_BIN/helm"; do
    [ -e "$b" ] || die "missing $b; run 'make binaries' (hack/build-binaries.sh) first"
  done
}

cmd_up() {
  check_binaries
  if is_up; then
    log "already up: reusing the cluster in $D"
    usage_hint; return 0
  fi
  [ -d "$D" ] && { log "found stale state in $D; cleaning it up"; cmd_down; }
  local begin=$SECONDS
  mkdir -p "$D"/{etcd,logs,run,bin}
  # A failed start stops what it started and keeps the logs for diagnosis.
  trap 'log "start failed; stopping what was started (logs kept in $D/logs)"; stop_processes' ERR
  ln -sf "$K8S_BIN/kubectl" "$D/bin/kubectl"
  ln -sf "$HELM_BIN/helm" "$D/bin/helm"
  make_pki
  read -r ETCD_PORT ETCD_PEER_PORT APISERVER_PORT KCM_PORT SCHED_PORT KWOK_PORT <<<"$(pick_ports 6)"
  cat >"$D/ports.env" <<PORTS
ETCD_PORT=$ETCD_PORT
ETCD_PEER_PORT=$ETCD_PEER_PORT
APISERVER_PORT=$APISERVER_PORT
KCM_PORT=$KCM_PORT
SCHED_PORT=$SCHED_PORT
KWOK_PORT=$KWOK_PORT
PORTS
  write_kubeconfig "$D/kubeconfig" tradingbot-admin admin
  write_kubeconfig "$D/operator.kubeconfig" tradingbot-operator operator
  write_audit_policy

  start etcd "$ETCD_BIN/etcd" --name=local --data-dir="$D/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster="local=http://127.0.0.1:$ETCD_PEER_PORT" --listen-metrics-urls="" \
    --unsafe-no-fsync=true --quota-backend-bytes=2147483648
  wait_for "etcd /health" 30 curl -sf "http://127.0.0.1:$ETCD_PORT/health"

  start kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
    --advertise-address=127.0.0.1 --endpoint-reconciler-type=none \
    --cert-dir="$D/pki" \
    --tls-cert-file="$D/pki/apiserver.crt" --tls-private-key-file="$D/pki/apiserver.key" \
    --client-ca-file="$D/pki/ca.crt" \
    --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NamespaceLifecycle,ServiceAccount,LimitRanger,ResourceQuota,DefaultStorageClass,PodSecurity,PodNodeSelector,PodTolerationRestriction \
    --kubelet-client-certificate="$D/pki/apiserver-kubelet-client.crt" --kubelet-client-key="$D/pki/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$D/pki/sa.pub" --service-account-signing-key-file="$D/pki/sa.key" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --allow-privileged=true --profiling=false \
    --audit-policy-file="$D/audit-policy.yaml" --audit-log-path="$D/logs/audit.log" --audit-log-maxsize=200 \
    ${TRADINGBOT_APISERVER_ARGS:-}
  wait_for "kube-apiserver /readyz" 90 curl -sf --cacert "$D/pki/ca.crt" "https://127.0.0.1:$APISERVER_PORT/readyz"

  start kube-controller-manager "$K8S_BIN/kube-controller-manager" --kubeconfig="$D/kubeconfig" \
    --leader-elect=false --bind-address=127.0.0.1 --secure-port="$KCM_PORT" \
    --root-ca-file="$D/pki/ca.crt" --service-account-private-key-file="$D/pki/sa.key" \
    --use-service-account-credentials=false --controllers='*' \
    --node-monitor-grace-period=40s --profiling=false --kube-api-qps=100 --kube-api-burst=200
  start kube-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig="$D/kubeconfig" \
    --leader-elect=false --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" --profiling=false \
    --kube-api-qps=100 --kube-api-burst=200
  # kwok manages only its own nodes (annotated below), never the real one.
  start kwok "$KWOK_BIN/kwok" --kubeconfig="$D/kubeconfig" --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --cidr=10.244.0.1/16 --node-lease-duration-seconds=40 --node-ip=10.240.0.1 \
    --server-address="127.0.0.1:$KWOK_PORT" --config="$KWOK_BIN/stages.yaml"
  wait_for "kube-controller-manager /healthz" 60 curl -skf "https://127.0.0.1:$KCM_PORT/healthz"
  wait_for "kube-scheduler /healthz" 60 curl -skf "https://127.0.0.1:$SCHED_PORT/healthz"

  local i
  for ((i = 0; i < NODES; i++)); do
    kubectl apply -f - >/dev/null <<NODE
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}
  labels: {type: kwok, kubernetes.io/hostname: kwok-node-$i, kubernetes.io/os: linux, kubernetes.io/arch: amd64}
NODE
  done
  wait_for "$NODES Ready nodes" 60 kubectl wait --for=condition=Ready node --all --timeout=5s
  # The default ServiceAccount must exist before pods can be admitted in "default".
  wait_for "the default ServiceAccount" 60 kubectl get serviceaccount default -n default
  trap - ERR
  log "control plane up in $((SECONDS - begin))s"
  node_up
  usage_hint
}

usage_hint() {
  cat <<HINT

Local Kubernetes $("$K8S_BIN/kubectl" version --client -o json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])' 2>/dev/null) is up (state in $D).
  export KUBECONFIG=$D/kubeconfig
  export PATH=$D/bin:\$PATH          # kubectl and helm at the cluster's version
  kubectl get nodes
$(node_status | tail -n 1)
Logs: $D/logs/   Stop: make cluster-down
HINT
}

stop_processes() {
  local i name pid
  for ((i = ${#PROCS[@]} - 1; i >= 0; i--)); do
    name="${PROCS[$i]}"
    pid="$(pid_of "$name")" || continue
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { log "$name did not stop on SIGTERM; killing it"; kill -KILL "$pid" 2>/dev/null || true; }
    log "stopped $name (pid $pid)"
  done
}

cmd_down() {
  [ -d "$D" ] || { log "nothing to stop ($D does not exist)"; return 0; }
  node_down
  stop_processes
  node_unmount
  rm -rf --one-file-system "$D"
  log "removed $D"
}

cmd_status() {
  local p pid
  for p in "${PROCS[@]}"; do
    if pid="$(pid_of "$p")"; then echo "$p: running (pid $pid)"; else echo "$p: not running"; fi
  done
  node_status
  if apiserver_ready; then echo "kube-apiserver: ready at https://127.0.0.1:$APISERVER_PORT"; return 0; fi
  echo "kube-apiserver: not ready"; return 1
}

# restart NAME [--kill] [--down SECONDS]: stop one control-plane process (SIGTERM, or SIGKILL with --kill), keep it
# down for SECONDS (default 0), start it again with the same command line and wait until it serves again. For tests
# of reconnection (tests/e2e/reliability). The process's log is appended to, not replaced.
cmd_restart() {
  local name="${1:-}" signal=TERM down=0 pid
  shift || true
  while [ $# -gt 0 ]; do
    case "$1" in
      --kill) signal=KILL ;;
      --down) down="${2:?--down needs SECONDS}"; shift ;;
      *) die "restart: unknown option '$1'" ;;
    esac
    shift
  done
  [[ " ${PROCS[*]} " == *" $name "* ]] || die "restart: unknown process '$name' (one of: ${PROCS[*]})"
  pid="$(pid_of "$name")" || die "restart: $name is not running in $D"
  local -a argv
  mapfile -d '' -t argv <"/proc/$pid/cmdline"
  # shellcheck source=/dev/null
  source "$D/ports.env"
  local port
  case "$name" in etcd) port=$ETCD_PORT ;; kube-apiserver) port=$APISERVER_PORT ;; *) port= ;; esac
  kill -"$signal" "$pid" 2>/dev/null || true
  # Gone means every thread has exited (a Go process's main thread turns zombie before the others have
  # closed its sockets) and nothing listens on its port any more.
  local deadline=$((SECONDS + 30))
  while { [ -d "/proc/$pid" ] && { [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] ||
            [ "$(ls "/proc/$pid/task" 2>/dev/null | wc -l)" -gt 1 ]; }; } ||
        { [ -n "$port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }; do
    [ $SECONDS -lt $deadline ] || { kill -KILL "$pid" 2>/dev/null || true; }
    [ $SECONDS -lt $((deadline + 30)) ] || die "restart: $name (pid $pid) or its port ${port:-?} is still busy"
    sleep 0.1
  done
  sleep "$down"
  setsid "${argv[@]}" >>"$D/logs/$name.log" 2>&1 </dev/null 9>&- 8>&- &
  echo $! >"$D/run/$name.pid"
  log "restarted $name (SIG$signal, down ${down}s; pid $pid -> $!)"
  case "$name" in
    etcd) wait_for "etcd /health" 60 curl -sf "http://127.0.0.1:$ETCD_PORT/health" ;;
    kube-apiserver) wait_for "kube-apiserver /readyz" 120 apiserver_ready ;;
  esac
}

# One up or down at a time per state dir: concurrent callers (two terminals, a test fixture) wait their turn.
serialize() {
  exec 9>"$D.lock"
  flock 9
}

# shellcheck source=node.sh
source "$HACK/node.sh"

case "${1:-}" in
  up) serialize; cmd_up ;;
  down) serialize; cmd_down ;;
  status) cmd_status ;;
  logs) tail -n "${2:-50}" "$D"/logs/*.log ;;
  restart) shift; cmd_restart "$@" ;;
  # Stop or start only the real node; the control plane and the kwok nodes stay.
  node-up) serialize; is_up || die "the control plane in $D is not up"; node_up ;;
  node-down) serialize; node_down; node_untaint_kwok ;;
  *) die "usage: $0 up|down|status|logs [LINES]|restart NAME [--kill] [--down SECONDS]|node-up|node-down" ;;
esac
