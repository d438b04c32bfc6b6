"""API failures become messages that say what to do, with documented exit codes."""

from __future__ import annotations

import json

from tradingbot_operator.plugin.errors import EXIT_CODE_HELP, ExitCode, classify_api_error


def status_body(message: str, reason: str, **details: str) -> str:
    return json.dumps({"kind": "Status", "message": message, "reason": reason, "details": details})


def test_a_missing_bot_names_the_bot_and_the_namespace() -> None:
    body = status_body('tradingbots.tradingbot.dev "nope" not found', "NotFound", name="nope")
    error = classify_api_error(404, body, action="get TradingBot", namespace="bots", name="nope")
    assert error.code is ExitCode.NOT_FOUND
    assert error.message == "TradingBot 'nope' not found in namespace 'bots'"


def test_a_bare_404_means_the_crd_is_not_installed() -> None:
    for body in ("404 page not found", None, status_body("not found", "NotFound")):
        error = classify_api_error(404, body, action="list TradingBots", namespace="bots")
        assert error.code is ExitCode.NO_CRD
        assert "tradingbots.tradingbot.dev" in error.message and "install the CRD" in error.message


def test_forbidden_says_what_was_refused() -> None:
    message = (
        'tradingbots.tradingbot.dev "kraken" is forbidden: User "alice" cannot get resource "tradingbots"'
    )
    error = classify_api_error(
        403, status_body(message, "Forbidden"), action="get TradingBot", namespace="bots", name="kraken"
    )
    assert error.code is ExitCode.FORBIDDEN
    assert error.message.startswith("permission denied to get TradingBot in namespace 'bots': ")
    assert 'User "alice" cannot get' in error.message


def test_unauthorized_and_other_errors() -> None:
    assert classify_api_error(401, "", action="x", namespace=None).code is ExitCode.FORBIDDEN
    conflict = classify_api_error(
        409, status_body("changed", "Conflict"), action="patch TradingBot", namespace="a"
    )
    assert conflict.code is ExitCode.API_ERROR and "try again" in conflict.message
    internal = classify_api_error(500, "oops", action="list pods", namespace="a")
    assert internal.message == "cannot list pods in namespace 'a': HTTP 500"


def test_every_exit_code_is_documented() -> None:
    for code in ExitCode:
        if code is not ExitCode.INTERRUPTED:
            assert f"\n  {int(code):<3} " in f"\n{EXIT_CODE_HELP}"
