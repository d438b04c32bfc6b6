{{/*
The operator's permissions, derived from what it calls (operator/tradingbot_operator/reconciler/):
one list, granted cluster-wide (ClusterRole) or in each watched namespace (Role).
tests/e2e/chart/operator_access.py holds the same list as the test oracle; change both together.
*/}}

{{- define "tradingbot-operator.workloadRules" -}}
# TradingBots: kopf lists and watches them and patches its finalizer and progress annotations in;
# the reconciler merge-patches status and removes the restart-request annotation.
- apiGroups: ["tradingbot.dev"]
  resources: ["tradingbots"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["tradingbot.dev"]
  resources: ["tradingbots/status"]
  verbs: ["patch"]
# Events on TradingBots (kopf.event and handler logs).
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
# Bot children, applied server-side: create (first apply) and patch (every apply that changes something);
# get: after a restart or on the safety resync the operator reads each one and applies only what differs.
# ConfigMaps also list/watch: the components' Roles grant those, and RBAC only lets the operator
# grant what it holds itself (no escalate/bind verbs needed).
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: [""]
  resources: ["services", "serviceaccounts"]
  verbs: ["get", "create", "patch"]
# Secrets: create the paper-trading account; get (as metadata only) to see that a credentials Secret
# exists. Never list or watch, so no Secret is ever cached in the operator.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create"]
# Pods: kopf indexes the bots' pods for health (list/watch); patch because the components' Roles grant it
# (a component annotates its own pod with the config generation it runs).
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch", "patch"]
# Deployments: indexed for health, applied, and deleted when a component is removed from a bot.
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["list", "watch", "create", "patch", "delete"]
- apiGroups: ["rbac.authorization.k8s.io"]
  resources: ["roles", "rolebindings"]
  verbs: ["get", "create", "patch"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies"]
  verbs: ["get", "create", "patch"]
# The storage component's PersistentVolumeClaim (spec.storage); never deleted by the operator: reclaim Delete
# makes the bot its owner and garbage collection removes it.
- apiGroups: [""]
  resources: ["persistentvolumeclaims"]
  verbs: ["get", "create", "patch"]
# Leases: only because the credentials holder's Role (auth's) grants them (its single-writer claim on the key).
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get", "create", "update"]
{{- end }}

{{/* kopf's scanning: notice CRD changes; with watchNamespaces, also which of them exist. Cluster-scoped. */}}
{{- define "tradingbot-operator.scanningRules" -}}
# kopf's scanning (read-only, cluster-scoped): CRD changes, and which watched namespaces exist.
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
{{- if .Values.watchNamespaces }}
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
{{- end }}
{{- end }}
