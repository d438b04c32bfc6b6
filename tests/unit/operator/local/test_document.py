"""Reading a local config file: the spec the planner gets, and errors with the file, line and field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradingbot_operator.local.document import DocumentProblem, bot_name, load
from tradingbot_operator.local.spec import local_spec

ROOT = Path(__file__).resolve().parents[4]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_example_is_a_paper_bot_with_the_specs_policies() -> None:
    bot = load(ROOT / "examples" / "local" / "kraken-local.yaml")
    assert bot.name == "kraken-local"
    assert bot.mode.value == "paper"
    assert bot.spec["config"]["trading"]["pairs"] == ["XBT/USD"]
    assert bot.spec["startup"]["phaseTimeoutSeconds"] == 120
    assert "mode" not in bot.spec["config"]["exchange"]


def test_a_tradingbot_manifest_runs_as_it_is(tmp_path: Path) -> None:
    bot = load(ROOT / "examples" / "tradingbot.yaml")
    assert bot.manifest and bot.name == "kraken-main"
    assert bot.spec["config"]["rate_limiting"]["tier"] == "pro"


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bot.yaml", "trading:\n  profit_target: [0.1\n")
    with pytest.raises(DocumentProblem) as caught:
        load(path)
    assert f"{path}:3:" in str(caught.value) and "invalid YAML" in str(caught.value)


def test_json_syntax_errors_name_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "bot.json", '{"trading": {\n  "profit_target": 0.1,}\n}')
    with pytest.raises(DocumentProblem) as caught:
        load(path)
    assert f"{path}:2:" in str(caught.value) and "invalid JSON" in str(caught.value)


def test_validation_errors_name_the_field_and_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bot.yaml", "name: x\ntrading:\n  pairs: [XBT/USD]\n  profit_target: 1.5\n")
    with pytest.raises(DocumentProblem) as caught:
        load(path)
    assert str(caught.value) == f"{path}:4: trading.profit_target: Input should be less than 1"


def test_graph_problems_are_found_before_anything_starts(tmp_path: Path) -> None:
    path = write(tmp_path, "bot.yaml", "components:\n- name: trader\n  dependsOn: [signals]\n")
    with pytest.raises(DocumentProblem) as caught:
        load(path)
    assert f"{path}:3: components[0].dependsOn:" in str(caught.value)
    assert "signals" in str(caught.value)


def test_live_mode_needs_a_credentials_directory(tmp_path: Path) -> None:
    path = write(tmp_path, "bot.yaml", "exchange: {mode: live}\n")
    with pytest.raises(DocumentProblem, match=r"exchange\.mode: live: needs a credentials directory"):
        load(path)
    credentials = tmp_path / "keys"
    credentials.mkdir()
    (credentials / "api-key").write_text("k")
    (credentials / "api-secret").write_text("s")
    bot = load(write(tmp_path, "ok.yaml", "exchange: {mode: live, credentials: keys}\n"))
    assert bot.credentials == credentials.resolve()
    assert "exchange-sim" not in str(bot.spec)


def test_replicas_above_one_run_as_one_process(tmp_path: Path) -> None:
    bot = load(write(tmp_path, "bot.yaml", "components:\n- {name: market-data, replicas: 3}\n"))
    assert bot.spec["components"] == [{"name": "market-data", "replicas": 1}]


def test_names_are_dns_labels() -> None:
    assert bot_name("Kraken Main") == "kraken-main"
    assert bot_name("2024_bot") == "bot-2024-bot"


def test_local_endpoints_point_at_the_picked_ports(tmp_path: Path) -> None:
    bot = load(write(tmp_path, "bot.yaml", "endpoints: {gateway: 'http://elsewhere:1'}\n"))
    ports = {"storage": 7001, "exchange-sim": 7002, "gateway": 7003, "market-data": 7004}
    spec = local_spec(bot, ports, tmp_path / "data", suspend=True, overrides={"trading.profit_target": 0.007})
    endpoints = spec["config"]["endpoints"]
    assert endpoints["gateway"] == "http://127.0.0.1:7003"  # a component the runner starts: its own port
    assert endpoints["exchange_ws"] == "ws://127.0.0.1:7002/v2"
    assert endpoints["market_data"] == "ws://127.0.0.1:7004/stream"
    assert spec["config"]["storage"]["sqlite_path"] == str(tmp_path / "data" / "storage.db")
    assert spec["config"]["trading"]["profit_target"] == 0.007
    assert spec["suspend"] is True
