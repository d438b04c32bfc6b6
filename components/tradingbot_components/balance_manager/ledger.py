"""The balance ledger: every asset's total (kept current by the WS v2 `balances` channel), what open orders
hold (from `executions`), and the REST reconcile that checks both against `BalanceEx` and adopts it. Pure:
no I/O and no clock reads (times are passed in).

A reconcile is a read that takes time, and the feed keeps moving meanwhile. So the ledger stamps every WS
change; an asset the feed changed while `BalanceEx` was being read keeps its WS value (as new as REST's, or
newer) and is not compared. Of the rest, a figure that disagrees beyond dust is a *suspect* at first: not
adopted, read again shortly (`confirming=True`), and only then counted as drift and replaced by REST's.
That keeps a WS frame still in flight from passing for drift.

Holds are REST-anchored: `held = computed from open orders + correction`, where the correction
(`hold_trade - computed`, normally zero) is taken at each reconcile, so `BalanceEx.hold_trade` is the truth
at every reconcile and the open orders move it in between.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from tradingbot_components.balance_manager.assets import AssetNames, is_spot
from tradingbot_components.balance_manager.drift import Figure, Mismatch, compare, differences
from tradingbot_components.balance_manager.holds import OpenOrders, PairAssets
from tradingbot_components.clients.balances import AssetBalance, Balances

ZERO = Decimal(0)
SPOT = "spot"


class Source(enum.StrEnum):
    """Where the latest change to the served balances came from."""

    WS = "ws"
    REST = "rest"


@dataclass(frozen=True, slots=True)
class ExchangeBalance:
    """One `BalanceEx` entry."""

    balance: Decimal
    hold_trade: Decimal


class BadBalances(ValueError):
    """A `BalanceEx` result or a `balances` frame that cannot be read; the message says where."""


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise BadBalances(f"{where}: expected a decimal amount, got {value!r}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise BadBalances(f"{where}: expected a decimal amount, got {value!r}") from None
    if not number.is_finite():
        raise BadBalances(f"{where}: expected a finite amount, got {value!r}")
    return number


def parse_balance_ex(result: Any) -> dict[str, ExchangeBalance]:
    """`{"ZUSD": {"balance": "100.0000", "hold_trade": "1.0000"}, ...}` as exact values."""
    if not isinstance(result, Mapping):
        raise BadBalances(f"BalanceEx: expected an object, got {type(result).__name__}")
    parsed = {}
    for asset, entry in result.items():
        if not isinstance(entry, Mapping):
            raise BadBalances(f"BalanceEx.{asset}: expected an object, got {entry!r:.80}")
        parsed[str(asset)] = ExchangeBalance(
            _decimal(entry.get("balance"), f"BalanceEx.{asset}.balance"),
            _decimal(entry.get("hold_trade", "0"), f"BalanceEx.{asset}.hold_trade"),
        )
    return parsed


def spot_balance(entry: Mapping[str, Any]) -> Decimal:
    """A `balances` snapshot entry's spot balance: its `spot` wallets when it lists wallets (BalanceEx
    keys earn and staking wallets apart, e.g. `XBT.F`), else its `balance`."""
    asset = entry.get("asset")
    wallets = entry.get("wallets")
    if isinstance(wallets, list) and wallets:
        spot = [w for w in wallets if isinstance(w, Mapping) and w.get("type", SPOT) == SPOT]
        return sum((_decimal(w.get("balance"), f"balances.{asset}.wallets") for w in spot), ZERO)
    return _decimal(entry.get("balance"), f"balances.{asset}.balance")


@dataclass(frozen=True)
class ReconcileOutcome:
    at: float
    compared: bool  # the WS view was live through the read, so the figures were compared
    confirming: bool
    adopted: tuple[str, ...]  # assets whose total is now REST's
    kept: tuple[str, ...]  # assets the feed changed during the read: their WS value stands
    suspect: tuple[Mismatch, ...] = ()  # seen once: not adopted, to be read again
    drift: tuple[Mismatch, ...] = ()  # confirmed by a second read: REST adopted
    differences: Mapping[tuple[str, Figure], Decimal] = field(default_factory=dict)  # exchange - ours

    @property
    def result(self) -> str:
        return "drift" if self.drift else "suspect" if self.suspect else "ok"

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "result": self.result,
            "compared": self.compared,
            "confirming": self.confirming,
            "adopted": list(self.adopted),
            "kept": list(self.kept),
            "suspect": [m.to_dict() for m in self.suspect],
            "drift": [m.to_dict() for m in self.drift],
            "differences": {
                f"{asset}.{figure}": format(difference, "f")
                for (asset, figure), difference in self.differences.items()
            },
        }


class BalanceLedger:
    def __init__(
        self, names: AssetNames, pairs: Callable[[str], PairAssets | None], *, dust: Decimal
    ) -> None:
        self.names = names
        self.dust = dust
        self.orders = OpenOrders(pairs)
        self.totals: dict[str, Decimal] = {}
        self.correction: dict[str, Decimal] = {}
        self.reconciled_at: float | None = None
        self.updated_at: float | None = None
        self.source = Source.REST
        self._counter = 0
        self._total_stamp: dict[str, int] = {}  # asset -> counter value of its last WS total change
        self._hold_stamp: dict[str, int] = {}  # asset -> counter value of its last executions change

    # -- the WebSocket feed ------------------------------------------------------------------------

    def mark(self) -> int:
        """Taken before a REST read: `reconcile(since=mark)` knows what the feed changed meanwhile."""
        return self._counter

    def apply_balances(self, message: Mapping[str, Any], now: float) -> set[str]:
        """A `balances` frame (snapshot entries, or ledger rows carrying the balance after the change);
        the assets whose total changed. Raises `BadBalances` (nothing applied) for an unreadable frame."""
        data = message.get("data") or []
        snapshot = message.get("type") == "snapshot"
        changes: list[tuple[str, Decimal, str | None]] = []
        for entry in data:
            if not isinstance(entry, Mapping) or "asset" not in entry:
                raise BadBalances(f"balances: entry without an asset: {entry!r:.120}")
            if snapshot:
                changes.append((self.names.rest_id(str(entry["asset"])), spot_balance(entry), None))
            elif entry.get("wallet_type", SPOT) == SPOT:
                asset = self.names.rest_id(str(entry["asset"]))
                total = _decimal(entry.get("balance"), f"balances.{entry['asset']}.balance")
                changes.append((asset, total, str(entry.get("ref_id") or "") or None))
        if snapshot:
            self.orders.forget_unsettled()  # the snapshot's balances include every fill so far
        changed = set()
        for asset, total, ref_id in changes:
            self._counter += 1
            self._total_stamp[asset] = self._counter
            if ref_id is not None and self.orders.settle(ref_id, asset):
                self._hold_stamp[asset] = self._counter
            if self.totals.get(asset) != total:
                changed.add(asset)
            self.totals[asset] = total
        if changes:
            self._touched(now)
        return changed

    def apply_executions(self, message: Mapping[str, Any], now: float) -> set[str]:
        """An `executions` frame; the assets whose hold may have changed."""
        data = [e for e in message.get("data") or [] if isinstance(e, Mapping)]
        if message.get("type") == "snapshot":
            assets = self.orders.replace_all(data)
        else:
            assets = set()
            for entry in data:
                assets |= self.orders.apply(entry)
        self._counter += 1
        for asset in assets:
            self._hold_stamp[asset] = self._counter
        if assets:
            self._touched(now)
        return assets

    def _touched(self, now: float) -> None:
        self.source = Source.WS
        self.updated_at = now

    # -- reading -----------------------------------------------------------------------------------

    def held(self) -> dict[str, Decimal]:
        """Per asset: computed from the open orders, plus the REST correction, within [0, total]."""
        computed = self.orders.held(self.names.decimals)
        held = {}
        for asset in set(computed) | set(self.correction):
            value = computed.get(asset, ZERO) + self.correction.get(asset, ZERO)
            held[asset] = min(max(value, ZERO), max(self.totals.get(asset, ZERO), ZERO))
        return held

    def view(self) -> Balances:
        held = self.held()
        assets = {
            asset: AssetBalance(total, held.get(asset, self._zero(asset)))
            for asset, total in self.totals.items()
        }
        return Balances(assets, self.reconciled_at, str(self.source))

    def snapshot(self) -> dict[str, Decimal]:
        """The totals worth storing (storage keeps non-negative amounts)."""
        return {asset: total for asset, total in self.totals.items() if total >= 0}

    def _zero(self, asset: str) -> Decimal:
        places = self.names.decimals.get(asset)
        return ZERO if places is None else ZERO.quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN)

    # -- reconciling -------------------------------------------------------------------------------

    def reconcile(
        self,
        exchange: Mapping[str, ExchangeBalance],
        *,
        since: int,
        live: bool,
        confirming: bool,
        now: float,
    ) -> ReconcileOutcome:
        """Check the ledger against a `BalanceEx` read started at `mark() == since` and adopt it.

        `live`: the WS feed was synced for the whole read, so the ledger's figures are the feed's and are
        compared; otherwise REST is adopted without comparing (the feed could not have known better)."""
        for old, new in self.names.learn_keys(exchange).items():
            self._rename(old, new)
        universe = set(exchange) | set(self.totals) | set(self.correction)
        fresh_total = {a for a in universe if self._total_stamp.get(a, -1) > since}
        fresh_held = {a for a in universe if self._hold_stamp.get(a, -1) > since}
        ours_total, ours_held = dict(self.totals), self.held()
        theirs_total = {a: e.balance for a, e in exchange.items()}
        theirs_held = {a: e.hold_trade for a, e in exchange.items()}
        spot = {a for a in universe if is_spot(a)}
        mismatches: list[Mismatch] = []
        measured: dict[tuple[str, Figure], Decimal] = {}
        if live:
            for figure, ours, theirs, fresh in (
                (Figure.TOTAL, ours_total, theirs_total, fresh_total),
                (Figure.HELD, ours_held, theirs_held, fresh_held),
            ):
                assets = spot - fresh
                mismatches += compare(ours, theirs, assets, figure=figure, dust=self.dust)
                measured.update({(a, figure): d for a, d in differences(ours, theirs, assets).items()})
        suspect = () if confirming else tuple(mismatches)
        drift = tuple(mismatches) if confirming else ()
        withheld = {(m.asset, m.figure) for m in suspect}
        adopted = self._adopt_totals(exchange, universe - fresh_total, withheld)
        self._adopt_holds(exchange, universe - fresh_held, withheld)
        self.reconciled_at = now
        if not fresh_total and not fresh_held and not withheld:
            self.source = Source.REST
            self.updated_at = now
        return ReconcileOutcome(
            at=now,
            compared=live,
            confirming=confirming,
            adopted=tuple(sorted(adopted)),
            kept=tuple(sorted(fresh_total)),
            suspect=suspect,
            drift=drift,
            differences=measured,
        )

    def _adopt_totals(
        self,
        exchange: Mapping[str, ExchangeBalance],
        assets: Iterable[str],
        withheld: set[tuple[str, Figure]],
    ) -> list[str]:
        adopted = []
        for asset in assets:
            if (asset, Figure.TOTAL) in withheld:
                continue
            if asset in exchange:
                self.totals[asset] = exchange[asset].balance
            else:
                self.totals.pop(asset, None)
            adopted.append(asset)
        return adopted

    def _adopt_holds(
        self,
        exchange: Mapping[str, ExchangeBalance],
        assets: Iterable[str],
        withheld: set[tuple[str, Figure]],
    ) -> None:
        chosen = [a for a in assets if (a, Figure.HELD) not in withheld]
        # REST's balance and hold are one consistent read: a fill it shows needs no holding back.
        self.orders.forget_unsettled(chosen)
        computed = self.orders.held(self.names.decimals)
        for asset in chosen:
            if asset in exchange:
                self.correction[asset] = exchange[asset].hold_trade - computed.get(asset, ZERO)
            else:
                self.correction.pop(asset, None)

    def _rename(self, old: str, new: str) -> None:
        """A WS name kept under a guess turned out to be `new` in BalanceEx."""
        for book in (self.totals, self._total_stamp, self._hold_stamp, self.correction):
            if old in book:
                book[new] = book.pop(old)  # type: ignore[index]
