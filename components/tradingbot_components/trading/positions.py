"""A position in one pair, kept from fills: weighted-average cost while the position grows, realized P&L
when it shrinks. Pure and exact (Decimal); the trader and portfolio apply fills with the same rule.

A long position's average is the volume-weighted price of the buys that built it; a sell realizes
`(price - average) * quantity - fee`. Selling more than is held flips to a short whose average is the sell
price (and symmetrically for buys against a short). Fees are in the quote currency and reduce realized P&L.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Holding:
    quantity: Decimal = ZERO  # > 0 long, < 0 short, in the base currency
    average_price: Decimal = ZERO  # of the open quantity; 0 when flat
    realized_pnl: Decimal = ZERO  # in the quote currency, fees included
    fees: Decimal = ZERO

    def unrealized(self, market_price: Decimal) -> Decimal:
        return (market_price - self.average_price) * self.quantity


def apply_fill(
    holding: Holding, side: str, quantity: Decimal, price: Decimal, fee: Decimal = ZERO
) -> Holding:
    """The holding after one fill (`side` is "buy" or "sell"; quantity > 0)."""
    if quantity <= 0:
        raise ValueError(f"a fill's quantity must be > 0, got {quantity}")
    signed = quantity if side == "buy" else -quantity
    held = holding.quantity
    realized = holding.realized_pnl - fee
    if held == 0 or (held > 0) == (signed > 0):  # opening or growing
        total = held + signed
        average = (holding.average_price * abs(held) + price * quantity) / abs(total)
        return Holding(total, average, realized, holding.fees + fee)
    closing = min(abs(held), quantity)
    direction = Decimal(1) if held > 0 else Decimal(-1)
    realized += (price - holding.average_price) * closing * direction
    remaining = held + signed
    if remaining == 0:
        return Holding(ZERO, ZERO, realized, holding.fees + fee)
    if (remaining > 0) == (held > 0):  # reduced, same side: the average of what is left is unchanged
        return Holding(remaining, holding.average_price, realized, holding.fees + fee)
    return Holding(remaining, price, realized, holding.fees + fee)  # flipped: the rest opened at `price`
