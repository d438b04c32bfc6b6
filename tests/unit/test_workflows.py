"""The GitHub workflows cannot run here (no Docker, no GitHub); what they name must exist in the repository:
every `make` target, every path into the checkout, and the settings the real-pod tests read.
(`make lint` runs actionlint on them for the rest.)"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import realnode

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
MAKE_TARGETS = set(re.findall(r"^([a-z0-9-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))
TOP_LEVEL = {p.name for p in ROOT.iterdir() if not p.name.startswith(".")} | {".github", ".ci"}


def _steps() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for workflow in WORKFLOWS:
        for job_name, job in yaml.safe_load(workflow.read_text())["jobs"].items():
            for step in job.get("steps", []):
                found.append((f"{workflow.name}:{job_name}", step.get("run", ""), step))
    return found


def _words(script: str) -> list[list[str]]:
    lines = script.replace("\\\n", " ").splitlines()
    return [shlex.split(line, comments=True) for line in lines if line.strip()]


def test_there_are_workflows() -> None:
    assert WORKFLOWS, "no .github/workflows/*.yml"


@pytest.mark.parametrize(("job", "script", "step"), _steps(), ids=lambda v: v if isinstance(v, str) else "")
def test_make_targets_and_paths_named_by_steps_exist(job: str, script: str, step: dict[str, Any]) -> None:
    for words in _words(script):
        for i, word in enumerate(words):
            if word == "make":
                targets = [w for w in words[i + 1 :] if not w.startswith("-") and "=" not in w]
                missing = [t for t in targets if t not in MAKE_TARGETS]
                assert not missing, f"{job}: make {' '.join(missing)}: no such target in the Makefile"
            path = word.split("=", 1)[-1]
            first = path.split("/", 1)[0]
            if first in TOP_LEVEL and path not in MAKE_TARGETS:
                assert (ROOT / path).exists(), f"{job}: {path} does not exist in the repository"


def test_the_kind_job_builds_loads_installs_applies_and_runs_the_real_pod_tests() -> None:
    job = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())["jobs"]["kind"]
    text = "\n".join(step.get("run", "") + str(step.get("uses", "")) for step in job["steps"])
    for needed in (
        "helm/kind-action",
        "docker build",
        "kind load docker-image",
        "helm install tradingbot-operator charts/tradingbot-operator",
        "kubectl apply -n bots -f examples/tradingbot.yaml",
        "--for=condition=Ready tradingbot/kraken-main",
        "make test-realnode",
    ):
        assert needed in text, f"the kind job does not {needed!r}"
    env = next(step["env"] for step in job["steps"] if "make test-realnode" in step.get("run", ""))
    assert set(env) == {realnode.EXTERNAL_KUBECONFIG, realnode.OPERATOR_INSTALLED}
