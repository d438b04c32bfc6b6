"""Live config in a real component process: file rewrites and the kubelet's `..data` swap reach `/config`
without a restart, the environment wins over the file, and a bad document keeps the last good config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.components.process import ComponentProcess, ComponentRunner
from tests.support.waiting import wait_until
from tests.unit.components.config.kubelet import KubeletConfigMapDir

RELOAD_TIMEOUT = 5.0  # the file is polled every 0.2 s


def document(tmp_path: Path, **trading: Any) -> str:
    return json.dumps(
        {"trading": {"profit_target": 0.005, **trading}, "storage": {"sqlite_path": str(tmp_path / "s.db")}}
    )


def config_of(process: ComponentProcess) -> dict[str, Any]:
    return process.get("/config").json


def wait_for_config(process: ComponentProcess, path: str, value: Any) -> dict[str, Any]:
    section, key = path.split(".")

    def probe() -> dict[str, Any] | None:
        seen = config_of(process)
        return seen if seen["config"][section][key] == value else None

    return wait_until(probe, timeout=RELOAD_TIMEOUT, what=f"{path} == {value!r}")


def test_an_in_place_rewrite_is_applied_without_a_restart(
    components: ComponentRunner, tmp_path: Path
) -> None:
    path = tmp_path / "config.json"
    path.write_text(document(tmp_path, profit_target=0.006))
    storage = components.start("storage", "--config", str(path))
    storage.wait_ready()
    pid = storage.get("/healthz").json["pid"]
    assert config_of(storage)["config"]["trading"]["profit_target"] == 0.006
    assert config_of(storage)["generation"] == 1

    path.write_text(document(tmp_path, profit_target=0.007))
    seen = wait_for_config(storage, "trading.profit_target", 0.007)
    assert seen["generation"] == 2
    health = storage.get("/healthz").json
    assert health["pid"] == pid == storage.pid
    assert health["config"]["generation"] == 2
    assert health["config"]["restart_required"] == []


def test_the_kubelet_symlink_swap_is_applied(components: ComponentRunner, tmp_path: Path) -> None:
    mount = KubeletConfigMapDir(tmp_path / "etc", {"config.json": document(tmp_path, profit_target=0.006)})
    storage = components.start("storage", "--config", str(mount.path("config.json")))
    storage.wait_ready()

    mount.update({"config.json": document(tmp_path, profit_target=0.0065, max_position_size=50.0)})
    seen = wait_for_config(storage, "trading.profit_target", 0.0065)
    assert seen["config"]["trading"]["max_position_size"] == 50.0
    mount.update({"config.json": document(tmp_path, profit_target=0.0066)})
    wait_for_config(storage, "trading.profit_target", 0.0066)
    assert storage.get("/healthz").json["pid"] == storage.pid


def test_the_environment_wins_over_the_file(components: ComponentRunner, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(document(tmp_path, profit_target=0.006))
    env = {"TRADINGBOT_TRADING_PROFIT_TARGET": "0.009", "TRADINGBOT_RATE_LIMITING_TIER": "pro"}
    storage = components.start("storage", "--config", str(path), env=env)
    storage.wait_ready()
    seen = config_of(storage)["config"]
    assert (seen["trading"]["profit_target"], seen["rate_limiting"]["tier"]) == (0.009, "pro")

    path.write_text(document(tmp_path, profit_target=0.007, max_position_size=42.0))
    seen = wait_for_config(storage, "trading.max_position_size", 42.0)["config"]
    assert seen["trading"]["profit_target"] == 0.009
    overrides = storage.get("/healthz").json["config"]["env_overrides"]
    assert overrides == {
        "rate_limiting.tier": "TRADINGBOT_RATE_LIMITING_TIER",
        "trading.profit_target": "TRADINGBOT_TRADING_PROFIT_TARGET",
    }


def test_an_invalid_update_keeps_the_last_good_config(components: ComponentRunner, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(document(tmp_path, profit_target=0.006))
    storage = components.start("storage", "--config", str(path))
    storage.wait_ready()

    path.write_text(document(tmp_path, profit_target=1.5))

    def rejected() -> dict[str, Any] | None:
        health = storage.get("/healthz").json
        return health if health["config"]["last_error"] else None

    health = wait_until(rejected, timeout=RELOAD_TIMEOUT, what="the rejection in /healthz")
    assert health["config"]["valid"] is False
    assert [e["path"] for e in health["config"]["last_error"]["errors"]] == ["trading.profit_target"]
    assert config_of(storage) == {"generation": 1, "config": config_of(storage)["config"]}
    assert config_of(storage)["config"]["trading"]["profit_target"] == 0.006
    metrics = storage.get("/metrics").body
    assert "tradingbot_config_rejected_total 1.0" in metrics
    assert "tradingbot_config_generation 1.0" in metrics
    ready = storage.get("/readyz")
    assert ready.status == 503
    assert [r["reason"] for r in ready.json["reasons"]] == ["ConfigRejected"]
    errors = [e for e in storage.logs() if e.get("level") == "ERROR"]
    assert any("trading.profit_target" in e["message"] for e in errors)

    path.write_text(document(tmp_path, profit_target=0.008))
    wait_for_config(storage, "trading.profit_target", 0.008)
    storage.wait_ready(timeout=RELOAD_TIMEOUT)
    assert config_of(storage)["generation"] == 2


def test_a_restart_field_change_is_applied_and_flagged(components: ComponentRunner, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(document(tmp_path))
    storage = components.start("storage", "--config", str(path))
    storage.wait_ready()

    moved = json.loads(document(tmp_path))
    moved["storage"]["sqlite_path"] = str(tmp_path / "elsewhere.db")
    moved["trading"]["pairs"] = ["ETH/USD"]  # a restart field, but storage does not read it
    path.write_text(json.dumps(moved))
    wait_for_config(storage, "storage.sqlite_path", str(tmp_path / "elsewhere.db"))
    health = storage.get("/healthz").json
    assert health["config"]["restart_required"] == ["storage.sqlite_path"]
    assert health["storage"]["location"] == str(tmp_path / "s.db")  # still the database it opened
    assert storage.get("/readyz").status == 200


def test_secrets_never_leave_the_process(components: ComponentRunner, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(document(tmp_path))
    secret = "postgresql://bot:hunter2@db.invalid/bot"
    storage = components.start("storage", "--config", str(path), env={"TRADINGBOT_STORAGE_DSN": secret})
    storage.wait_ready()
    assert config_of(storage)["config"]["storage"]["dsn"] == "***"
    exported = json.dumps([config_of(storage), storage.get("/healthz").json]) + storage.get("/metrics").body
    path.write_text(document(tmp_path, profit_target=0.0071))
    wait_for_config(storage, "trading.profit_target", 0.0071)
    assert storage.terminate() == 0
    assert "hunter2" not in exported + storage.log_text()


def test_log_level_and_health_interval_are_hot(components: ComponentRunner, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    base = json.loads(document(tmp_path))
    path.write_text(json.dumps(base))
    storage = components.start("storage", "--config", str(path))
    storage.wait_ready()
    first_check = storage.get("/healthz").json["health"]["components"]["database"]["checked_at"]

    def change(profit: float, **system: Any) -> None:
        base["trading"]["profit_target"] = profit
        base["system"] = system
        path.write_text(json.dumps(base))
        wait_for_config(storage, "trading.profit_target", profit)

    def applied(generation: int) -> bool:
        return any(f"config generation {generation} applied" in e["message"] for e in storage.logs())

    change(0.0061, log_level="WARNING", health_check_interval=1)
    change(0.0062, log_level="WARNING", health_check_interval=1)
    assert applied(2) and not applied(3)  # INFO lines stopped once WARNING was in force

    def checked_again() -> bool:
        database = storage.get("/healthz").json["health"]["components"]["database"]
        return bool(database["checked_at"] > first_check)

    wait_until(checked_again, timeout=10, what="another database check within the new 1 s interval")

    change(0.0063)  # back to INFO (default) and a 60 s interval
    change(0.0064)
    assert applied(5)
