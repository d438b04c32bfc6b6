"""Finding an order by its client id after an uncertain AddOrder."""

from __future__ import annotations

from tradingbot_components.gateway.reconcile import (
    add_order_result,
    client_order_id,
    find_order,
    is_duplicate,
)

ORDER = {"cl_ord_id": "bot-1", "descr": {"order": "buy 0.01 XBTUSD @ limit 50000.0"}, "status": "open"}


def test_client_order_id_only_for_single_add_order() -> None:
    assert client_order_id("AddOrder", {"cl_ord_id": "bot-1"}) == "bot-1"
    assert client_order_id("AddOrder", {"cl_ord_id": ""}) is None
    assert client_order_id("AddOrderBatch", {"cl_ord_id": "bot-1"}) is None


def test_duplicates_are_recognised_loosely() -> None:
    assert is_duplicate(["EOrder:Duplicate order"])
    assert is_duplicate(["EOrder:Duplicate cl_ord_id"])
    assert not is_duplicate(["EOrder:Insufficient funds", "EGeneral:Duplicate thing"])


def test_find_order_in_open_and_closed_results() -> None:
    assert find_order({"open": {"O1": ORDER}}, "bot-1") == ("O1", ORDER)
    assert find_order({"closed": {"O2": ORDER}, "count": 1}, "bot-1") == ("O2", ORDER)
    assert find_order({"open": {"O1": ORDER}}, "bot-2") is None
    assert find_order(None, "bot-1") is None


def test_the_answer_looks_like_kraken_s_add_order_result() -> None:
    assert add_order_result("O1", ORDER) == {
        "error": [],
        "result": {"descr": {"order": "buy 0.01 XBTUSD @ limit 50000.0"}, "txid": ["O1"]},
    }
