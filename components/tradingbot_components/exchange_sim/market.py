"""The simulated market of one pair: a fair price on a random walk and a book of resting simulated
liquidity at the pair's precision, plus the quantity of the account's own resting orders at each level.

Pure and seeded: `step()` moves the market (levels the fair price passes are traded through, a few
levels change, gaps near the touch and the tail are refilled) and returns what traded. Prices are whole
ticks and quantities whole lots, so every number is exact at the pair's precision.
"""

from __future__ import annotations

import enum
import math
import random
from bisect import bisect_left, insort
from dataclasses import dataclass

from tradingbot_components.exchange_sim.catalog import PairSpec


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


@dataclass(frozen=True, slots=True)
class MarketParams:
    levels: int = 1000  # resting levels kept per side
    volatility: float = 0.00003  # standard deviation of one step's relative move
    reversion: float = 0.0005  # pull of each step back towards the base price
    churn: int = 3  # levels changed per side per step
    churn_window: int = 25  # ... chosen among this many best levels


@dataclass(frozen=True, slots=True)
class Consumed:
    """A level the market traded through: `side` is the resting side, `user` the account's share."""

    side: Side
    ticks: int
    sim_lots: int
    user_lots: int


class BookSide:
    """One side of the book: levels sorted best first, each with simulated and user quantities."""

    __slots__ = ("_keys", "bids", "sim", "user")

    def __init__(self, bids: bool) -> None:
        self.bids = bids
        self._keys: list[int] = []  # best first ascending: -ticks for bids, ticks for asks
        self.sim: dict[int, int] = {}
        self.user: dict[int, int] = {}

    def _key(self, ticks: int) -> int:
        return -ticks if self.bids else ticks

    def __len__(self) -> int:
        return len(self._keys)

    def prices(self, count: int | None = None) -> list[int]:
        keys = self._keys if count is None else self._keys[:count]
        return [-key if self.bids else key for key in keys]

    def best(self) -> int | None:
        return self.prices(1)[0] if self._keys else None

    def worst(self) -> int | None:
        if not self._keys:
            return None
        key = self._keys[-1]
        return -key if self.bids else key

    def total(self, ticks: int) -> int:
        return self.sim.get(ticks, 0) + self.user.get(ticks, 0)

    def top(self, count: int | None = None) -> list[tuple[int, int]]:
        return [(ticks, self.total(ticks)) for ticks in self.prices(count)]

    def _touch(self, ticks: int) -> None:
        present = ticks in self.sim or ticks in self.user
        key = self._key(ticks)
        index = bisect_left(self._keys, key)
        listed = index < len(self._keys) and self._keys[index] == key
        if present and not listed:
            insort(self._keys, key)
        elif listed and not present:
            del self._keys[index]

    def set_sim(self, ticks: int, lots: int) -> None:
        if lots > 0:
            self.sim[ticks] = lots
        else:
            self.sim.pop(ticks, None)
        self._touch(ticks)

    def add_user(self, ticks: int, lots: int) -> None:
        left = self.user.get(ticks, 0) + lots
        if left > 0:
            self.user[ticks] = left
        else:
            self.user.pop(ticks, None)
        self._touch(ticks)

    def crossed_by(self, fair: int) -> list[int]:
        """Levels at or through `fair` (bids >= fair, asks <= fair), best first."""
        out: list[int] = []
        for ticks in self.prices():
            if (self.bids and ticks >= fair) or (not self.bids and ticks <= fair):
                out.append(ticks)
            else:
                break
        return out

    def remove(self, ticks: int) -> None:
        self.sim.pop(ticks, None)
        self.user.pop(ticks, None)
        self._touch(ticks)


class SimulatedMarket:
    """One pair's market. `rng` makes it deterministic for a seed."""

    def __init__(self, pair: PairSpec, rng: random.Random, params: MarketParams | None = None) -> None:
        self.pair = pair
        self.rng = rng
        self.params = params or MarketParams()
        self.base = max(1, pair.to_ticks(pair.base_price))
        self.fair = self.base
        self.bids = BookSide(bids=True)
        self.asks = BookSide(bids=False)
        self._spacing = max(1, round(self.base * 1e-6))
        self._min_lots = max(1, pair.to_lots(pair.ordermin))
        self._refill()

    def side(self, side: Side) -> BookSide:
        """The resting side a `side` order joins (bids for buys)."""
        return self.bids if side is Side.BUY else self.asks

    def best_bid(self) -> int | None:
        return self.bids.best()

    def best_ask(self) -> int | None:
        return self.asks.best()

    # -- random pieces -----------------------------------------------------------------------------

    def _lots(self) -> int:
        # Lognormal order sizes around a few thousand USD worth, never under ordermin.
        value = math.exp(self.rng.gauss(math.log(3000), 1.2))
        qty = value / float(self.pair.base.usd_price)
        return max(self._min_lots, int(qty * 10**self.pair.lot_decimals))

    def _gap(self) -> int:
        return self.rng.randint(1, 3) * self._spacing

    # -- the step ---------------------------------------------------------------------------------

    def walk(self) -> int:
        """Move the fair price one step; it stays at least one tick."""
        p = self.params
        drift = -p.reversion * (self.fair - self.base)
        move = self.rng.gauss(0.0, p.volatility * self.fair)
        self.fair = max(1, self.fair + round(drift + move))
        return self.fair

    def consume_crossed(self) -> list[Consumed]:
        """Trade through every level the fair price reached; the account's orders there fill."""
        consumed: list[Consumed] = []
        for book, side in ((self.asks, Side.SELL), (self.bids, Side.BUY)):
            for ticks in book.crossed_by(self.fair):
                consumed.append(Consumed(side, ticks, book.sim.get(ticks, 0), book.user.get(ticks, 0)))
                book.remove(ticks)
        return consumed

    def churn(self) -> None:
        p = self.params
        for book in (self.bids, self.asks):
            window = book.prices(p.churn_window)
            for _ in range(p.churn):
                if not window:
                    break
                ticks = self.rng.choice(window)
                if self.rng.random() < 0.3:
                    book.set_sim(ticks, 0)
                else:
                    book.set_sim(ticks, self._lots())
            # Now and then a new level between existing ones near the touch.
            if len(window) > 1 and self.rng.random() < 0.5:
                low, high = sorted((window[0], window[-1]))
                ticks = self.rng.randint(low, high)
                if book.total(ticks) == 0 and self._on_side(book, ticks):
                    book.set_sim(ticks, self._lots())

    def _on_side(self, book: BookSide, ticks: int) -> bool:
        if book.bids:
            ask = self.asks.best()
            return 0 < ticks < self.fair and (ask is None or ticks < ask)
        bid = self.bids.best()
        return ticks > self.fair and (bid is None or ticks > bid)

    def _refill(self) -> None:
        """Keep the touch within a few gaps of the fair price and each side at `levels` levels."""
        max_gap = 3 * self._spacing
        for book, sign in ((self.bids, -1), (self.asks, 1)):
            best = book.best()
            if best is None or abs(best - self.fair) > max_gap:
                ticks = self.fair + sign * self.rng.randint(1, max_gap)
                if ticks > 0 and self._on_side(book, ticks):
                    book.set_sim(ticks, self._lots())
            self._fill_tail(book, sign)

    def _fill_tail(self, book: BookSide, sign: int) -> None:
        levels = self.params.levels
        while len(book) < levels:
            worst = book.worst()
            ticks = (self.fair if worst is None else worst) + sign * self._gap()
            if ticks <= 0:
                break
            book.set_sim(ticks, self._lots())
        excess = len(book) - levels
        for ticks in reversed(book.prices()):
            if excess <= 0:
                break
            if ticks not in book.user:
                book.remove(ticks)
                excess -= 1

    def step(self) -> list[Consumed]:
        """One market move: walk, trade through crossed levels, churn, refill."""
        self.walk()
        consumed = self.consume_crossed()
        self.churn()
        self._refill()
        return consumed

    def move_to(self, ticks: int) -> list[Consumed]:
        """Set the fair price (a test control) and trade through whatever it crossed."""
        self.fair = max(1, ticks)
        consumed = self.consume_crossed()
        self._refill()
        return consumed

    # -- the account's taker orders ---------------------------------------------------------------

    def sweep(self, side: Side, lots: int, limit: int | None, *, take: bool = True) -> list[tuple[int, int]]:
        """Fill a taker `side` order of `lots` against simulated liquidity up to `limit` ticks.

        Only simulated quantity is taken: the account's own resting orders are skipped (self-trade
        prevention). With `take=False` nothing changes: a preview for funding checks.
        """
        book = self.asks if side is Side.BUY else self.bids
        fills: list[tuple[int, int]] = []
        left = lots
        for ticks in book.prices():
            if left <= 0:
                break
            if limit is not None and (
                (side is Side.BUY and ticks > limit) or (side is Side.SELL and ticks < limit)
            ):
                break
            available = book.sim.get(ticks, 0)
            if available <= 0:
                continue
            taken = min(available, left)
            fills.append((ticks, taken))
            left -= taken
            if take:
                book.set_sim(ticks, available - taken)
        return fills

    def crosses(self, side: Side, limit: int) -> bool:
        """Whether a `side` limit at `limit` ticks would take liquidity now (post-only check)."""
        best = self.asks.best() if side is Side.BUY else self.bids.best()
        if best is None:
            return False
        return limit >= best if side is Side.BUY else limit <= best
