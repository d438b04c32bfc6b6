"""The account's positions as a pure function of the fills seen: one `Holding` per pair, each fill applied
once by its id (Kraken's `exec_id`), whatever order of replays and duplicates the fills arrive in.

The rule for one fill is the one the trader uses too (`trading.positions.apply_fill`): weighted average cost
while a position grows, `(price - average) * quantity` realized when it shrinks, a flip to the other side at
the fill price when a sell exceeds what is held (a short; symmetrically for buys), and the average reset to
0 when the quantity is exactly 0. Fees reduce realized P&L in the quote currency: a fee charged in the base
asset is valued at the fill's own price; a fee in any other asset cannot be valued from the fill and is
kept apart (`unvalued_fees`). No I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal

from tradingbot_components.market_data.symbols import ws_symbol
from tradingbot_components.storage.models import Fill, Side
from tradingbot_components.trading.positions import ZERO, Holding, apply_fill


def ws_asset(code: str) -> str:
    """An asset code in WS v2 spelling (`XBT` -> `BTC`), as `ws_symbol` spells pairs."""
    return ws_symbol(f"{code}/{code}").partition("/")[0]


def fee_in_quote(fill: Fill) -> Decimal | None:
    """The fill's fee in its pair's quote currency: as it is when charged in the quote (or in no named
    asset), at the fill price when charged in the base; None for any other asset."""
    if not fill.fee:
        return ZERO
    base, _, quote = ws_symbol(fill.pair).partition("/")
    asset = None if fill.fee_currency is None else ws_asset(fill.fee_currency)
    if asset is None or asset == quote:
        return fill.fee
    if asset == base:
        return fill.fee * fill.price
    return None


class PositionBook:
    """Holdings by pair (WS v2 spelling) built from fills; `apply` is idempotent by `fill_id`."""

    def __init__(self) -> None:
        self._holdings: dict[str, Holding] = {}
        self._seen: set[str] = set()
        self.last_fill_at: datetime | None = None
        self.unvalued_fees: dict[str, Decimal] = {}  # asset -> fees that could not be put in quote terms

    @classmethod
    def replay(cls, fills: Iterable[Fill]) -> PositionBook:
        """A book of `fills` applied in the order given (storage gives them oldest first)."""
        book = cls()
        for fill in fills:
            book.apply(fill)
        return book

    @property
    def fills(self) -> int:
        """How many distinct fills the book holds."""
        return len(self._seen)

    @property
    def holdings(self) -> Mapping[str, Holding]:
        return dict(self._holdings)

    @property
    def realized_pnl(self) -> Decimal:
        return sum((h.realized_pnl for h in self._holdings.values()), ZERO)

    def knows(self, fill_id: str) -> bool:
        return fill_id in self._seen

    def holding(self, pair: str) -> Holding:
        return self._holdings.get(ws_symbol(pair)) or Holding()

    def apply(self, fill: Fill) -> bool:
        """Apply `fill` unless its id was applied before; True when it changed the book. Raises
        `ValueError` for a fill that cannot be one (side, quantity or price), leaving the book unchanged."""
        if fill.fill_id in self._seen:
            return False
        if fill.side not in (Side.BUY, Side.SELL):
            raise ValueError(f"fill {fill.fill_id}: side must be buy or sell, got {fill.side!r}")
        if not fill.price > 0:
            raise ValueError(f"fill {fill.fill_id}: price must be > 0, got {fill.price}")
        pair = ws_symbol(fill.pair)
        fee = fee_in_quote(fill)
        holding = apply_fill(self.holding(pair), str(fill.side), fill.volume, fill.price, fee or ZERO)
        if fee is None:
            asset = ws_asset(str(fill.fee_currency))
            self.unvalued_fees[asset] = self.unvalued_fees.get(asset, ZERO) + fill.fee
        self._holdings[pair] = holding
        self._seen.add(fill.fill_id)
        if self.last_fill_at is None or fill.executed_at > self.last_fill_at:
            self.last_fill_at = fill.executed_at
        return True
