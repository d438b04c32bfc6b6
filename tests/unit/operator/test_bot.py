"""plan_bot end to end (pure): desired objects, config hashing, validation and status stability."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

from tests.unit.operator.world import T0
from tradingbot_operator.planner.bot import BotInput, Plan, plan_bot
from tradingbot_operator.planner.observed import Observed, ObservedPod, from_deployment

NS = "bots"


def plan(
    spec: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
    observed: Observed | None = None,
    generation: int = 1,
) -> Plan:
    bot = BotInput("kraken", NS, generation, spec or {}, status or {}, uid="uid-1")
    return plan_bot(bot, observed or Observed(), "img:1", T0)


def by_kind(p: Plan, kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in p.objects if o["kind"] == kind}


def running(spec: dict[str, Any] | None = None) -> tuple[Plan, Observed]:
    """Plan once, then pretend every planned Deployment exists and is Ready, until all are created."""
    status: dict[str, Any] = {}
    deployments: dict[str, dict[str, Any]] = {}
    for _ in range(10):
        components = [d["metadata"]["labels"]["app.kubernetes.io/component"] for d in deployments.values()]
        observed = Observed(
            deployments={
                c: from_deployment(d) for c, d in zip(components, deployments.values(), strict=True)
            },
            pods={c: (ObservedPod(f"{c}-0", c, ready=True, terminating=False),) for c in components},
        )
        p = plan(spec, status, observed)
        status = p.status
        new = {n: _ready(d) for n, d in by_kind(p, "Deployment").items()}
        if new.keys() == deployments.keys() and p.status.get("startupPhase") == "Complete":
            return p, observed
        deployments = new
    raise AssertionError("did not converge")


def _ready(d: dict[str, Any]) -> dict[str, Any]:
    n = d["spec"]["replicas"]
    return {
        **d,
        "metadata": {**d["metadata"], "generation": 1},
        "status": {"observedGeneration": 1, "readyReplicas": n, "availableReplicas": n, "updatedReplicas": n},
    }


def test_deployments_follow_the_design_conventions() -> None:
    p, _ = running()
    gateway = by_kind(p, "Deployment")["kraken-gateway"]
    labels = gateway["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == "tradingbot"
    assert labels["app.kubernetes.io/instance"] == "kraken"
    assert labels["app.kubernetes.io/component"] == "gateway"
    assert labels["app.kubernetes.io/managed-by"] == "tradingbot-operator"
    assert labels["tradingbot.dev/phase"] == "Network"
    assert gateway["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    pod = gateway["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["resources"]["limits"]["memory"] == "256Mi"
    assert container["command"] == ["tradingbot-component"] and container["args"][0] == "gateway"
    assert "--configmap" in container["args"] and f"{NS}/kraken-config" in container["args"]


def test_a_builtin_components_args_are_appended_to_its_command() -> None:
    spec = {"components": [{"name": "trader", "args": ["--strategy", "pkg.mod:Mine"]}]}
    trader = by_kind(running(spec)[0], "Deployment")["kraken-trader"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert trader["command"] == ["tradingbot-component"]
    assert trader["args"][0] == "trader" and trader["args"][-2:] == ["--strategy", "pkg.mod:Mine"]


def test_every_builtin_deployment_starts_a_component_the_runtime_knows() -> None:
    """No Deployment for code that does not exist: each built-in command names a known component."""
    from tradingbot_components.app import known_components

    p, _ = running()
    for name, deployment in by_kind(p, "Deployment").items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["command"] == ["tradingbot-component"], name
        assert container["args"][0] in known_components(), (name, container["args"][0])


def test_components_may_read_only_their_bots_configmap_and_only_auth_may_use_leases() -> None:
    p, _ = running()
    roles = by_kind(p, "Role")
    assert set(roles) == {"kraken-components", "kraken-credentials"}
    reads_config = {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "resourceNames": ["kraken-config"],
        "verbs": ["get", "list", "watch"],
    }
    annotates_pod = {"apiGroups": [""], "resources": ["pods"], "verbs": ["patch"]}
    assert roles["kraken-components"]["rules"] == [reads_config, annotates_pod]
    lease = {
        "apiGroups": ["coordination.k8s.io"],
        "resources": ["leases"],
        "verbs": ["get", "create", "update"],
    }
    assert roles["kraken-credentials"]["rules"] == [reads_config, annotates_pod, lease]
    bindings = by_kind(p, "RoleBinding")
    for name in roles:
        assert bindings[name]["roleRef"]["name"] == name
        assert bindings[name]["subjects"] == [{"kind": "ServiceAccount", "name": name, "namespace": NS}]
    assert set(by_kind(p, "ServiceAccount")) == set(roles)
    accounts = {
        name: d["spec"]["template"]["spec"]["serviceAccountName"]
        for name, d in by_kind(p, "Deployment").items()
    }
    assert accounts.pop("kraken-auth") == "kraken-credentials"
    assert set(accounts.values()) == {"kraken-components"}


def test_only_auth_and_the_simulator_mount_credentials() -> None:
    p, _ = running()
    mounting = {
        name
        for name, d in by_kind(p, "Deployment").items()
        if any(v["name"] == "credentials" for v in d["spec"]["template"]["spec"]["volumes"])
    }
    assert mounting == {"kraken-auth", "kraken-exchange-sim"}


def test_single_writers_never_overlap_during_rollouts() -> None:
    p, _ = running()
    strategies = {n: d["spec"]["strategy"]["type"] for n, d in by_kind(p, "Deployment").items()}
    assert strategies["kraken-auth"] == strategies["kraken-storage"] == "Recreate"
    assert strategies["kraken-gateway"] == "RollingUpdate"


def _data_volumes(p: Plan) -> dict[str, dict[str, Any]]:
    return {
        name: volume
        for name, d in by_kind(p, "Deployment").items()
        for volume in d["spec"]["template"]["spec"]["volumes"]
        if volume["name"] == "data"
    }


def test_storage_keeps_its_data_on_a_claim_the_bot_does_not_own_by_default() -> None:
    p, _ = running()
    assert _data_volumes(p) == {
        "kraken-storage": {"name": "data", "persistentVolumeClaim": {"claimName": "kraken-storage-data"}}
    }
    claim = by_kind(p, "PersistentVolumeClaim")["kraken-storage-data"]
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    # Retain: no owner, so garbage collection leaves it when the bot goes; the labels find it again.
    assert "ownerReferences" not in claim["metadata"]
    assert claim["metadata"]["labels"]["app.kubernetes.io/component"] == "storage"


def test_a_claim_with_reclaim_delete_goes_with_the_bot_and_emptydir_only_when_asked() -> None:
    p, _ = running({"storage": {"size": "5Gi", "storageClassName": "fast", "reclaim": "Delete"}})
    claim = by_kind(p, "PersistentVolumeClaim")["kraken-storage-data"]
    assert claim["spec"]["storageClassName"] == "fast"
    assert claim["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert [o["uid"] for o in claim["metadata"]["ownerReferences"]] == ["uid-1"]

    ephemeral, _ = running({"storage": {"volume": "EmptyDir"}})
    assert by_kind(ephemeral, "PersistentVolumeClaim") == {}
    assert _data_volumes(ephemeral) == {"kraken-storage": {"name": "data", "emptyDir": {}}}


def test_services_only_for_components_that_serve() -> None:
    p, _ = running()
    assert "kraken-trader" not in by_kind(p, "Service")
    assert "kraken-gateway" in by_kind(p, "Service")


def test_configmap_has_endpoints_of_this_bot_and_no_secrets() -> None:
    p = plan()
    document = json.loads(by_kind(p, "ConfigMap")["kraken-config"]["data"]["config.json"])
    assert document["endpoints"]["gateway"] == "http://kraken-gateway.bots.svc:8080"
    assert document["endpoints"]["exchange_ws"] == "ws://kraken-exchange-sim.bots.svc:8080/v2"
    assert "dsn" not in document["storage"]


def test_explicit_endpoint_wins() -> None:
    p = plan(
        {
            "exchange": {"mode": "live", "credentialsSecret": "kraken-api"},
            "config": {"endpoints": {"exchange_rest": "https://proxy.internal"}},
        }
    )
    document = json.loads(by_kind(p, "ConfigMap")["kraken-config"]["data"]["config.json"])
    assert document["endpoints"]["exchange_rest"] == "https://proxy.internal"
    assert document["endpoints"]["exchange_ws"] == "wss://ws.kraken.com/v2"


def _template_hashes(spec: dict[str, Any]) -> dict[str, str]:
    p, _ = running(spec)
    return {
        n: d["metadata"]["annotations"]["tradingbot.dev/applied-hash"]
        for n, d in by_kind(p, "Deployment").items()
    }


def test_hot_change_changes_no_deployment_and_restart_change_only_its_readers() -> None:
    base = _template_hashes({})
    hot = _template_hashes({"config": {"trading": {"profit_target": 0.009}}})
    assert hot == base
    restart = _template_hashes({"config": {"rate_limiting": {"tier": "pro"}}})
    assert {n for n in base if base[n] != restart[n]} == {"kraken-gateway", "kraken-exchange-sim"}


def test_config_generation_counts_changes() -> None:
    first = plan()
    assert first.status["config"]["generation"] == 1
    same = plan(status=first.status)
    assert same.status["config"] == first.status["config"]
    changed = plan({"config": {"trading": {"profit_target": 0.009}}}, status=first.status)
    assert changed.status["config"]["generation"] == 2


def test_a_spec_the_schema_missed_is_flagged_with_kubernetes_field_paths() -> None:
    # Admission normally stops these; an object stored under an older CRD reaches the planner anyway.
    p = plan({"components": [{"name": "gateway", "replicas": 99}], "startup": {"maxRetries": -1}})
    assert not p.valid and p.objects == []
    valid = next(c for c in p.status["conditions"] if c["type"] == "ConfigValid")
    assert valid["status"] == "False"
    assert "spec.components[0].replicas: " in valid["message"]
    assert "spec.startup.maxRetries: " in valid["message"]


def test_invalid_spec_creates_nothing_and_says_why() -> None:
    p = plan({"components": [{"name": "x", "image": "i", "phase": "Services", "dependsOn": ["x"]}]})
    assert not p.valid and p.objects == []
    valid = next(c for c in p.status["conditions"] if c["type"] == "ConfigValid")
    assert valid["status"] == "False"
    assert valid["message"] == "spec.components[0].dependsOn: 'x' cannot depend on itself"
    assert [e.reason for e in p.events] == ["InvalidSpec"]
    # The same problem again is not announced twice.
    again = plan(
        {"components": [{"name": "x", "image": "i", "phase": "Services", "dependsOn": ["x"]}]},
        status=p.status,
    )
    assert again.events == [] and again.status == p.status


def test_pydantic_errors_carry_the_field_path() -> None:
    p = plan({"config": {"trading": {"profit_target": 2}}})
    valid = next(c for c in p.status["conditions"] if c["type"] == "ConfigValid")
    assert valid["message"].startswith("spec.config.trading.profit_target: ")


def test_replanning_an_unchanged_bot_yields_the_same_status_and_no_events() -> None:
    p, observed = running()
    again = plan(status=p.status, observed=observed)
    assert again.status == p.status
    assert again.events == []
    assert p.status["phase"] == "Running" and p.status["ready"] == "8/8"


def _row(p: Plan, component: str) -> dict[str, Any]:
    return next(c for c in p.status["components"] if c["name"] == component)


def _critical(p: Plan, component: str) -> list[str]:
    return [
        a["reason"] for a in p.status["alerts"] if a["component"] == component and a["severity"] == "critical"
    ]


def test_safe_mode_is_a_planned_degradation_not_a_critical_failure() -> None:
    """Issue 12: the gateway fails, the trader is held at 0 and restored; only the gateway is critical."""
    p, observed = running()
    deployments = dict(observed.deployments)
    pods = {c: tuple(replace(pod, was_ready=True) for pod in ps) for c, ps in observed.pods.items()}

    def replan(status: dict[str, Any]) -> Plan:
        return plan(status=status, observed=Observed(deployments=dict(deployments), pods=dict(pods)))

    def set_replicas(component: str, replicas: int) -> None:
        current = deployments[component]
        deployments[component] = replace(
            current, replicas=replicas, generation=current.generation + 1, ready_replicas=0
        )

    # The gateway fails; the trader's readiness follows it.
    for failing in ("gateway", "trader"):
        pods[failing] = tuple(replace(pod, ready=False) for pod in pods[failing])
    held = replan(p.status)
    trader = _row(held, "trader")
    assert trader["safeMode"] and trader["health"] == "Degraded"
    assert (trader["reason"], trader["message"]) == ("SafeMode", "held by safe mode: gateway Unhealthy")
    assert trader["rootCause"] == "gateway"
    assert "trader" not in held.restarts
    assert by_kind(held, "Deployment")["kraken-trader"]["spec"]["replicas"] == 0
    assert _critical(held, "gateway") == ["ComponentUnhealthy"] and _critical(held, "trader") == []

    set_replicas("trader", 0)
    pods.pop("trader")
    still_held = replan(held.status)
    assert _row(still_held, "trader")["reason"] == "SafeMode" and still_held.events == []

    # The gateway is back: the trader is scaled up and comes back without an alarm.
    pods["gateway"] = tuple(replace(pod, ready=True) for pod in pods["gateway"])
    restored = replan(still_held.status)
    assert by_kind(restored, "Deployment")["kraken-trader"]["spec"]["replicas"] == 1
    assert not _row(restored, "trader").get("safeMode")
    set_replicas("trader", 1)
    pods["trader"] = (ObservedPod("trader-new", "trader", ready=False, terminating=False),)
    resuming = replan(restored.status)
    trader = _row(resuming, "trader")
    assert (trader["health"], trader["reason"]) == ("Degraded", "Resuming")
    assert trader["message"] == "coming back from safe mode: 0/1 pods ready"
    assert resuming.status["phase"] == "Degraded" and _critical(resuming, "trader") == []
    assert "trader" not in resuming.restarts

    pods["trader"] = (ObservedPod("trader-new", "trader", ready=True, terminating=False),)
    deployments["trader"] = replace(
        deployments["trader"],
        observed_generation=deployments["trader"].generation,
        ready_replicas=1,
        available_replicas=1,
        updated_replicas=1,
    )
    healed = replan(resuming.status)
    assert _row(healed, "trader")["health"] == "Healthy" and healed.status["health"] == "Healthy"
    assert _critical(healed, "trader") == []
    latest = next(a for a in healed.status["alerts"] if a["component"] == "trader")
    assert (latest["reason"], latest["severity"]) == ("ComponentRecovered", "info")


def test_what_an_attempt_started_survives_a_crash_before_its_status_was_written() -> None:
    """The operator scales storage and exchange-sim up, then dies before writing status: the restarted
    operator must still count them as started by this attempt, so a failed attempt rolls them back."""
    spec = {
        "startup": {"phaseTimeoutSeconds": 5, "maxRetries": 0, "rollbackOnFailure": True},
        "components": [{"name": "auth", "nodeSelector": {"nowhere": "true"}}],
    }
    first = plan(spec)
    infrastructure = by_kind(first, "Deployment")
    assert set(infrastructure) == {"kraken-storage", "kraken-exchange-sim"}
    for deployment in infrastructure.values():
        assert deployment["metadata"]["annotations"]["tradingbot.dev/started-by-attempt"] == "1"
    # The status of `first` is lost; the Deployments it applied exist and become Ready.
    applied = {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: _ready(d) for d in infrastructure.values()
    }
    observed = Observed(
        deployments={c: from_deployment(d) for c, d in applied.items()},
        pods={c: (ObservedPod(f"{c}-0", c, ready=True, terminating=False),) for c in applied},
    )
    after_crash = plan(spec, status={}, observed=observed)
    assert after_crash.status["startup"]["started"] == ["storage", "exchange-sim", "auth"]
    # auth never becomes Ready: the attempt fails and rolls back everything it started, the unrecorded ones too.
    bot = BotInput("kraken", NS, 1, spec, after_crash.status, uid="uid-1")
    failed = plan_bot(bot, observed, "img:1", T0 + timedelta(seconds=10))
    assert failed.status["startup"]["failed"]
    replicas = {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: d["spec"]["replicas"]
        for d in failed.objects
        if d["kind"] == "Deployment"
    }
    assert replicas == {"storage": 0, "exchange-sim": 0}
    rollback = next(e for e in failed.events if e.reason == "RollbackStarted")
    assert "storage" in rollback.message and "exchange-sim" in rollback.message


def test_check_spec_gives_plans_in_startup_order_or_the_problems_with_paths() -> None:
    from tradingbot_operator.planner.bot import CheckedSpec, check_spec

    checked = check_spec({}, "img")
    assert isinstance(checked, CheckedSpec)
    assert [p.name for p in checked.plans][:3] == ["storage", "exchange-sim", "auth"]
    problems = check_spec({"components": [{"name": "trader", "dependsOn": ["ghost"]}]}, "img")
    assert not isinstance(problems, CheckedSpec)
    assert problems[0].path == "spec.components[0].dependsOn"
    schema = check_spec({"config": {"trading": {"profit_target": 2}}}, "img")
    assert not isinstance(schema, CheckedSpec)
    assert schema[0].path == "spec.config.trading.profit_target"
