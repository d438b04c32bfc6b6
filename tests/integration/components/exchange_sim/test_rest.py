"""The simulator over real sockets: Kraken's public shapes, signed private calls (form and JSON), the
exact errors for bad keys, signatures and nonces, the tier's REST counter, and idempotent AddOrder."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import pytest

from tests.support.sim import SimHandle
from tests.support.waiting import wait_until
from tradingbot_components.kraken.signing import BodyFormat

Factory = Callable[..., SimHandle]
D = Decimal


def ok(reply: dict) -> dict:
    assert reply["error"] == [], reply
    return reply["result"]


def test_public_endpoints_answer_in_krakens_shapes(sim_factory: Factory) -> None:
    sim = sim_factory(pairs=("XBT/USD", "ETH/USD"))
    assert abs(ok(sim.public("Time"))["unixtime"] - time.time()) < 5
    assert ok(sim.public("SystemStatus"))["status"] == "online"
    assert ok(sim.public("Assets"))["XXBT"]["altname"] == "XBT"
    pairs = ok(sim.public("AssetPairs", pair="XBTUSD,ETHUSD"))
    assert pairs["XXBTZUSD"]["wsname"] == "XBT/USD" and pairs["XETHZUSD"]["pair_decimals"] == 2
    ticker = ok(sim.public("Ticker", pair="XBTUSD"))["XXBTZUSD"]
    assert float(ticker["a"][0]) > float(ticker["b"][0]) > 0
    depth = ok(sim.public("Depth", pair="XBT/USD", count=5))["XXBTZUSD"]
    assert len(depth["asks"]) == 5 and depth["bids"][0][0].count(".") == 1
    assert len(depth["bids"][0][0].split(".")[1]) == 1 and len(depth["bids"][0][1].split(".")[1]) == 8
    ohlc = ok(sim.public("OHLC", pair="XBTUSD", interval=5))
    assert len(ohlc["XXBTZUSD"][0]) == 8 and isinstance(ohlc["last"], int)
    assert sim.public("Depth", pair="NOPE") == {"error": ["EQuery:Unknown asset pair"]}
    assert sim.public("Nope") == {"error": ["EGeneral:Unknown method"]}


@pytest.mark.parametrize("body_format", [BodyFormat.FORM, BodyFormat.JSON])
def test_signed_private_calls_succeed(sim_factory: Factory, body_format: BodyFormat) -> None:
    sim = sim_factory(balances="USD=5000,XBT=1")
    balance = ok(sim.private("Balance", body_format=body_format))
    assert balance == {"XXBT": "1.0000000000", "ZUSD": "5000.0000"}
    placed = ok(
        sim.private(
            "AddOrder",
            {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "price": "40000.0", "volume": "0.01"},
            body_format=body_format,
        )
    )
    assert placed["descr"]["order"] == "buy 0.01000000 XBTUSD @ limit 40000.0"
    (txid,) = placed["txid"]
    assert ok(sim.private("OpenOrders"))["open"][txid]["status"] == "open"
    assert ok(sim.private("BalanceEx"))["ZUSD"]["hold_trade"] == "401.6000"
    assert ok(sim.private("CancelOrder", {"txid": txid})) == {"count": 1}
    closed = ok(sim.private("ClosedOrders"))
    assert closed["count"] == 1 and closed["closed"][txid]["status"] == "canceled"
    assert sim.private("CancelOrder", {"txid": txid}) == {"error": ["EOrder:Unknown order"]}


def test_bad_credentials_and_replayed_nonces_get_krakens_exact_errors(sim_factory: Factory) -> None:
    sim = sim_factory()
    assert sim.private("Balance", api_key="not-a-key") == {"error": ["EAPI:Invalid key"]}
    other_secret = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
    assert sim.private("Balance", api_secret=other_secret) == {"error": ["EAPI:Invalid signature"]}
    assert sim.private("Balance", signature="garbage") == {"error": ["EAPI:Invalid signature"]}
    nonce = sim.next_nonce()
    ok(sim.private("Balance", nonce=nonce))
    assert sim.private("Balance", nonce=nonce) == {"error": ["EAPI:Invalid nonce"]}
    assert sim.private("Balance", nonce=nonce - 1) == {"error": ["EAPI:Invalid nonce"]}
    ok(sim.private("Balance"))
    stats = sim.stats()
    assert (stats["key_rejections"], stats["signature_rejections"], stats["nonce_rejections"]) == (1, 2, 2)


@pytest.mark.parametrize(("tier", "cap"), [("starter", 15), ("pro", 20)])
def test_the_rest_counter_refuses_at_the_tiers_cap(sim_factory: Factory, tier: str, cap: int) -> None:
    sim = sim_factory(tier=tier)
    started = time.monotonic()
    answers = [sim.private("Balance")["error"] for _ in range(cap + 1)]
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, "the burst must be faster than one point of decay for this check to hold"
    assert answers[:cap] == [[]] * cap
    assert answers[cap] == ["EAPI:Rate limit exceeded"]
    assert sim.stats()["rate_limit_rejections"] == 1
    # Public calls and AddOrder are not charged to the REST counter.
    assert ok(sim.public("Time"))
    order = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "price": "40000.0", "volume": "0.01"}
    assert ok(sim.private("AddOrder", {**order, "validate": True}))


def test_a_retried_add_order_with_the_same_cl_ord_id_is_not_duplicated(sim_factory: Factory) -> None:
    sim = sim_factory()
    order = {
        "pair": "XBTUSD",
        "type": "buy",
        "ordertype": "limit",
        "price": "40000.0",
        "volume": "0.01",
        "cl_ord_id": "bot-1-0001",
    }
    first = ok(sim.private("AddOrder", order))
    assert sim.private("AddOrder", order) == {"error": ["EOrder:Duplicate order"]}
    opened = ok(sim.private("OpenOrders", {"cl_ord_id": "bot-1-0001"}))["open"]
    assert list(opened) == first["txid"]
    assert ok(sim.private("CancelOrder", {"cl_ord_id": "bot-1-0001"})) == {"count": 1}


def test_the_dead_mans_switch_cancels_open_orders(sim_factory: Factory) -> None:
    sim = sim_factory()
    order = {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "price": "40000.0", "volume": "0.01"}
    (txid,) = ok(sim.private("AddOrder", order))["txid"]
    armed = ok(sim.private("CancelAllOrdersAfter", {"timeout": 1}))
    assert armed["triggerTime"] != "0"

    def cancelled() -> bool:
        return txid in ok(sim.private("ClosedOrders"))["closed"]

    wait_until(cancelled, timeout=10, interval=0.3, what="the dead man's switch to fire")
    assert ok(sim.private("CancelAllOrdersAfter", {"timeout": 0}))["triggerTime"] == "0"


def test_market_orders_fill_and_move_balances(sim_factory: Factory) -> None:
    sim = sim_factory(balances="USD=100000,XBT=0")
    (txid,) = ok(
        sim.private("AddOrder", {"pair": "XBTUSD", "type": "buy", "ordertype": "market", "volume": "0.5"})
    )["txid"]
    closed = ok(sim.private("ClosedOrders", {"trades": True}))["closed"][txid]
    assert closed["status"] == "closed" and closed["vol_exec"] == "0.50000000" and closed["trades"]
    balance = ok(sim.private("Balance"))
    assert balance["XXBT"] == "0.5000000000"
    # QueryTrades shows each fill; its price x vol is exact, the shown cost is rounded to the pair's places.
    fills = ok(sim.private("QueryTrades", {"txid": ",".join(closed["trades"])}))
    assert list(fills) == closed["trades"]
    assert {f["ordertxid"] for f in fills.values()} == {txid}
    assert {(f["pair"], f["type"], f["ordertype"]) for f in fills.values()} == {("XBTUSD", "buy", "market")}
    assert sum((D(f["vol"]) for f in fills.values()), D(0)) == D("0.5")
    cost = sum((D(f["price"]) * D(f["vol"]) for f in fills.values()), D(0))
    fee = sum((D(f["fee"]) for f in fills.values()), D(0))
    assert abs(cost - D(closed["cost"])) <= D("0.00005") and fee == D(closed["fee"])
    # The balance moved by exactly cost + fee, shown to the asset's 4 places.
    spent = D(100000) - D(balance["ZUSD"])
    assert abs(spent - (cost + fee)) <= D("0.00005")
    # An id that is not one of the account's fills is refused, as is asking for none.
    assert sim.private("QueryTrades", {"txid": "TNOTMINE-00000-000000"})["error"] == [
        "EGeneral:Invalid arguments:txid"
    ]
    assert sim.private("QueryTrades", {})["error"] == ["EGeneral:Invalid arguments:txid"]
