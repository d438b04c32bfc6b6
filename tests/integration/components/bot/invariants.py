"""What must hold between the bot and the exchange once faults stop, as lists of problems (empty when all
is well) so a test can poll them with a deadline (`waiting.settle`) and report what is still wrong.

The reference is always the simulator's own record, read through the bot's gateway (the only holder of the
key's nonce): every order it ever accepted, its open orders, its fills (`QueryTrades`) and `BalanceEx`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tests.integration.components.bot.harness import SYMBOL, Bot
from tests.integration.components.process import request
from tradingbot_components.trading.positions import Holding, apply_fill

D = Decimal
QUERY_TRADES_MAX = 20  # ids per QueryTrades call
STORAGE_PAGE = 1000
OPEN_STATUSES = frozenset({"pending", "new", "partially_filled"})


class Unreadable(Exception):
    """The exchange (through the gateway) or a component could not be read just now."""


@dataclass(frozen=True)
class ExchangeRecord:
    """The account as the simulator keeps it."""

    orders: dict[str, dict[str, Any]]  # every order ever accepted, open and closed, by txid
    open: dict[str, dict[str, Any]]  # OpenOrders
    trades: dict[str, dict[str, Any]]  # every fill, by trade id (QueryTrades)
    balances: dict[str, dict[str, str]]  # BalanceEx
    placed: int  # the simulator's own count of accepted orders (/_sim/stats)


def _private(bot: Bot, method: str, params: Mapping[str, Any] | None = None) -> Any:
    reply = bot.stack.private(method, params)
    if reply.status != 200 or not isinstance(reply.body, dict) or reply.body.get("error"):
        raise Unreadable(f"{method} through the gateway: HTTP {reply.status} {str(reply.body)[:200]}")
    return reply.body["result"]


def _get(url: str, *, statuses: tuple[int, ...] = (200,)) -> dict[str, Any]:
    reply = request(url)
    if reply.status not in statuses or not isinstance(reply.body, dict):
        raise Unreadable(f"GET {url}: HTTP {reply.status} {str(reply.body)[:200]}")
    return reply.json


def activity(bot: Bot) -> tuple[Any, ...]:
    """What moves whenever the account's orders or balances can have changed, from the simulator's control
    plane (free: no API key, no rate counter). A fill changes an order's state, so it shows here too."""
    stats = bot.sim.stats()
    requests = stats["requests"]
    methods = ("AddOrder", "CancelOrder", "CancelAll", "ws:add_order", "ws:cancel_order", "ws:cancel_all")
    return (tuple(sorted(stats["orders"].items())), tuple(requests.get(m, 0) for m in methods))


class ExchangeReader:
    """Reads the account through the gateway as cheaply as the REST counter needs: closed orders and fills
    never change, so only new ones are fetched, and nothing is read again while `activity` stands still
    (the checks poll for a minute or more, and every point they spend is one the bot waits for)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.closed: dict[str, dict[str, Any]] = {}
        self.trades: dict[str, dict[str, Any]] = {}
        self.last: tuple[tuple[Any, ...], ExchangeRecord] | None = None

    def read(self) -> ExchangeRecord:
        seen = activity(self.bot)
        if self.last is not None and self.last[0] == seen:
            return self.last[1]
        bot = self.bot
        open_ = dict(_private(bot, "OpenOrders", {"trades": True})["open"])
        # Newest close first, and closed orders are final: stop at the first page that reaches known ones.
        offset = 0
        while True:
            page = _private(bot, "ClosedOrders", {"trades": True, "ofs": offset})
            known = any(txid in self.closed for txid in page["closed"])
            self.closed.update(page["closed"])
            offset += len(page["closed"])
            if known or offset >= int(page["count"]) or not page["closed"]:
                break
        orders = {**self.closed, **open_}
        wanted = sorted({t for o in orders.values() for t in o.get("trades") or []} - set(self.trades))
        for start in range(0, len(wanted), QUERY_TRADES_MAX):
            chunk = wanted[start : start + QUERY_TRADES_MAX]
            self.trades.update(_private(bot, "QueryTrades", {"txid": ",".join(chunk)}))
        balances = dict(_private(bot, "BalanceEx"))
        placed = int(dict(seen[0]).get("placed", 0))
        record = ExchangeRecord(orders, open_, dict(self.trades), balances, placed)
        self.last = (seen, record)
        return record


def stored_orders(bot: Bot) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = _get(bot.stack.storage.url(f"/v1/orders?limit={STORAGE_PAGE}"))["orders"]
    return orders


def stored_fills(bot: Bot) -> list[dict[str, Any]]:
    fills: list[dict[str, Any]] = []
    while True:
        url = bot.stack.storage.url(f"/v1/fills?limit={STORAGE_PAGE}&offset={len(fills)}")
        page = _get(url)["fills"]
        fills += page
        if len(page) < STORAGE_PAGE:
            return fills


# -- the invariants ----------------------------------------------------------------------------------


def expected_status(order: Mapping[str, Any]) -> str:
    """The trader's word for an order the exchange shows (`STATUS_OF_REST`, with partial fills)."""
    status, filled = str(order["status"]), D(order["vol_exec"])
    if status in ("open", "pending"):
        return "partially_filled" if filled > 0 else "new"
    if status == "closed" or (status == "canceled" and filled >= D(order["vol"])):
        return "filled"
    return status  # canceled, expired


def order_problems(exchange: ExchangeRecord, stored: list[dict[str, Any]]) -> list[str]:
    """Each client order id placed at most once; every order at the exchange is the bot's, recorded with
    its txid and status; every order the bot recorded as sent exists there."""
    problems = []
    by_client_id: dict[str, list[str]] = defaultdict(list)
    for txid, order in exchange.orders.items():
        by_client_id[str(order.get("cl_ord_id") or "")].append(txid)
    for cl_ord_id, txids in sorted(by_client_id.items()):
        if not cl_ord_id:
            problems.append(f"orders without a cl_ord_id at the exchange: {sorted(txids)}")
        elif len(txids) > 1:
            problems.append(f"DUPLICATE: cl_ord_id {cl_ord_id} placed {len(txids)} times: {sorted(txids)}")
    if exchange.placed != len(exchange.orders):
        problems.append(
            f"the simulator counts {exchange.placed} orders placed but lists {len(exchange.orders)}"
        )
    if len(stored) >= STORAGE_PAGE:
        problems.append(f"storage lists {len(stored)} orders: more than one page, the check cannot see all")
    mine = {o["client_order_id"]: o for o in stored}
    for txid, order in sorted(exchange.orders.items()):
        cl_ord_id = order.get("cl_ord_id")
        record = mine.get(str(cl_ord_id))
        if record is None:
            problems.append(
                f"UNKNOWN ORDER: {txid} ({cl_ord_id}, {order['status']}) is not in the trader's storage"
            )
            continue
        if record["exchange_order_id"] != txid:
            problems.append(
                f"{cl_ord_id}: storage has txid {record['exchange_order_id']}, the exchange {txid}"
            )
        if record["status"] != expected_status(order):
            problems.append(
                f"{cl_ord_id} ({txid}): storage says {record['status']}, the exchange {order['status']} "
                f"({order['vol_exec']} of {order['vol']} filled)"
            )
    at_exchange = {str(o.get("cl_ord_id")) for o in exchange.orders.values()}
    for record in stored:
        cl_ord_id, status = record["client_order_id"], record["status"]
        if status == "pending":
            problems.append(f"{cl_ord_id} is still pending in storage (its outcome was never settled)")
        elif status != "rejected" and cl_ord_id not in at_exchange:
            problems.append(
                f"LOST ORDER: storage has {cl_ord_id} as {status}, the exchange has no such order"
            )
    return problems


def open_order_problems(exchange: ExchangeRecord, trader_orders: list[dict[str, Any]]) -> list[str]:
    theirs = {str(o.get("cl_ord_id")) for o in exchange.open.values()}
    mine = {o["cl_ord_id"] for o in trader_orders if o["status"] in OPEN_STATUSES}
    if theirs == mine:
        return []
    return [
        f"open orders differ: only at the exchange {sorted(theirs - mine)}, only in the trader {sorted(mine - theirs)}"
    ]


def balance_problems(exchange: ExchangeRecord, served: Mapping[str, Any]) -> list[str]:
    """balance-manager's totals and holds equal `BalanceEx`'s balance and hold_trade, exactly."""
    problems = []
    mine = served["balances"]
    for asset in sorted(set(exchange.balances) | set(mine)):
        truth, own = exchange.balances.get(asset), mine.get(asset)
        if truth is None or own is None:
            problems.append(f"{asset}: BalanceEx {truth}, balance-manager {own}")
            continue
        if D(own["total"]) != D(truth["balance"]) or D(own["held"]) != D(truth.get("hold_trade", "0")):
            problems.append(
                f"{asset}: balance-manager total {own['total']} held {own['held']}, "
                f"BalanceEx balance {truth['balance']} hold_trade {truth.get('hold_trade')}"
            )
    return problems


def holding_from(trades: Mapping[str, Mapping[str, Any]]) -> tuple[Holding, int]:
    """The position the exchange's fills make, by the documented rule, oldest first; and how many fills."""
    holding = Holding()
    for trade in sorted(trades.values(), key=lambda t: (D(str(t["time"])), str(t["trade_id"]))):
        holding = apply_fill(holding, str(trade["type"]), D(trade["vol"]), D(trade["price"]), D(trade["fee"]))
    return holding, len(trades)


def position_problems(
    exchange: ExchangeRecord,
    positions: Mapping[str, Any],
    fills: list[dict[str, Any]],
    trader_holdings: Mapping[str, Any],
    base_asset: str,
    base_start: Decimal,
) -> list[str]:
    """portfolio's fills are the exchange's fills, its position the one they make (exactly); the trader's
    holding is the same quantity; and the exchange agrees with itself (fills vs BalanceEx)."""
    problems = []
    expected, count = holding_from(exchange.trades)
    moved = D(exchange.balances[base_asset]["balance"]) - base_start
    if expected.quantity != moved:
        problems.append(f"the exchange's fills add up to {expected.quantity}, its {base_asset} moved {moved}")
    theirs = {
        trade_id: (t["type"], D(t["price"]), D(t["vol"]), D(t["fee"]))
        for trade_id, t in exchange.trades.items()
    }
    mine = {f["fill_id"]: (f["side"], D(f["price"]), D(f["volume"]), D(f["fee"])) for f in fills}
    if set(theirs) != set(mine):
        problems.append(
            f"fills: only at the exchange {sorted(set(theirs) - set(mine))}, "
            f"only in portfolio's storage {sorted(set(mine) - set(theirs))}"
        )
    problems += [
        f"fill {trade_id}: exchange {theirs[trade_id]}, portfolio {mine[trade_id]}"
        for trade_id in sorted(set(theirs) & set(mine))
        if theirs[trade_id] != mine[trade_id]
    ]
    if positions["fills"] != count:
        problems.append(f"portfolio applied {positions['fills']} fills, the exchange made {count}")
    position = next((p for p in positions["positions"] if p["pair"] == SYMBOL), None)
    got = (
        (D(0), D(0), D(0))
        if position is None
        else (D(position["quantity"]), D(position["average_price"]), D(position["realized_pnl"]))
    )
    want = (expected.quantity, expected.average_price, expected.realized_pnl)
    if got != want:
        problems.append(
            f"portfolio {SYMBOL} (quantity, average, realized) {got}, the exchange's fills {want}"
        )
    held = D(str((trader_holdings.get(SYMBOL) or {}).get("quantity", "0")))
    if held != expected.quantity:
        problems.append(f"the trader holds {held} {SYMBOL}, the exchange's fills {expected.quantity}")
    return problems


def process_problems(bot: Bot) -> list[str]:
    return [
        f"{name} exited with {process.process.returncode}"
        for name, process in bot.processes().items()
        if process.process.poll() is not None
    ]


def bot_problems(reader: ExchangeReader, *, base_asset: str, base_start: Decimal) -> list[str]:
    """Every invariant at once, from one read of the exchange and of each component, taken while the
    account did not change (otherwise the bot's later reads could see what the exchange read missed)."""
    bot = reader.bot
    problems = process_problems(bot)
    if problems:
        return problems
    try:
        before = activity(bot)
        exchange = reader.read()
        stored = stored_orders(bot)
        trader = bot.trader
        assert trader is not None
        trader_orders = _get(trader.url("/orders"))["orders"]
        holdings = _get(trader.url("/healthz"), statuses=(200, 503))["trader"]["holdings"]
        served = _get(bot.balance_manager.url("/balances"))
        positions = _get(bot.portfolio.url("/positions"))
        fills = stored_fills(bot)
    except Unreadable as exc:
        return [f"not readable yet: {exc}"]
    if activity(bot) != before:
        return ["the account changed while it was being read; reading again"]
    return [
        *order_problems(exchange, stored),
        *open_order_problems(exchange, trader_orders),
        *balance_problems(exchange, served),
        *position_problems(exchange, positions, fills, holdings, base_asset, base_start),
    ]
