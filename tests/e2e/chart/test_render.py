"""The chart renders what it promises: lint, schema, server-valid manifests, RBAC equal to the operator's needs."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.e2e.chart import operator_access as access
from tests.e2e.chart.helm import CHART, Helm, Manifest, of_kind, one, set_json
from tests.support.cluster import LocalCluster

NAMESPACED = {"watchNamespaces": ["bots-a", "bots-b"]}
STANDARD_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "helm.sh/chart",
)


def container(manifests: list[Manifest]) -> Manifest:
    return one(manifests, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def env(manifests: list[Manifest]) -> dict[str, Manifest]:
    return {item["name"]: item for item in container(manifests).get("env", [])}


@pytest.mark.parametrize("values", [{}, NAMESPACED], ids=["cluster-wide", "namespaced"])
def test_lint_passes(helm: Helm, values: dict[str, object]) -> None:
    result = helm.run("lint", "--strict", str(CHART), *set_json(values))
    assert "0 chart(s) failed" in result.stdout


def test_rendered_manifests_pass_server_side_dry_run(
    helm: Helm, cluster: LocalCluster, namespace: str, release: str
) -> None:
    for values in ({}, {"watchNamespaces": [namespace]}):
        text = helm.template(values, "--include-crds", release=release, namespace=namespace).stdout
        rendered = [doc for doc in yaml.safe_load_all(text) if doc]
        result = cluster.kubectl("apply", "--dry-run=server", "-o", "name", "-f", "-", input=text)
        accepted = result.stdout.split()
        assert len(accepted) == len(rendered), f"rendered {len(rendered)} objects, the server took {accepted}"
        kinds = {name.split("/")[0] for name in accepted}
        rbac = "role" if values else "clusterrole"
        assert {
            "customresourcedefinition.apiextensions.k8s.io",
            "deployment.apps",
            "serviceaccount",
            "service",
            f"{rbac}.rbac.authorization.k8s.io",
            f"{rbac}binding.rbac.authorization.k8s.io",
        } <= kinds


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"watchNamespace": ["bots"]}, "additional properties 'watchNamespace' not allowed"),
        ({"metrics": {"serviceMonitor": {"enable": True}}}, "additional properties 'enable' not allowed"),
        ({"watchNamespaces": "bots"}, "want array"),
        ({"watchNamespaces": ["Bots_1"]}, "does not match pattern"),
        ({"logFormat": "yaml"}, "logFormat"),
    ],
    ids=["top-level-typo", "nested-typo", "wrong-type", "bad-namespace", "bad-enum"],
)
def test_schema_rejects_bad_values_with_a_clear_message(
    helm: Helm, values: dict[str, object], message: str
) -> None:
    result = helm.template(values, check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr, result.stderr


def test_cluster_wide_rbac_is_exactly_what_the_operator_needs(helm: Helm) -> None:
    manifests = helm.render()
    assert not of_kind(manifests, "Role") and not of_kind(manifests, "RoleBinding")
    role = one(manifests, "ClusterRole")
    assert not access.wildcards(role["rules"])
    granted = access.granted(role["rules"])
    assert not granted & access.NEVER
    needed = access.permissions([*access.WORKLOAD, access.SCAN_CRDS])
    assert granted >= needed, f"missing: {sorted(needed - granted)}"
    assert granted <= needed, f"more than the operator uses: {sorted(granted - needed)}"
    binding = one(manifests, "ClusterRoleBinding")
    account = one(manifests, "ServiceAccount")["metadata"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["name"], "namespace": "tradingbot-system"}
    ]
    assert not any(arg.startswith("--namespace") for arg in container(manifests)["args"])


def test_namespaced_install_renders_a_role_per_watched_namespace(helm: Helm) -> None:
    manifests = helm.render(NAMESPACED)
    roles = {r["metadata"]["namespace"]: r for r in of_kind(manifests, "Role")}
    bindings = {b["metadata"]["namespace"]: b for b in of_kind(manifests, "RoleBinding")}
    assert set(roles) == set(bindings) == {"bots-a", "bots-b"}
    for namespace, role in roles.items():
        assert not access.wildcards(role["rules"])
        assert access.granted(role["rules"]) == access.permissions(access.WORKLOAD), namespace
        assert bindings[namespace]["subjects"][0]["namespace"] == "tradingbot-system"
    # The only cluster-wide grant left is kopf's read-only scanning.
    scanning = one(manifests, "ClusterRole")
    assert access.granted(scanning["rules"]) == access.permissions([access.SCAN_CRDS, access.SCAN_NAMESPACES])
    assert {"--namespace=bots-a", "--namespace=bots-b"} <= set(container(manifests)["args"])

    without_scanning = helm.render({**NAMESPACED, "rbac": {"scanning": False}})
    assert not of_kind(without_scanning, "ClusterRole")
    assert not of_kind(without_scanning, "ClusterRoleBinding")


def test_rbac_and_service_account_can_be_left_to_the_user(helm: Helm) -> None:
    manifests = helm.render({"rbac": {"create": False}, "serviceAccount": {"create": False, "name": "ops"}})
    kinds = {m["kind"] for m in manifests}
    assert not kinds & {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "ServiceAccount"}
    assert one(manifests, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "ops"


def test_deployment_is_one_restricted_operator_with_probes_and_args(helm: Helm) -> None:
    manifests = helm.render()
    deployment = one(manifests, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    main = container(manifests)
    security = main["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert main["resources"]["requests"] and main["resources"]["limits"]["memory"]
    assert "--metrics-address=0.0.0.0:8082" in main["args"]
    assert "--liveness=http://0.0.0.0:8081/healthz" in main["args"]
    ports = {p["name"]: p["containerPort"] for p in main["ports"]}
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "healthz"}
    assert ports == {"healthz": 8081, "metrics": 8082}
    assert env(manifests)["TRADINGBOT_COMPONENT_IMAGE"]["value"] == main["image"]
    assert main["image"] == "ghcr.io/tradingbot-operator/tradingbot:0.1.0"
    service = one(manifests, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    for manifest in manifests:
        labels = manifest["metadata"].get("labels", {})
        missing = [key for key in STANDARD_LABELS if key not in labels]
        assert not missing, f"{manifest['kind']} lacks {missing}"


def test_images_follow_digest_and_component_overrides(helm: Helm) -> None:
    digest = "sha256:" + "ab" * 32
    manifests = helm.render({"image": {"digest": digest}, "componentImage": "example/components:2"})
    assert container(manifests)["image"] == f"ghcr.io/tradingbot-operator/tradingbot@{digest}"
    assert env(manifests)["TRADINGBOT_COMPONENT_IMAGE"]["value"] == "example/components:2"


def test_alert_webhook_comes_from_a_value_or_a_secret(helm: Helm) -> None:
    assert "TRADINGBOT_ALERT_WEBHOOK" not in env(helm.render())
    plain = env(helm.render({"alerts": {"webhookUrl": "https://alerts.example/hook"}}))
    assert plain["TRADINGBOT_ALERT_WEBHOOK"]["value"] == "https://alerts.example/hook"
    secret = env(helm.render({"alerts": {"webhookSecret": {"name": "alerting", "key": "url"}}}))
    assert secret["TRADINGBOT_ALERT_WEBHOOK"]["valueFrom"] == {
        "secretKeyRef": {"name": "alerting", "key": "url"}
    }
    both = {"alerts": {"webhookUrl": "https://a.example", "webhookSecret": {"name": "alerting"}}}
    result = helm.template(both, check=False)
    assert result.returncode != 0 and "set webhookUrl or webhookSecret.name, not both" in result.stderr


def test_service_monitor_needs_both_the_value_and_the_prometheus_operator_api(helm: Helm) -> None:
    enabled = {"metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "prometheus"}}}}
    api = ("--api-versions", "monitoring.coreos.com/v1")
    assert not of_kind(helm.render(enabled), "ServiceMonitor")
    assert not of_kind(helm.render({}, *api), "ServiceMonitor")
    monitor = one(helm.render(enabled, *api), "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"


def test_metrics_can_be_switched_off(helm: Helm) -> None:
    manifests = helm.render({"metrics": {"enabled": False}})
    assert not of_kind(manifests, "Service")
    assert "--metrics-address=" in container(manifests)["args"]
    assert [p["name"] for p in container(manifests)["ports"]] == ["healthz"]


def test_the_grafana_dashboard_is_off_by_default_and_a_sidecar_configmap_when_on(helm: Helm) -> None:
    assert not [m for m in helm.render() if m["kind"] == "ConfigMap"]
    values = {
        "grafana": {
            "dashboard": {
                "enabled": True,
                "namespace": "monitoring",
                "annotations": {"grafana_folder": "Trading"},
            }
        }
    }
    config_map = one(helm.render(values), "ConfigMap")
    assert config_map["metadata"]["namespace"] == "monitoring"
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "Trading"}
    shipped = json.loads((CHART / "dashboards" / "tradingbot.json").read_text())
    assert json.loads(config_map["data"]["tradingbot.json"]) == shipped
