"""`diagnostics`: a ZIP with the bot and its objects, and no secret value anywhere in it."""

from __future__ import annotations

import base64
import re
import zipfile
from pathlib import Path

import yaml

from tests.e2e.plugin.conftest import Plugin
from tests.support.bots import KWOK_STORAGE, Bots, bot_manifest, write_manifest
from tests.support.cluster import LocalCluster
from tests.support.operator import OperatorProcess
from tradingbot_components.config import COMPONENT_NAMES

KNOWN = "s3cr3t-value-that-must-never-leak-7f3a"
VISIBLE = "plain-value-that-should-be-shown"
FILES = {
    "manifest.yaml",
    "tradingbot.yaml",
    "deployments.yaml",
    "replicasets.yaml",
    "pods.yaml",
    "services.yaml",
    "configmaps.yaml",
    "events.yaml",
    "secrets.yaml",
    "operator/status.txt",
    "operator/health.txt",
    "operator/status.yaml",
    "operator/deployments.yaml",
    "operator/pods.yaml",
}


def read_zip(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        folder = path.name.removesuffix(".zip")
        assert all(name.startswith(f"{folder}/") for name in archive.namelist())
        return {name.removeprefix(f"{folder}/"): archive.read(name).decode() for name in archive.namelist()}


def forbidden_strings(bots: Bots, bot: str) -> set[str]:
    """KNOWN in every encoding a manifest could hold it, and the operator-made paper credentials."""
    values = {KNOWN, base64.b64encode(KNOWN.encode()).decode()}
    paper = bots.core.read_namespaced_secret(f"{bot}-paper-credentials", bots.namespace)
    for encoded in (paper.data or {}).values():
        values |= {encoded, base64.b64decode(encoded).decode()}
    assert len(values) == 6
    return values


def test_diagnostics_zip_has_the_bot_its_objects_and_no_secret_value(
    operator: OperatorProcess, bots: Bots, cluster: LocalCluster, plugin: Plugin, tmp_path: Path
) -> None:
    bots.core.create_namespaced_secret(
        bots.namespace, {"metadata": {"name": "exchange-extra"}, "stringData": {"api-token": KNOWN}}
    )
    manifest = bot_manifest(
        "reported",
        storage=KWOK_STORAGE,
        components=[
            {
                "name": "trader",
                "env": [
                    {"name": "TRADINGBOT_WEBHOOK_TOKEN", "value": KNOWN},
                    {"name": "TRADINGBOT_NOTE", "value": VISIBLE},
                ],
            }
        ],
    )
    # Client-side apply, so the object carries a last-applied-configuration copy with the value in it.
    cluster.kubectl("apply", "-n", bots.namespace, "-f", str(write_manifest(tmp_path, manifest)))
    bots.wait_ready("reported")
    assert KNOWN in str(bots.get("reported")["metadata"]["annotations"])  # the copy the report must drop
    forbidden = forbidden_strings(bots, "reported")

    target = tmp_path / "out" / "report.zip"
    result = plugin("diagnostics", "reported", "--output", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(target.resolve())
    files = read_zip(target)
    assert set(files) == FILES

    for name, text in files.items():
        for value in forbidden:
            assert value not in text, f"{value!r} leaked into {name}"
        if name != "manifest.yaml":  # which describes what was stripped
            assert "managedFields" not in text and "last-applied-configuration" not in text, name
            assert "last-handled-configuration" not in text, name

    bot = yaml.safe_load(files["tradingbot.yaml"])
    assert bot["kind"] == "TradingBot" and bot["status"]["health"] == "Healthy"
    env = {e["name"]: e["value"] for e in bot["spec"]["components"][0]["env"]}
    assert env == {"TRADINGBOT_WEBHOOK_TOKEN": "<redacted>", "TRADINGBOT_NOTE": VISIBLE}

    deployments = yaml.safe_load(files["deployments.yaml"])["items"]
    assert {d["metadata"]["name"] for d in deployments} == {f"reported-{c}" for c in COMPONENT_NAMES}
    assert all(d["kind"] == "Deployment" for d in deployments)
    assert VISIBLE in files["deployments.yaml"] and VISIBLE in files["pods.yaml"]
    assert len(yaml.safe_load(files["pods.yaml"])["items"]) >= 8
    assert yaml.safe_load(files["replicasets.yaml"])["items"]
    assert yaml.safe_load(files["services.yaml"])["items"]
    assert "reported-config" in {
        c["metadata"]["name"] for c in yaml.safe_load(files["configmaps.yaml"])["items"]
    }
    events = yaml.safe_load(files["events.yaml"])["items"]
    assert events and all(e["involvedObject"]["name"].startswith("reported") for e in events)

    secrets = yaml.safe_load(files["secrets.yaml"])["secrets"]
    names = {s["name"] for s in secrets}
    assert names == {"reported-paper-credentials"}  # referenced; exchange-extra is not, and is not listed

    assert files["operator/status.txt"].startswith("reported: Running, Healthy, 8/8 ready, startup Complete")
    meta = yaml.safe_load(files["manifest.yaml"])
    assert meta["bot"] == "reported" and meta["namespace"] == bots.namespace
    assert meta["problems"] == []


def test_default_file_name_and_the_report_alias(
    operator: OperatorProcess, bots: Bots, plugin: Plugin, tmp_path: Path
) -> None:
    bots.create(bot_manifest("named"))
    bots.wait_ready("named")
    result = plugin("report", "named", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path.parent == tmp_path
    assert re.fullmatch(rf"tradingbot-{bots.namespace}-named-\d{{8}}T\d{{6}}Z\.zip", path.name)
    assert "operator/status.txt" in read_zip(path)
