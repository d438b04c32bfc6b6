"""Packaging files agree with the code: the chart's CRD copy, versions, the values schema, the Dockerfile."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml

from tradingbot_operator.api import constants

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "tradingbot-operator"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_chart_crd_is_a_byte_identical_copy_of_the_generated_one() -> None:
    generated = (ROOT / "crds" / "tradingbot.dev_tradingbots.yaml").read_bytes()
    copied = (CHART / "crds" / "tradingbot.dev_tradingbots.yaml").read_bytes()
    assert copied == generated, (
        "charts/tradingbot-operator/crds/ differs from crds/: "
        "cp crds/tradingbot.dev_tradingbots.yaml charts/tradingbot-operator/crds/"
    )


def test_chart_versions_and_default_image_follow_the_project() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert chart["appVersion"] == PYPROJECT["project"]["version"]
    # With default values the operator and its components run the image the operator would pick by itself.
    assert f"{values['image']['repository']}:{chart['appVersion']}" == constants.DEFAULT_IMAGE


def _objects(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = [(path or "/", schema)] if "properties" in schema else []
    for key, child in schema.get("properties", {}).items():
        found += _objects(child, f"{path}/{key}")
    if isinstance(schema.get("items"), dict):
        found += _objects(schema["items"], f"{path}[]")
    return found


def test_values_schema_closes_every_object_and_covers_every_default() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    open_objects = [path for path, obj in _objects(schema) if obj.get("additionalProperties") is not False]
    assert not open_objects, f"objects that would accept typos: {open_objects}"

    def undeclared(values: dict[str, Any], node: dict[str, Any], path: str) -> list[str]:
        missing = []
        for key, value in values.items():
            child = node.get("properties", {}).get(key)
            if child is None:
                if node.get("additionalProperties") is False:
                    missing.append(f"{path}/{key}")
            elif isinstance(value, dict) and "properties" in child:
                missing += undeclared(value, child, f"{path}/{key}")
        return missing

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert not undeclared(values, schema, ""), "values.yaml keys missing from values.schema.json"


def test_dockerfile_runs_non_root_with_both_entry_points() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    scripts = PYPROJECT["project"]["scripts"]
    assert {"tradingbot-operator", "tradingbot-component"} <= set(scripts)
    assert 'ENTRYPOINT ["tradingbot-operator"]' in dockerfile
    assert re.search(r"^USER 10001(:10001)?$", dockerfile, re.MULTILINE)
    # Every file copied from the build context must survive the .dockerignore allow-list.
    allowed = {
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    sources = [
        source.rstrip("/")
        for line in dockerfile.splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for source in line.split()[1:-1]
    ]
    assert sources and set(sources) <= allowed, (
        f"COPY sources {sources} vs .dockerignore allow-list {allowed}"
    )
