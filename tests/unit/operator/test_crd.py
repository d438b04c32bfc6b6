"""The checked-in CRD is exactly what the models generate, and it is a structural schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tradingbot_operator.api.crd import build_crd, render

CRD_FILE = Path(__file__).resolve().parents[3] / "crds" / "tradingbot.dev_tradingbots.yaml"


def _walk(node: Any, path: str = ""):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def test_checked_in_crd_matches_the_models() -> None:
    assert CRD_FILE.read_text() == render(), "crds/ drifted from the API models: run `make crds`"


def test_schema_is_structural() -> None:
    schema = build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in _walk(schema):
        assert "$ref" not in node and "anyOf" not in node and "const" not in node, path
        assert not any(k.startswith("x-") and not k.startswith("x-kubernetes-") for k in node), path
        if "properties" in node:
            assert node.get("type") == "object", path
            assert "additionalProperties" not in node, path


def test_every_spec_field_has_a_description_for_kubectl_explain() -> None:
    spec = build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    missing = [
        path
        for path, node in _walk(spec)
        if "type" in node
        and "description" not in node
        and not path.endswith(".items")
        and ".additionalProperties" not in path
    ]
    assert missing == []


def test_printer_columns_and_names() -> None:
    crd = build_crd()
    version = crd["spec"]["versions"][0]
    assert [c["name"] for c in version["additionalPrinterColumns"]] == [
        "Ready",
        "Phase",
        "Health",
        "Startup",
        "Age",
    ]
    assert version["subresources"] == {"status": {}}
    assert crd["spec"]["names"]["shortNames"] == ["tb"]
    assert crd["metadata"]["name"] == "tradingbots.tradingbot.dev"


def test_components_list_is_keyed_by_name() -> None:
    spec = build_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    components = spec["properties"]["components"]
    assert components["x-kubernetes-list-type"] == "map"
    assert components["x-kubernetes-list-map-keys"] == ["name"]
