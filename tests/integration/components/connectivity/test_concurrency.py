"""Many callers at once through one gateway: every private request reaches the exchange in nonce order and
inside the rate budget, so the simulator (nonce window 0, Kraken's counters) rejects none of them."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tests.integration.components.connectivity.stack import Stack

CALLS = [
    ("Balance", {}),
    ("OpenOrders", {}),
    ("TradeBalance", {"asset": "ZUSD"}),
    (
        "AddOrder",
        {"pair": "XBTUSD", "type": "buy", "ordertype": "limit", "price": "1000.0", "volume": "0.01"},
    ),
]


def test_concurrent_private_calls_get_no_invalid_nonce_and_no_rate_limit(
    stack_factory: Callable[..., Stack],
) -> None:
    stack = stack_factory(tier="pro")
    work = [CALLS[n % len(CALLS)] for n in range(32)]  # 19.9 at once, the rest at 1 point/s: ~12 s
    with ThreadPoolExecutor(max_workers=16) as pool:
        replies = list(pool.map(lambda call: stack.private(*call), work))
    failures = [
        (call[0], reply.status, reply.body)
        for call, reply in zip(work, replies, strict=True)
        if reply.status != 200 or reply.json["error"]
    ]
    assert failures == []
    placed = [
        reply.json["result"]["txid"]
        for call, reply in zip(work, replies, strict=True)
        if call[0] == "AddOrder"
    ]
    assert len(placed) == 8 and all(placed)
    stats = stack.sim.stats()
    assert stats["nonce_rejections"] == 0
    assert stats["rate_limit_rejections"] == 0
    assert stats["orders"]["placed"] == 8
    assert stack.metric("tradingbot_gateway_retries_total", method="Balance", reason="refused_nonce") is None
