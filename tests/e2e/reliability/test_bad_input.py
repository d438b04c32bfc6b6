"""Bad input, fuzzed: generated TradingBot manifests, valid and invalid, against the real API server and operator.

Every generated manifest is sent to the API server as a server-side dry run with strict field validation
(admission runs in full: schema, CEL, list-map keys; nothing is stored, so hundreds cost seconds). Each must
be refused naming a broken field, or admitted when nothing in it is broken at admission level. A sample of the
admitted ones is then created for real: the operator must mark those with graph faults `ConfigValid=False`
naming the field and create nothing for them, and accept the valid ones. Meanwhile bots that were already
running must not be touched (same resourceVersions) and the operator must not crash.
"""

from __future__ import annotations

import itertools
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from kubernetes.client import ApiException

from tests.e2e.reliability.conftest import Sizes
from tests.support.bots import GROUP, PLURAL, VERSION, Bots, bot_manifest
from tests.support.manifests import Case, cases
from tests.support.operator import OperatorProcess
from tests.support.waiting import settle, wait_until

INSTANCE = "app.kubernetes.io/instance"


def versions_of(bots: Bots, names: list[str]) -> dict[str, str]:
    """resourceVersion of each bot and of everything labelled as its child (pods and ReplicaSets included)."""
    selector = f"{INSTANCE} in ({','.join(names)})"
    found: dict[str, str] = {}
    for kind, listing in (
        ("Deployment", bots.apps.list_namespaced_deployment),
        ("ReplicaSet", bots.apps.list_namespaced_replica_set),
        ("Pod", bots.core.list_namespaced_pod),
        ("ConfigMap", bots.core.list_namespaced_config_map),
        ("Service", bots.core.list_namespaced_service),
        ("Secret", bots.core.list_namespaced_secret),
    ):
        for item in listing(bots.namespace, label_selector=selector).items:
            found[f"{kind}/{item.metadata.name}"] = item.metadata.resource_version
    for name in names:
        found[f"TradingBot/{name}"] = bots.get(name)["metadata"]["resourceVersion"]
    return found


def refusal(error: ApiException) -> str:
    try:
        return str(json.loads(error.body)["message"])
    except (TypeError, ValueError, KeyError):
        return str(error.body)


@pytest.mark.timeout(1800)
def test_fuzzed_manifests_are_refused_or_flagged_and_running_bots_are_untouched(
    operator: OperatorProcess, bots: Bots, sizes: Sizes, seed: int
) -> None:
    running = ["steady-0", "steady-1"] if sizes.long else ["steady-0"]
    for name in running:
        bots.create(bot_manifest(name))
    for name in running:
        bots.wait_ready(name, timeout=180)
    wait_until(
        lambda: all(bots.status(n).get("phase") == "Running" for n in running), timeout=30, what="Running"
    )
    before = versions_of(bots, running)
    pid = operator.process.pid if operator.process else None

    admitted: list[tuple[str, Case]] = []
    counter = itertools.count()
    tally = {"refused": 0, "admitted": 0}

    @hypothesis_seed(seed)
    @settings(
        max_examples=sizes.fuzz_manifests,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(cases())
    def judge(case: Case) -> None:
        name = f"fuzz-{next(counter)}"
        try:
            bots.custom.create_namespaced_custom_object(
                GROUP,
                VERSION,
                bots.namespace,
                PLURAL,
                case.manifest(name),
                dry_run="All",
                field_validation="Strict",
            )
        except ApiException as error:
            message = refusal(error)
            assert error.status in (400, 422), f"HTTP {error.status}: {message}"
            assert case.admission_faults, f"a valid manifest was refused: {message}\nspec: {case.spec}"
            assert any(f.named_in(message) for f in case.admission_faults), (
                f"the refusal names none of {[f.paths for f in case.admission_faults]}: {message}"
            )
            tally["refused"] += 1
            return
        assert not case.admission_faults, (
            f"admitted despite {[f.what for f in case.admission_faults]}: {case.spec}"
        )
        tally["admitted"] += 1
        admitted.append((name, case))

    judge()
    print(f"{sum(tally.values())} manifests: {tally}")
    assert sum(tally.values()) >= sizes.fuzz_manifests

    # The operator's half: admitted manifests with graph faults, and some valid ones, created for real.
    rng = random.Random(seed)
    flagged = [(n, c) for n, c in admitted if c.operator_faults]
    valid = [(n, c) for n, c in admitted if not c.operator_faults]
    rng.shuffle(flagged)
    rng.shuffle(valid)
    few_valid = 10 if sizes.long else 3
    chosen = flagged[: sizes.fuzz_to_operator - few_valid] + valid[:few_valid]
    assert any(c.operator_faults for _, c in chosen), "the sample has no case for the operator to flag"
    for name, case in chosen:
        bots.create(case.manifest(name))

    def verdict_problems() -> list[str]:
        problems = []
        for name, case in chosen:
            condition = bots.condition(name, "ConfigValid") or {}
            if case.operator_faults:
                if condition.get("status") != "False":
                    problems.append(
                        f"{name}: ConfigValid={condition.get('status')}, faults {case.operator_faults}"
                    )
                elif not any(f.named_in(condition.get("message", "")) for f in case.operator_faults):
                    problems.append(
                        f"{name}: message {condition.get('message')!r} names none of {case.operator_faults}"
                    )
            elif condition.get("status") != "True":
                problems.append(f"{name}: valid spec judged {condition}: {case.spec}")
        return problems

    settle(verdict_problems, timeout=300, what="the operator's verdict on every created manifest")
    for name, case in chosen:
        if case.operator_faults:
            made = bots.apps.list_namespaced_deployment(
                bots.namespace, label_selector=f"{INSTANCE}={name}"
            ).items
            maps = bots.core.list_namespaced_config_map(
                bots.namespace, label_selector=f"{INSTANCE}={name}"
            ).items
            assert not made and not maps, (
                f"{name} is invalid but got {len(made)} Deployments, {len(maps)} ConfigMaps"
            )

    # Deleting them all works too, invalid ones included (no finalizer is left behind).
    for name, _ in chosen:
        bots.delete(name)
    settle(
        lambda: [name for name, _ in chosen if bots.exists(name)],
        timeout=300,
        what="every fuzzed bot to be deleted",
    )

    assert operator.process is not None and operator.process.poll() is None, "the operator exited"
    assert operator.process.pid == pid
    assert "Traceback" not in operator.log(), "the operator logged an unexpected exception"
    after = versions_of(bots, running)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"running bots were touched: {changed}"
