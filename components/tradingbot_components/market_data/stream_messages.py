"""The internal `/stream` protocol: what subscribers send, and the JSON messages they receive.

A client sends `{"subscribe": ["book", "ticker", "trade"], "pairs": ["XBT/USD"]}` (pairs default to all);
it gets `subscribed`, then a `snapshot` per channel and pair, then `update`s, plus `resync`, `gap` and
`dropped` notices. Prices and quantities are decimal strings, exactly as Kraken sent them.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tradingbot_components.kraken.book import OrderBook, PriceLevel
from tradingbot_components.market_data.market import Gap, Ticker, Trade
from tradingbot_components.market_data.symbols import ws_symbol


class Channel(enum.StrEnum):
    BOOK = "book"
    TICKER = "ticker"
    TRADE = "trade"


class MessageType(enum.StrEnum):
    SUBSCRIBED = "subscribed"
    SNAPSHOT = "snapshot"
    UPDATE = "update"
    RESYNC = "resync"  # the pair's book is not valid any more (reason says why); a snapshot follows
    GAP = "gap"  # the pair is valid again after `seconds` without a valid book
    DROPPED = "dropped"  # this client was too slow and lost `count` messages so far (oldest first)
    ERROR = "error"


class StreamSink(Protocol):
    """Where market data publishes; `wants` lets it skip rendering what nobody reads."""

    def wants(self, channel: Channel, pair: str) -> bool: ...

    def publish(self, channel: Channel | None, pair: str, message: Mapping[str, Any]) -> None:
        """`channel=None`: a notice for every subscriber of `pair`, whatever its channels."""


class NullSink:
    """No subscribers."""

    def wants(self, channel: Channel, pair: str) -> bool:
        return False

    def publish(self, channel: Channel | None, pair: str, message: Mapping[str, Any]) -> None:
        return None


class BadSubscription(ValueError):
    """A subscribe request that cannot be served; the message names the field and the reason."""


@dataclass(frozen=True)
class Subscription:
    channels: frozenset[Channel]
    pairs: tuple[str, ...]  # configured pair names, in config order


def parse_subscription(request: Any, configured: Collection[str]) -> Subscription:
    """Validate a client's request against the configured pairs (either spelling: XBT/USD or BTC/USD)."""
    if not isinstance(request, Mapping) or "subscribe" not in request:
        raise BadSubscription('expected {"subscribe": ["book", "ticker", "trade"], "pairs": [...]}')
    wanted = request["subscribe"]
    if not isinstance(wanted, list) or not wanted:
        raise BadSubscription("subscribe: expected a non-empty list of channels")
    channels: set[Channel] = set()
    for index, name in enumerate(wanted):
        try:
            channels.add(Channel(name))
        except ValueError:
            known = ", ".join(c.value for c in Channel)
            raise BadSubscription(f"subscribe[{index}]: unknown channel {name!r} (known: {known})") from None
    by_symbol = {ws_symbol(pair): pair for pair in configured}
    raw_pairs = request.get("pairs")
    if raw_pairs is None:
        return Subscription(frozenset(channels), tuple(configured))
    if not isinstance(raw_pairs, list) or not raw_pairs:
        raise BadSubscription("pairs: expected a non-empty list of pairs, or leave it out for all pairs")
    pairs: list[str] = []
    for index, name in enumerate(raw_pairs):
        pair = by_symbol.get(ws_symbol(name)) if isinstance(name, str) else None
        if pair is None:
            raise BadSubscription(
                f"pairs[{index}]: {name!r} is not a configured pair (configured: {', '.join(configured)})"
            )
        if pair not in pairs:
            pairs.append(pair)
    return Subscription(frozenset(channels), tuple(pairs))


def _levels(levels: Iterable[PriceLevel]) -> list[list[str]]:
    return [[str(price), str(qty)] for price, qty in levels]


def book_message(
    kind: MessageType, pair: str, symbol: str, state: str, book: OrderBook | None, checksum: int | None
) -> dict[str, Any]:
    """Top of book and every level we keep (the subscribed depth), complete in each message, so a client
    that lost messages is whole again with the next one."""
    bids = book.bids() if book is not None else []
    asks = book.asks() if book is not None else []
    return {
        "type": kind.value,
        "channel": "book",
        "pair": pair,
        "symbol": symbol,
        "state": state,
        "best_bid": _levels(bids[:1])[0] if bids else None,
        "best_ask": _levels(asks[:1])[0] if asks else None,
        "bids": _levels(bids),
        "asks": _levels(asks),
        "checksum": checksum,
    }


def ticker_message(kind: MessageType, pair: str, ticker: Ticker | None) -> dict[str, Any]:
    return {
        "type": kind.value,
        "channel": "ticker",
        "pair": pair,
        "symbol": ws_symbol(pair),
        "ticker": ticker.to_dict() if ticker is not None else None,
    }


def trades_message(kind: MessageType, pair: str, trades: Iterable[Trade]) -> dict[str, Any]:
    return {
        "type": kind.value,
        "channel": "trade",
        "pair": pair,
        "symbol": ws_symbol(pair),
        "trades": [trade.to_dict() for trade in trades],
    }


def resync_notice(pair: str, reason: str, detail: str | None = None) -> dict[str, Any]:
    return {
        "type": MessageType.RESYNC.value,
        "pair": pair,
        "symbol": ws_symbol(pair),
        "reason": reason,
        "detail": detail,
    }


def gap_notice(gap: Gap) -> dict[str, Any]:
    return {"type": MessageType.GAP.value, **gap.to_dict()}


def subscribed_message(subscription: Subscription) -> dict[str, Any]:
    return {
        "type": MessageType.SUBSCRIBED.value,
        "channels": sorted(c.value for c in subscription.channels),
        "pairs": list(subscription.pairs),
    }


def dropped_notice(count: int) -> dict[str, Any]:
    return {"type": MessageType.DROPPED.value, "count": count}


def error_message(message: str) -> dict[str, Any]:
    return {"type": MessageType.ERROR.value, "message": message}
