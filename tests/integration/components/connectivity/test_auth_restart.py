"""One signer per key, and a nonce sequence that survives the signer: a second auth with the same key is
refused, and after a SIGKILL a new auth continues above every nonce the old one could have issued."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.integration.components.connectivity.stack import Stack
from tests.support.waiting import wait_until


def nonce_status(stack: Stack) -> dict[str, Any]:
    status: dict[str, Any] = stack.auth.get("/healthz").json["auth"]["nonce"]
    return status


def test_a_second_auth_with_the_same_key_refuses_to_start(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory()
    second = stack.start_auth()
    assert second.wait_exit(timeout=30) == 1
    refusal = [entry["message"] for entry in second.logs() if entry.get("level") == "ERROR"]
    assert any(
        "another auth process" in message and "holds API key key-" in message for message in refusal
    ), refusal
    assert stack.private("Balance").json["error"] == []  # the first one is untouched
    assert stack.auth.get("/readyz").status == 200


def test_nonces_continue_above_the_last_used_after_auth_is_killed(
    stack_factory: Callable[..., Stack],
) -> None:
    stack = stack_factory()
    for _ in range(5):
        assert stack.private("Balance").json["error"] == []
    before = nonce_status(stack)
    assert before["signed"] == 5

    stack.auth.process.kill()  # SIGKILL: nothing is flushed, the lock file is left behind
    stack.auth.wait_exit()

    def gateway_sees_auth_down() -> list[str] | None:
        reply = stack.gateway.get("/readyz")
        reasons = [reason["message"] for reason in reply.json["reasons"]]
        return reasons if reply.status == 503 else None

    reasons = wait_until(gateway_sees_auth_down, timeout=15, what="the gateway to notice auth is gone")
    assert any("auth is unhealthy" in r and "unreachable" in r for r in reasons), reasons
    down = stack.private("Balance")
    assert down.status == 503 and down.json["error"][0].startswith("EGateway:Auth unavailable")

    # The same port, so the gateway's configured endpoint reaches the new process.
    port = stack.auth.port
    stack.auth = stack.components.start(
        "auth",
        "--config",
        str(stack.auth_config()),
        "--credentials",
        str(stack.credentials),
        env=stack.env,
        port=port,
    )
    stack.auth.wait_ready()
    after = nonce_status(stack)
    assert after["loaded_mark"] >= before["last_nonce"]  # the reservation outlived the process

    wait_until(
        lambda: stack.gateway.get("/readyz").status == 200, timeout=15, what="the gateway to be ready again"
    )
    for _ in range(3):
        assert stack.private("Balance").json["error"] == []
    first_after = nonce_status(stack)
    assert first_after["last_nonce"] > after["loaded_mark"] >= before["last_nonce"]
    assert stack.sim.stats()["nonce_rejections"] == 0
