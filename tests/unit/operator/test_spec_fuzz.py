"""The planner's verdict on generated specs (hypothesis): the pure half of the bad-input fuzz test.

tests/e2e/reliability/test_bad_input.py sends the same cases to the API server and the operator; here the
planner alone judges every case the schema would admit, fast enough for thousands of examples.
"""

from __future__ import annotations

from hypothesis import given, settings

from tests.support.manifests import Case, cases, valid_spec
from tests.unit.operator.world import T0
from tradingbot_operator.planner.bot import BotInput, plan_bot
from tradingbot_operator.planner.observed import Observed


def verdict(spec: dict) -> tuple[bool, str]:
    plan = plan_bot(BotInput("fuzz", "bots", 1, spec, {}, uid="uid-1"), Observed(), "img:1", T0)
    valid = next(c for c in plan.status["conditions"] if c["type"] == "ConfigValid")
    return plan.valid, valid["message"]


@settings(max_examples=100, deadline=None)
@given(valid_spec())
def test_every_valid_spec_is_accepted_and_planned(spec: dict) -> None:
    ok, message = verdict(spec)
    assert ok, message


@settings(max_examples=200, deadline=None)
@given(cases().filter(lambda case: not case.admission_faults))
def test_what_the_schema_admits_the_planner_judges_naming_the_field(case: Case) -> None:
    ok, message = verdict(case.spec)
    if case.operator_faults:
        assert not ok
        assert any(f.named_in(message) for f in case.operator_faults), (message, case.operator_faults)
    else:
        assert ok, message
