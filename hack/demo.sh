#!/usr/bin/env bash
# The paper-trading demo on the local control plane: CRD, operator in the background, the example bot.
#
# usage: hack/demo.sh up|down
set -Eeuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
D="${TRADINGBOT_CLUSTER_DIR:-$ROOT/.cluster}"
NAMESPACE="${DEMO_NAMESPACE:-tradingbot-demo}"
BOT=kraken-main
export KUBECONFIG="$D/kubeconfig"
kubectl() { "$D/bin/kubectl" "$@"; }
log() { printf '[demo %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

operator_pid() {
  local f="$D/run/operator.pid" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f")"
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q tradingbot-operator || return 1
  echo "$pid"
}

up() {
  [ -f "$KUBECONFIG" ] || { echo "error: no local cluster; run 'make cluster-up' first" >&2; exit 1; }
  log "installing the TradingBot CRD"
  kubectl apply --server-side --force-conflicts -f "$ROOT/crds/tradingbot.dev_tradingbots.yaml" >/dev/null
  kubectl wait --for=condition=Established crd/tradingbots.tradingbot.dev --timeout=60s >/dev/null
  if pid="$(operator_pid)"; then
    log "operator already running (pid $pid)"
  else
    # Scoped to the demo namespace, so it never competes with test operators in other namespaces.
    KUBECONFIG="$D/operator.kubeconfig" setsid "$ROOT/.venv/bin/tradingbot-operator" --namespace "$NAMESPACE" \
      --liveness "http://127.0.0.1:$(free_port)/healthz" --metrics-address "127.0.0.1:$(free_port)" \
      >"$D/logs/operator.log" 2>&1 </dev/null &
    echo $! >"$D/run/operator.pid"
    log "operator started (pid $!, log $D/logs/operator.log)"
  fi
  # On a real node the pods run the project image: make sure the node has the one built last (make image).
  "$ROOT/hack/image.sh" import --if-possible >/dev/null
  kubectl create namespace "$NAMESPACE" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  if [ -d "$D/node" ]; then
    kubectl apply -n "$NAMESPACE" -f "$ROOT/examples/tradingbot.yaml"
  else
    # kwok nodes provision no volumes: storage on an emptyDir instead of its default claim.
    log "no real node: the bot's storage uses an emptyDir (spec.storage.volume: EmptyDir)"
    sed 's/^spec:$/spec:\n  storage: {volume: EmptyDir}/' "$ROOT/examples/tradingbot.yaml" | kubectl apply -n "$NAMESPACE" -f -
  fi
  log "waiting for $BOT to become Ready (components start phase by phase)"
  local deadline=$((SECONDS + 180)) last=""
  until kubectl wait -n "$NAMESPACE" --for=condition=Ready "tradingbot/$BOT" --timeout=2s >/dev/null 2>&1; do
    now="$(kubectl get -n "$NAMESPACE" tradingbot "$BOT" -o jsonpath='{.status.startupPhase} {.status.ready}' 2>/dev/null || true)"
    [ "$now" != "$last" ] && [ -n "$now" ] && log "startup phase / ready: $now"
    last="$now"
    if [ $SECONDS -ge $deadline ]; then
      log "not Ready after 180s; operator log tail:"; tail -n 40 "$D/logs/operator.log" >&2; exit 1
    fi
  done
  echo
  kubectl get tradingbots -n "$NAMESPACE"
  echo
  kubectl get tradingbot "$BOT" -n "$NAMESPACE" -o jsonpath='{"COMPONENT\tPHASE\tSTATE\tREADY\tHEALTH\n"}{range .status.components[*]}{.name}{"\t"}{.phase}{"\t"}{.state}{"\t"}{.ready}{"\t"}{.health}{"\n"}{end}' | column -t -s $'\t'
  cat <<HINT

The paper-trading bot $BOT is Ready in namespace $NAMESPACE.
  export KUBECONFIG=$KUBECONFIG PATH=$D/bin:\$PATH
  kubectl get tradingbots -n $NAMESPACE
  kubectl describe tradingbot $BOT -n $NAMESPACE
  kubectl explain tradingbot.spec.config.trading
$(if [ -d "$D/node" ]; then echo "Its pods run as containers on the real node: kubectl logs -n $NAMESPACE deploy/$BOT-trader"; else echo "Its pods are on kwok nodes (no containers run): $(cat "$D/node.skipped" 2>/dev/null || echo "no real node")"; fi)
Operator log: $D/logs/operator.log
Stop everything: make cluster-down   (or just the operator: hack/demo.sh down)
HINT
}

down() {
  local pid
  if pid="$(operator_pid)"; then
    kill -TERM "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    log "operator stopped (pid $pid)"
  fi
  rm -f "$D/run/operator.pid"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
