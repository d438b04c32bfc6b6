"""Signed private calls end to end: gateway -> auth (signature, nonce) -> simulator, and back."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.integration.components.connectivity.stack import Stack

LIMIT_BUY = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "price": "1000.0", "volume": "0.01"}


def test_public_and_private_calls_go_through(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory()
    time_reply = stack.public("Time")
    assert time_reply.status == 200 and time_reply.json["error"] == []
    balance = stack.private("Balance")
    assert balance.status == 200, balance.body
    assert balance.json["error"] == [] and "ZUSD" in balance.json["result"]
    placed = stack.private("AddOrder", {**LIMIT_BUY, "cl_ord_id": "smoke-1"})
    assert placed.json["error"] == [], placed.body
    txid = placed.json["result"]["txid"][0]
    listed = stack.private("OpenOrders", {"cl_ord_id": "smoke-1"})
    assert list(listed.json["result"]["open"]) == [txid]
    rejected = stack.private("AddOrder", {**LIMIT_BUY, "volume": "100000"})
    assert rejected.status == 200 and rejected.json["error"] == ["EOrder:Insufficient funds"]
    cancelled = stack.private("CancelOrder", {"txid": txid}, query="pair=XBTUSD&order_age=1")
    assert cancelled.json["error"] == [] and cancelled.json["result"]["count"] == 1
    stats = stack.sim.stats()
    assert stats["nonce_rejections"] == 0 and stats["signature_rejections"] == 0


def test_auth_hands_out_websocket_tokens_the_simulator_issued(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory()
    first = stack.auth.get("/v1/ws-token")
    assert first.status == 200, first.body
    again = stack.auth.get("/v1/ws-token")
    assert again.json["token"] == first.json["token"]  # cached
    assert 0 < first.json["expires_in"] <= 900
    assert stack.sim.stats()["requests"]["GetWebSocketsToken"] == 1


def test_the_credentials_never_leave_auth(stack_factory: Callable[..., Stack]) -> None:
    stack = stack_factory()
    assert stack.private("Balance").status == 200
    secrets = (stack.sim.api_key, stack.sim.api_secret)
    surfaces = {
        "auth log": stack.auth.log_text(),
        "gateway log": stack.gateway.log_text(),
        "auth /healthz": json.dumps(stack.auth.get("/healthz").body),
        "auth /config": json.dumps(stack.auth.get("/config").body),
        "gateway /healthz": json.dumps(stack.gateway.get("/healthz").body),
        "auth /metrics": str(stack.auth.get("/metrics").body),
        "storage db": (stack.workdir / "storage.db").read_bytes().decode(errors="replace"),
    }
    for name, text in surfaces.items():
        for secret in secrets:
            assert secret not in text, f"a credential leaked into {name}"
    key_id = stack.auth.get("/v1/key").json["key_id"]
    assert stack.auth.get("/healthz").json["auth"]["key_id"] == key_id
