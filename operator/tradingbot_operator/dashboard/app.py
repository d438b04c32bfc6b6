"""The live terminal dashboard (Textual): one screen for a local bot or a bot in a cluster.

Top: the bot's summary line (phase, health, ready, startup) and where it runs. Then a row per component
(phase, state, health, reason, root cause, restarts, config generation), performance, positions and P&L,
and recent alerts. Keys: r restarts the selected component, R all of them, s suspends or resumes, q quits.
It refreshes every second from a `DashboardSource`; rendering is a pure function of the model.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Footer, Header, Static

from tradingbot_operator.dashboard.model import DashboardModel, Performance, PositionRow
from tradingbot_operator.dashboard.sources import DashboardSource
from tradingbot_operator.plugin.tables import EMPTY, age, clip
from tradingbot_operator.plugin.views import summary_line

COMPONENT_COLUMNS = ("NAME", "PHASE", "STATE", "HEALTH", "REASON", "ROOT-CAUSE", "RESTARTS", "CONFIG-GEN")
HEALTH_STYLE = {"Healthy": "green", "Degraded": "yellow", "Unhealthy": "bold red", "Unknown": "dim"}
REFRESH_SECONDS = 1.0


def _fmt(value: float | None, unit: str = "", scale: float = 1.0, digits: int = 1) -> str:
    return EMPTY if value is None else f"{value * scale:.{digits}f}{unit}"


def render_performance(perf: Performance) -> str:
    lines = [
        f"gateway calls/s      {_fmt(perf.gateway_calls_per_second, digits=2)}",
        f"circuit breaker      {perf.breaker or EMPTY}",
        f"book messages/s      {_fmt(perf.book_messages_per_second)}",
        f"tick-to-order p50    {_fmt(perf.tick_to_order_p50, ' ms', 1000, 0)}",
        f"tick-to-order p99    {_fmt(perf.tick_to_order_p99, ' ms', 1000, 0)}",
        f"orders               {perf.orders if perf.orders is not None else EMPTY}",
    ]
    for room in perf.headroom:
        lines.append(f"headroom {room.counter:<12}{room.headroom:7.1f} / {room.cap:g}")
    lines += list(perf.notes)
    return "\n".join(lines)


def render_positions(rows: Sequence[PositionRow], realized: str | None) -> str:
    if not rows:
        return f"no positions\nrealized P&L  {realized or EMPTY}"
    lines = [f"{'PAIR':<10}{'QTY':>14}{'AVG':>12}{'MARK':>12}{'UNREAL':>12}"]
    for row in rows:
        lines.append(
            f"{row.pair:<10}{row.quantity[:13]:>14}{(row.average_price or EMPTY)[:11]:>12}"
            f"{(row.market_price or EMPTY)[:11]:>12}{(row.unrealized_pnl or EMPTY)[:11]:>12}"
        )
    lines.append(f"realized P&L  {realized or EMPTY}")
    return "\n".join(lines)


def render_alerts(model: DashboardModel, now: datetime, limit: int = 6) -> str:
    if not model.alerts:
        return "no alerts"
    return "\n".join(
        f"{age(a.time, now):>5}  {a.severity:<8} {a.component:<15} {a.reason:<22} {clip(a.message, 70)}"
        for a in model.alerts[:limit]
    )


class Dashboard(App[None]):
    TITLE = "TradingBot"
    CSS = """
    #summary { height: 2; padding: 0 1; }
    #components { height: auto; max-height: 14; }
    #middle { height: auto; }
    .panel { border: round $primary; padding: 0 1; height: auto; width: 1fr; }
    #alerts { border: round $warning; padding: 0 1; height: auto; }
    #message { height: 1; padding: 0 1; color: $accent; }
    """
    BINDINGS = [
        Binding("r", "restart", "Restart selected"),
        Binding("R", "restart_all", "Restart all"),
        Binding("s", "suspend", "Suspend/resume"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, source: DashboardSource, refresh: float = REFRESH_SECONDS) -> None:
        super().__init__()
        self.source = source
        self.refresh_seconds = refresh
        self.model: DashboardModel | None = None
        self.title = source.title

    def compose(self) -> ComposeResult:
        yield Header(show_clock=True)
        yield Static("connecting...", id="summary")
        table: DataTable[str] = DataTable(id="components", cursor_type="row", zebra_stripes=True)
        yield table
        with Horizontal(id="middle"):
            yield Static("", id="performance", classes="panel")
            yield Static("", id="positions", classes="panel")
        yield Static("", id="alerts")
        yield Static("", id="message")
        yield Footer()

    async def on_mount(self) -> None:
        table = self.query_one("#components", DataTable)
        table.add_columns(*COMPONENT_COLUMNS)
        self.query_one("#performance", Static).border_title = "Performance"
        self.query_one("#positions", Static).border_title = "Positions and P&L"
        self.query_one("#alerts", Static).border_title = "Recent alerts"
        await self.refresh_model()
        self.set_interval(self.refresh_seconds, self.refresh_model)

    async def refresh_model(self) -> None:
        try:
            model = await self.source.fetch()
        except Exception as error:  # the bot may be stopping, or unreachable for a moment
            self.say(f"cannot read the bot: {getattr(error, 'message', error)}")
            return
        self.show(model)

    def show(self, model: DashboardModel) -> None:
        self.model = model
        now = datetime.now(UTC)
        status = model.bot.status
        style = HEALTH_STYLE.get(str(status.health), "")
        suspended = "  [b]SUSPENDED[/b]" if model.suspended else ""
        problems = f"\n[red]{'; '.join(model.problems)}[/red]" if model.problems else f"\n{model.where}"
        self.query_one("#summary", Static).update(
            f"[{style}]{summary_line(model.bot)}[/]{suspended}{problems}"
        )
        table = self.query_one("#components", DataTable)
        selected = table.cursor_row
        table.clear()
        for row in status.components:
            health = str(row.health)
            state = f"{row.state} (safe mode)" if row.safe_mode else str(row.state)
            table.add_row(
                row.name,
                str(row.phase),
                state,
                f"[{HEALTH_STYLE.get(health, '')}]{health}[/]",
                row.reason or EMPTY,
                row.root_cause or EMPTY,
                str(row.restarts),
                str(row.config_generation) if row.config_generation is not None else EMPTY,
                key=row.name,
            )
        if status.components:
            table.move_cursor(row=min(selected, len(status.components) - 1))
        self.query_one("#performance", Static).update(render_performance(model.performance))
        self.query_one("#positions", Static).update(render_positions(model.positions, model.realized_pnl))
        self.query_one("#alerts", Static).update(render_alerts(model, now))

    def say(self, text: str) -> None:
        self.query_one("#message", Static).update(text)

    def selected_component(self) -> str | None:
        if self.model is None or not self.model.bot.status.components:
            return None
        table = self.query_one("#components", DataTable)
        rows = self.model.bot.status.components
        return rows[min(table.cursor_row, len(rows) - 1)].name

    async def _act(self, action: Awaitable[str]) -> None:
        try:
            self.say(await action)
        except Exception as error:  # a refusal (unknown component, RBAC) is shown, not fatal
            self.say(f"[red]{getattr(error, 'message', error)}[/red]")

    async def action_restart(self) -> None:
        component = self.selected_component()
        if component:
            await self._act(self.source.restart(component))

    async def action_restart_all(self) -> None:
        await self._act(self.source.restart("all"))

    async def action_suspend(self) -> None:
        suspended = self.model.suspended if self.model else False
        await self._act(self.source.suspend(not suspended))
        await self.refresh_model()
