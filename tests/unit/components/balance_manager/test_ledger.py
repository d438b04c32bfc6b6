"""The balance ledger: WS frames, views, and the REST reconcile (adopt, compare, suspect → confirm → drift,
what changed during the read, REST-anchored holds)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from tests.unit.components.balance_manager.scenario import (
    balances_snapshot,
    executions,
    fill,
    ledger,
    ledger_rows,
    order,
    rest,
)
from tradingbot_components.balance_manager.drift import Figure, Mismatch
from tradingbot_components.balance_manager.ledger import BadBalances, ExchangeBalance, parse_balance_ex

START = dict(ZUSD=("100000.0000", "0.0000"), XXBT=("10.0000000000", "0.0000000000"))


def synced_ledger(dust: str = "0.00001"):  # type: ignore[no-untyped-def]
    """Reconciled once before the feed, then the feed's snapshots: as the component runs it."""
    book = ledger(dust)
    book.reconcile(rest(**START), since=book.mark(), live=False, confirming=False, now=10.0)
    book.apply_balances(balances_snapshot(USD="100000.0000", BTC="10.0000000000"), now=11.0)
    book.apply_executions(executions(snapshot=True), now=11.0)
    return book


def test_the_first_reconcile_adopts_balance_ex_as_served() -> None:
    book = ledger()
    outcome = book.reconcile(rest(**START), since=book.mark(), live=False, confirming=False, now=10.0)
    assert (outcome.compared, outcome.result, outcome.adopted) == (False, "ok", ("XXBT", "ZUSD"))
    assert book.view().to_dict() == {
        "balances": {
            "XXBT": {"total": "10.0000000000", "available": "10.0000000000", "held": "0.0000000000"},
            "ZUSD": {"total": "100000.0000", "available": "100000.0000", "held": "0.0000"},
        },
        "reconciled_at": 10.0,
        "source": "rest",
    }


def test_ws_frames_keep_the_totals_in_kraken_s_rest_names() -> None:
    book = synced_ledger()
    changed = book.apply_balances(
        ledger_rows(("USD", "-601.2", "99398.8000"), ("BTC", "0.01", "10.0100000000")), 12.0
    )
    assert changed == {"ZUSD", "XXBT"}
    view = book.view()
    assert (view.assets["ZUSD"].total, view.assets["XXBT"].total, view.source) == (
        D("99398.8000"),
        D("10.01"),
        "ws",
    )
    assert book.updated_at == 12.0 and book.reconciled_at == 10.0


def test_only_spot_wallets_count() -> None:
    book = synced_ledger()
    snapshot = balances_snapshot(BTC="3")
    snapshot["data"][0]["balance"] = D("5")  # spot 3 + earn 2
    snapshot["data"][0]["wallets"].append({"type": "earn", "id": "flex", "balance": D("2")})
    book.apply_balances(snapshot, 12.0)
    assert book.totals["XXBT"] == D("3")
    earn = ledger_rows(("BTC", "1", "3"))
    earn["data"][0]["wallet_type"] = "earn"
    assert book.apply_balances(earn, 13.0) == set()
    assert book.totals["XXBT"] == D("3")


def test_an_unreadable_balances_frame_changes_nothing() -> None:
    book = synced_ledger()
    frame = ledger_rows(("USD", "-1", "99999.0000"), ("BTC", "1", "11"))
    frame["data"][1]["balance"] = "not a number"
    with pytest.raises(BadBalances, match=r"balances\.BTC\.balance"):
        book.apply_balances(frame, 12.0)
    assert book.totals["ZUSD"] == D("100000.0000")


def test_a_live_reconcile_that_agrees_is_ok_and_measures_every_figure() -> None:
    book = synced_ledger()
    outcome = book.reconcile(rest(**START), since=book.mark(), live=True, confirming=False, now=20.0)
    assert (outcome.compared, outcome.result, outcome.suspect, outcome.drift) == (True, "ok", (), ())
    assert outcome.differences == {
        ("ZUSD", Figure.TOTAL): 0,
        ("XXBT", Figure.TOTAL): 0,
        ("ZUSD", Figure.HELD): 0,
        ("XXBT", Figure.HELD): 0,
    }
    assert book.source == "rest" and book.reconciled_at == 20.0


def test_a_mismatch_is_a_suspect_first_and_drift_once_a_second_read_confirms_it() -> None:
    book = synced_ledger()
    moved = dict(START, XXBT=("10.0100000000", "0.0000000000"))
    first = book.reconcile(rest(**moved), since=book.mark(), live=True, confirming=False, now=20.0)
    suspect = Mismatch("XXBT", Figure.TOTAL, D("10.0000000000"), D("10.0100000000"))
    assert (first.result, first.suspect, first.drift) == ("suspect", (suspect,), ())
    assert book.totals["XXBT"] == D("10.0000000000")  # not adopted on one read
    assert first.adopted == ("ZUSD",)

    second = book.reconcile(rest(**moved), since=book.mark(), live=True, confirming=True, now=21.0)
    assert (second.result, second.drift) == ("drift", (suspect,))
    assert book.totals["XXBT"] == D("10.0100000000")  # repaired from REST


def test_a_suspect_the_feed_catches_up_on_is_no_drift() -> None:
    """REST answered before the WS frame for the same fill arrived: the second read agrees."""
    book = synced_ledger()
    after_fill = dict(START, XXBT=("10.0100000000", "0.0000000000"))
    first = book.reconcile(rest(**after_fill), since=book.mark(), live=True, confirming=False, now=20.0)
    assert first.result == "suspect"
    book.apply_balances(ledger_rows(("BTC", "0.01", "10.0100000000")), 20.1)
    mark = book.mark()
    second = book.reconcile(rest(**after_fill), since=mark, live=True, confirming=True, now=21.0)
    assert (second.result, second.drift) == ("ok", ())


def test_what_the_feed_changed_during_the_read_keeps_its_ws_value_and_is_not_compared() -> None:
    book = synced_ledger()
    mark = book.mark()
    book.apply_balances(ledger_rows(("USD", "-10", "99990.0000")), 20.5)  # arrived while BalanceEx was read
    outcome = book.reconcile(rest(**START), since=mark, live=True, confirming=False, now=21.0)
    assert outcome.result == "ok" and outcome.kept == ("ZUSD",)
    assert book.totals["ZUSD"] == D("99990.0000")
    assert ("ZUSD", Figure.TOTAL) not in outcome.differences
    assert book.source == "ws"


def test_without_a_live_feed_rest_is_adopted_without_comparing() -> None:
    book = synced_ledger()
    moved = dict(START, ZUSD=("5.0000", "0.0000"))
    outcome = book.reconcile(rest(**moved), since=book.mark(), live=False, confirming=False, now=20.0)
    assert (outcome.compared, outcome.result, outcome.differences) == (False, "ok", {})
    assert book.totals["ZUSD"] == D("5.0000")


def test_an_asset_rest_no_longer_lists_is_dropped_after_confirmation() -> None:
    book = synced_ledger()
    only_usd = {"ZUSD": START["ZUSD"]}
    first = book.reconcile(rest(**only_usd), since=book.mark(), live=True, confirming=False, now=20.0)
    assert [m.asset for m in first.suspect] == ["XXBT"]
    book.reconcile(rest(**only_usd), since=book.mark(), live=True, confirming=True, now=21.0)
    assert set(book.view().assets) == {"ZUSD"}


def test_an_open_order_holds_and_available_is_total_minus_held() -> None:
    book = synced_ledger()
    book.apply_executions(executions(order("O1", qty="0.01", price="56990.5")), 12.0)
    usd = book.view().assets["ZUSD"]
    assert (usd.held, usd.available) == (D("572.1846"), D("99427.8154"))
    held = dict(START, ZUSD=("100000.0000", "572.1846"))
    assert (
        book.reconcile(rest(**held), since=book.mark(), live=True, confirming=False, now=20.0).result == "ok"
    )


def test_the_exchange_s_hold_anchors_the_computed_one() -> None:
    """Kraken held less than computed (a lower fee tier): confirmed, then open orders move it from there."""
    book = synced_ledger()
    book.apply_executions(executions(order("O1", qty="0.01", price="50000.0")), 12.0)  # computes 502.0000
    lower = dict(START, ZUSD=("100000.0000", "501.3000"))
    assert (
        book.reconcile(rest(**lower), since=book.mark(), live=True, confirming=False, now=20.0).result
        == "suspect"
    )
    assert book.view().assets["ZUSD"].held == D("502.0000")
    outcome = book.reconcile(rest(**lower), since=book.mark(), live=True, confirming=True, now=21.0)
    assert outcome.drift == (Mismatch("ZUSD", Figure.HELD, D("502.0000"), D("501.3000")),)
    assert book.view().assets["ZUSD"].held == D("501.3000")
    book.apply_executions(executions(order("O2", qty="0.01", price="50000.0")), 22.0)
    assert book.view().assets["ZUSD"].held == D("1003.3000")
    book.apply_executions(
        executions(order("O2", exec_type="canceled"), order("O1", exec_type="canceled")), 23.0
    )
    assert book.view().assets["ZUSD"].held == D(0)  # never below zero


def test_held_never_exceeds_the_total() -> None:
    book = synced_ledger()
    book.apply_executions(executions(order("O1", side="sell", qty="25")), 12.0)
    assert book.view().assets["XXBT"].held == D("10.0000000000")


def test_a_fill_does_not_free_funds_before_the_balance_moves() -> None:
    book = synced_ledger()
    book.apply_executions(executions(order("O1", qty="0.01", price="60000.0")), 12.0)
    available = book.view().assets["ZUSD"].available
    book.apply_executions(
        executions(
            fill("O1", "TX1", "0.01", "60000.0"),
            order("O1", exec_type="filled", cum="0.01"),
        ),
        13.0,
    )
    assert book.view().assets["ZUSD"].available == available  # the money is spent, not free
    book.apply_balances(
        ledger_rows(("USD", "-602.4000", "99397.6000"), ("BTC", "0.01", "10.01"), ref_id="TX1"), 13.1
    )
    usd = book.view().assets["ZUSD"]
    assert (usd.total, usd.held, usd.available) == (D("99397.6000"), D("0.0000"), D("99397.6000"))


def test_a_name_kept_under_a_guess_moves_to_the_balance_ex_id() -> None:
    book = synced_ledger()
    book.apply_balances(balances_snapshot(ETH="100"), 12.0)
    assert "ETH" in book.totals and book.names.unresolved == {"ETH"}
    with_eth = dict(START, XETH=("100.0000000000", "0.0000000000"))
    outcome = book.reconcile(rest(**with_eth), since=book.mark(), live=True, confirming=False, now=20.0)
    assert outcome.result == "ok"
    assert set(book.totals) == {"ZUSD", "XXBT", "XETH"}


def test_balance_ex_is_read_exactly_and_refused_when_unreadable() -> None:
    parsed = parse_balance_ex(
        {"ZUSD": {"balance": "1.0000", "hold_trade": "0.5000"}, "XXBT": {"balance": "2"}}
    )
    assert parsed == {"ZUSD": ExchangeBalance(D("1.0000"), D("0.5000")), "XXBT": ExchangeBalance(D(2), D(0))}
    with pytest.raises(BadBalances, match=r"BalanceEx\.ZUSD\.balance: expected a decimal amount"):
        parse_balance_ex({"ZUSD": {"balance": "lots"}})
    with pytest.raises(BadBalances, match="expected an object"):
        parse_balance_ex(["ZUSD"])


def test_the_snapshot_for_storage_holds_the_totals() -> None:
    book = synced_ledger()
    assert book.snapshot() == {"ZUSD": D("100000.0000"), "XXBT": D("10.0000000000")}
