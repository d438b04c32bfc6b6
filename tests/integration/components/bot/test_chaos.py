"""Exchange chaos while the bot trades (issue 12 item 4): the whole bot as real processes, the built-in
strategy trading, and the simulator failing in every way it can at random moments for a bounded time
(unavailable, bare HTTP 5xx, latency past the gateway's timeout, lockout, throttling, injected rate-limit,
nonce and internal errors, dropped WebSockets, corrupt book checksums) while the market moves through the
strategy's exits. Once the faults clear the bot must trade again, and its books must be the exchange's:
no client order id placed twice, no order it does not know, balances, fills, positions and open orders
exactly as the simulator has them.

CI-sized by default; `pytest --chaos` (`make chaos`) runs the long form. The schedule comes from one seed,
printed with every run; `TRADINGBOT_CHAOS_SEED=<seed>` replays it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.components.bot.chaos_plan import ChaosLog, describe_plan, plan_chaos, play
from tests.integration.components.bot.harness import PAIR, Bot, dump, wait_for_orders
from tests.integration.components.bot.invariants import (
    ExchangeReader,
    ExchangeRecord,
    balance_problems,
    bot_problems,
    order_problems,
    position_problems,
)
from tests.support.waiting import WaitTimeout, settle, wait_until

D = Decimal
CI_SECONDS = 75.0
LONG_SECONDS = 600.0
BASE_ASSET, BASE_START = "XXBT", D("10")  # the simulator's default XBT balance
ACKNOWLEDGED = frozenset({"new", "partially_filled", "filled"})
TRADER_OUTCOMES = frozenset({"placed", "rejected", "not_sent", "unknown"})

CHAOS_BOT: dict[str, Any] = {
    # Exits 0.05% over the entry, so the random market moves fill some of them and the cycle repeats.
    "trading": {"profit_target": 0.0005},
    "trader_args": ("--strategy-param", "cooldown=1", "--strategy-param", "entry_timeout=5"),
    # More private calls for the faults to hit: the dead man's switch and the balance reconcile, often.
    "trader_env": {"TRADINGBOT_TRADER_DEAD_MAN_INTERVAL": "2"},
    "component_env": {"balance-manager": {"TRADINGBOT_BALANCE_MANAGER_RECONCILE_INTERVAL": "5"}},
    # Shorter than the longest injected latency (and than the orders' 5 s deadline): some AddOrders act at
    # the exchange after the gateway gave up on their answer.
    "gateway_env": {"TRADINGBOT_GATEWAY_REQUEST_TIMEOUT": "2"},
    # A quiet walk between the test's own moves, so the books can settle at the end.
    "sim_env": {"TRADINGBOT_SIM_VOLATILITY": "0.00001"},
}


@pytest.fixture
def chaos_seconds(request: pytest.FixtureRequest) -> float:
    """How long faults are injected: CI-sized, or the long form with `--chaos` (tests/conftest.py)."""
    return LONG_SECONDS if request.config.getoption("--chaos") else CI_SECONDS


def trader_outcomes(bot: Bot) -> set[str]:
    """The `outcome` labels of the trader's orders counter."""
    assert bot.trader is not None
    text = bot.trader.get("/metrics").body
    prefix = 'tradingbot_trader_orders_total{outcome="'
    return {line[len(prefix) :].partition('"}')[0] for line in text.splitlines() if line.startswith(prefix)}


def resting_sells(bot: Bot) -> list[Decimal]:
    return [
        D(o["price"])
        for o in bot.orders()
        if o["side"] == "sell" and o["status"] in ("new", "partially_filled")
    ]


def acknowledged_since(bot: Bot, moment: float) -> dict[str, Any] | None:
    """An order the trader sent after `moment` and the exchange acknowledged."""
    return next(
        (
            o
            for o in bot.orders()
            if o["created_at"] > moment and o["status"] in ACKNOWLEDGED and o["exchange_order_id"]
        ),
        None,
    )


def wait_for_trading_after(bot: Bot, moment: float, timeout: float) -> dict[str, Any]:
    """A new order acknowledged after `moment`. A resting exit from before it is filled by moving the
    market through it, so the strategy has a reason to place one."""
    pushed: set[str] = set()

    def probe() -> dict[str, Any] | None:
        found = acknowledged_since(bot, moment)
        if found is None:
            for order in bot.orders():
                if order["tag"] == "exit" and order["status"] == "new" and order["cl_ord_id"] not in pushed:
                    pushed.add(order["cl_ord_id"])
                    bot.sim.move_market(PAIR, str(D(order["price"]) + D("20")))
        return found

    return wait_until(probe, timeout=timeout, interval=0.5, what="a new order acknowledged after the faults")


def summary(seed: int, log: ChaosLog, bot: Bot, placed_before: int) -> str:
    stats = bot.sim.stats()
    faults = bot.sim.control("faults")
    orders = stats["orders"]
    return (
        f"seed {seed}: {log.seconds:.0f} s of chaos, {sum(log.faults.values())} faults "
        f"({dict(sorted(log.faults.items()))}), {faults['injected']} requests or book updates faulted, "
        f"{stats['ws']['dropped']} WebSockets dropped, {log.moves} market moves; orders placed "
        f"{orders.get('placed', 0)} ({orders.get('placed', 0) - placed_before} during the chaos), "
        f"filled {orders.get('filled', 0)}, canceled {orders.get('canceled', 0)}, "
        f"refused {orders.get('rejected', 0)}; errors answered {stats['errors']}"
    )


@pytest.mark.timeout(1200)  # the long form: 600 s of chaos, then recovery and the checks
def test_exchange_chaos_while_trading_loses_and_duplicates_nothing(
    bot_factory: Callable[..., Bot], chaos_seconds: float, seed: int
) -> None:
    steps = plan_chaos(random.Random(seed), chaos_seconds)
    bot = bot_factory(**CHAOS_BOT)
    wait_for_orders(bot, lambda o: any(x["status"] in ACKNOWLEDGED for x in o), what="the first order")
    placed_before = int(bot.sim.stats()["orders"].get("placed", 0))

    log = play(bot.sim, PAIR, steps, chaos_seconds, lambda: resting_sells(bot))
    cleared_at = time.time()
    context = f"seed {seed} (replay with TRADINGBOT_CHAOS_SEED={seed}); schedule:\n{describe_plan(steps)}"
    reader = ExchangeReader(bot)
    try:
        recovered = wait_for_trading_after(bot, cleared_at, timeout=90)
        # The market stays put from here on: the books must settle on the exchange's.
        settle(
            lambda: bot_problems(reader, base_asset=BASE_ASSET, base_start=BASE_START),
            timeout=90,
            interval=5.0,
            what="the bot's books to equal the exchange's",
        )
    except WaitTimeout as exc:
        raise AssertionError(f"{exc}\n{context}\n{dump(bot)}") from None
    report = summary(seed, log, bot, placed_before)
    print(report)
    assert recovered["cl_ord_id"] in {o.get("cl_ord_id") for o in bot.sim_orders().values()}, report
    # The chaos did what it is for: faults reached the bot's requests while it kept placing orders.
    assert bot.sim.control("faults")["injected"] > 0, report
    assert int(bot.sim.stats()["orders"].get("placed", 0)) - placed_before >= 2, report
    assert trader_outcomes(bot) <= TRADER_OUTCOMES, f"{trader_outcomes(bot)}\n{report}"


def test_the_checks_catch_a_duplicate_an_unknown_order_a_lost_fill_and_a_wrong_balance() -> None:
    """The invariants can fail: each defect they exist for, planted in otherwise agreeing records."""
    order = {"cl_ord_id": "c1", "status": "closed", "vol": "0.002", "vol_exec": "0.002", "trades": ["T1"]}
    trade = {"trade_id": "T1", "time": 1.0, "type": "buy", "price": "60000.0", "vol": "0.002", "fee": "0.48"}
    exchange = ExchangeRecord(
        orders={"O1": order, "O2": {**order, "trades": []}, "O3": {**order, "cl_ord_id": "stranger"}},
        open={},
        trades={"T1": trade},
        balances={
            "XXBT": {"balance": "10.0020000000", "hold_trade": "0"},
            "ZUSD": {"balance": "1", "hold_trade": "0"},
        },
        placed=3,
    )
    stored = [{"client_order_id": "c1", "exchange_order_id": "O1", "status": "filled"}]
    problems = order_problems(exchange, stored)
    assert any(p.startswith("DUPLICATE: cl_ord_id c1 placed 2 times") for p in problems), problems
    assert any(p.startswith("UNKNOWN ORDER: O3 (stranger") for p in problems), problems

    served = {
        "balances": {"XXBT": {"total": "10.002", "held": "0"}, "ZUSD": {"total": "1.0001", "held": "0"}}
    }
    assert balance_problems(exchange, served) == [
        "ZUSD: balance-manager total 1.0001 held 0, BalanceEx balance 1 hold_trade 0"
    ]

    positions = {"fills": 0, "positions": []}
    problems = position_problems(exchange, positions, [], {}, "XXBT", D("10"))
    assert any("only at the exchange ['T1']" in p for p in problems), problems
    assert any(p.startswith("portfolio applied 0 fills") for p in problems), problems
