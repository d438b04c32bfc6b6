"""The storage component over HTTP, on both backends: orders, fills, balances and nonce marks; a SIGKILL loses
nothing that was acknowledged, and a nonce mark never goes backwards."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.integration.components.process import ComponentProcess, ComponentRunner
from tests.integration.components.storage.conftest import Backend


def start_storage(components: ComponentRunner, tmp_path: Path, backend: Backend) -> ComponentProcess:
    path = tmp_path / "config.json"
    if not path.exists():
        path.write_text(json.dumps(backend.document()))
    storage = components.start("storage", "--config", str(path), env=backend.env())
    storage.wait_ready()
    assert storage.get("/healthz").json["storage"]["backend"] == backend.name
    return storage


def order(cid: str, **changes: Any) -> dict[str, Any]:
    return {
        "client_order_id": cid,
        "pair": "XBT/USD",
        "side": "buy",
        "type": "limit",
        "price": "64000.1",
        "volume": "0.0125",
        **changes,
    }


def test_acknowledged_writes_survive_a_sigkill(
    components: ComponentRunner, tmp_path: Path, backend: Backend
) -> None:
    storage = start_storage(components, tmp_path, backend)
    acknowledged = []
    for index in range(20):
        reply = storage.post("/v1/orders", order(f"o-{index}"))
        assert reply.status == 201, reply.body
        acknowledged.append(reply.json)
    assert storage.patch("/v1/orders/o-3", {"status": "new", "exchange_order_id": "OABC-1"}).status == 200
    fill = {"fill_id": "T-1", "client_order_id": "o-3", "pair": "XBT/USD", "side": "buy", "price": "64000.1"}
    assert (
        storage.post("/v1/fills", {**fill, "volume": "0.0125", "fee": "0.1", "fee_currency": "USD"}).status
        == 201
    )
    assert storage.post("/v1/balances", {"balances": {"XXBT": "0.5", "ZUSD": "1000.25"}}).status == 201
    marks = [storage.post("/v1/nonce/key-a", {"high_water": n}).json["high_water"] for n in (10, 1_000, 500)]
    assert marks == [10, 1_000, 1_000]

    storage.process.kill()  # SIGKILL: no shutdown, no flush
    storage.wait_exit()

    again = start_storage(components, tmp_path, backend)
    listed = again.get("/v1/orders?limit=1000").json["orders"]
    assert [o["client_order_id"] for o in listed] == [o["client_order_id"] for o in acknowledged]
    assert again.get("/v1/orders/o-3").json["status"] == "new"
    assert again.get("/v1/orders/o-3").json["exchange_order_id"] == "OABC-1"
    assert again.get("/v1/fills?client_order_id=o-3").json["fills"][0]["fee"] == "0.1"
    assert again.get("/v1/balances/latest").json["balances"] == {"XXBT": "0.5", "ZUSD": "1000.25"}
    assert again.get("/v1/nonce/key-a").json["high_water"] == 1_000
    assert again.post("/v1/nonce/key-a", {"high_water": 999}).json == {
        **again.get("/v1/nonce/key-a").json,
        "raised": False,
    }


def test_nonce_marks_only_rise_under_concurrent_writers(
    components: ComponentRunner, tmp_path: Path, backend: Backend
) -> None:
    storage = start_storage(components, tmp_path, backend)
    values = list(range(1, 201))
    values.reverse()  # the largest first: every later write must come back as the maximum
    with ThreadPoolExecutor(max_workers=16) as pool:
        replies = list(pool.map(lambda n: storage.post("/v1/nonce/key-b", {"high_water": n}), values))
    assert all(r.status == 200 for r in replies)
    assert all(r.json["high_water"] >= n for r, n in zip(replies, values, strict=True))
    assert storage.get("/v1/nonce/key-b").json["high_water"] == 200
    assert storage.get("/v1/nonce/unused").json == {"key_id": "unused", "high_water": 0, "updated_at": None}


def test_order_inserts_are_idempotent_by_client_order_id(
    components: ComponentRunner, tmp_path: Path, backend: Backend
) -> None:
    storage = start_storage(components, tmp_path, backend)
    first = storage.post("/v1/orders", order("dup-1"))
    retry = storage.post(
        "/v1/orders", order("dup-1", price="64000.10")
    )  # the same price, written differently
    clash = storage.post("/v1/orders", order("dup-1", volume="1"))
    assert (first.status, retry.status, clash.status) == (201, 200, 409)
    assert retry.json == first.json
    assert clash.json["error"] == "Conflict"


def test_bad_requests_name_the_fields(components: ComponentRunner, tmp_path: Path, backend: Backend) -> None:
    storage = start_storage(components, tmp_path, backend)
    reply = storage.post("/v1/orders", order("bad-1", pair="xbtusd", volume="-1"))
    assert reply.status == 400
    assert {e["path"] for e in reply.json["errors"]} == {"pair", "volume"}
    assert storage.post("/v1/orders", order("bad-2", price=None)).status == 400  # a limit order needs a price
    assert storage.post("/v1/nonce/key-c", {"high_water": -1}).status == 400
    assert storage.post("/v1/nonce/key-c", {"high_water": 2**63}).status == 400
    assert storage.get("/v1/nonce/bad%20key").status == 400
    assert storage.get("/v1/orders/missing").status == 404
    assert storage.get("/v1/orders?status=bogus").status == 400
    assert storage.patch("/v1/orders/missing", {"status": "new"}).status == 404
