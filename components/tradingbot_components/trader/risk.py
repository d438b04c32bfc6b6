"""Pre-trade checks: what a `PlaceOrder` becomes once it meets the pair's rules, the position cap and the
available balance — an exact price and volume, or a refusal that says why. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tradingbot_components.clients.balances import Balances
from tradingbot_components.storage.models import Side
from tradingbot_components.strategy.api import Limits, PlaceOrder
from tradingbot_components.trading.positions import Holding
from tradingbot_components.trading.rules import PairRules

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Approved:
    pair: str
    side: Side
    volume: Decimal
    price: Decimal


@dataclass(frozen=True, slots=True)
class Refused:
    reason: str


def check_order(
    intent: PlaceOrder, rules: PairRules, holding: Holding, limits: Limits, balances: Balances | None
) -> Approved | Refused:
    if balances is None:
        return Refused("balances are unknown (balance-manager unreachable)")
    if intent.price <= 0:
        return Refused(f"price must be > 0, got {intent.price}")
    if intent.volume is not None and intent.volume <= 0:
        return Refused(f"volume must be > 0, got {intent.volume}")
    if intent.side is Side.BUY:
        return _buy(intent, rules, holding, limits, balances)
    return _sell(intent, rules, holding, balances)


def _buy(
    intent: PlaceOrder, rules: PairRules, holding: Holding, limits: Limits, balances: Balances
) -> Approved | Refused:
    price = rules.price_down(intent.price)
    if price <= 0:
        return Refused(f"price {intent.price} rounds to nothing at the pair's tick {rules.tick_size}")
    room = limits.max_position_size - max(holding.quantity, ZERO) * price
    if room <= 0:
        return Refused(
            f"position cap reached: holding {holding.quantity} at {price} is worth "
            f"{holding.quantity * price}, max_position_size is {limits.max_position_size}"
        )
    volume = room / price if intent.volume is None else min(intent.volume, room / price)
    available = balances.available(rules.quote)
    affordable = available / (price * (1 + rules.taker_fee))
    if affordable < volume:
        volume = affordable
    volume = rules.volume_down(volume)
    problem = rules.too_small(volume, price)
    if problem is not None:
        why = f" (available {rules.quote} {available})" if volume == rules.volume_down(affordable) else ""
        return Refused(f"{problem}{why}")
    return Approved(rules.pair, Side.BUY, volume, price)


def _sell(intent: PlaceOrder, rules: PairRules, holding: Holding, balances: Balances) -> Approved | Refused:
    price = rules.price_up(intent.price)
    wanted = intent.volume if intent.volume is not None else max(holding.quantity, ZERO)
    available = balances.available(rules.base)
    volume = rules.volume_down(min(wanted, available))
    if volume <= 0:
        return Refused(f"nothing to sell: holding {holding.quantity}, available {rules.base} {available}")
    problem = rules.too_small(volume, price)
    if problem is not None:
        return Refused(problem)
    return Approved(rules.pair, Side.SELL, volume, price)
