"""`tradingbot run` on the example config, as a user sees it: Healthy, a child killed and restarted with an
alert, a broken file that changes nothing, hot and restart changes, a refused second run, and SIGTERM
stopping the components in reverse phase order with no process left behind."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from tests.integration.local.runner import EXAMPLE, RunningBot, alive, tradingbot
from tests.support.waiting import WaitTimeout
from tradingbot_components.config import COMPONENT_NAMES

PHASE_ORDER = list(COMPONENT_NAMES)  # the built-in components in startup order


def plant_canary(state: Path) -> tuple[str, str]:
    """Paper credentials made before the run (the runner keeps an existing account): values to look for."""
    credentials = state / "credentials"
    credentials.mkdir(parents=True)
    key = "CANARY" + base64.b64encode(secrets.token_bytes(30)).decode()
    secret = base64.b64encode(b"CANARY-SECRET-" + secrets.token_bytes(40)).decode()
    (credentials / "api-key").write_text(key + "\n")
    (credentials / "api-secret").write_text(secret + "\n")
    return key, secret


def pids(bot: RunningBot) -> dict[str, int | None]:
    return {name: bot.pid(name) for name in PHASE_ORDER}


def test_the_example_runs_heals_reloads_and_stops_in_reverse_order(local_bot, tmp_path: Path) -> None:
    config = tmp_path / "kraken-local.yaml"
    shutil.copy(EXAMPLE, config)
    canary_key, canary_secret = plant_canary(bot_state := tmp_path / "state" / "kraken-local")
    bot = local_bot(config)
    assert bot.state == bot_state
    bot.wait_healthy()
    assert bot.status()["ready"] == "8/8" and bot.status()["phase"] == "Running"
    console = bot.console()
    assert "starting storage (Infrastructure)" in console and "StartupComplete" in console
    started = [
        line.split("starting ")[1].split(" ")[0] for line in bot.events() if "ComponentStarting" in line
    ]
    assert started == PHASE_ORDER

    # A second run of the same bot refuses to start, and says who runs it.
    second = tradingbot("run", str(config), state=bot.state_root, timeout=60)
    assert second.returncode == 4, second.stderr
    assert "already running" in second.stderr and str(bot.process.pid) in second.stderr

    # The one-shot health check reads the running bot: the plugin's table and exit codes.
    check = tradingbot("run", str(config), "--health-check", state=bot.state_root)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("kraken-local: Healthy (all components healthy)")
    as_json = json.loads(
        tradingbot("run", str(config), "--health-check", "-o", "json", state=bot.state_root).stdout
    )
    assert as_json["health"] == "Healthy" and len(as_json["components"]) == 8

    # Diagnostics of the running bot: the summary, the preflight verdicts, and no secret anywhere.
    archive = tmp_path / "report.zip"
    made = tradingbot("run", str(config), "--diagnostics", str(archive), state=bot.state_root)
    assert made.returncode == 0, made.stdout + made.stderr
    with zipfile.ZipFile(archive) as zipped:
        files = {name.split("/", 1)[1]: zipped.read(name).decode() for name in zipped.namelist()}
    assert {"summary.md", "manifest.json", "preflight.json", "config/sources.json", "logs/auth.log"} <= set(
        files
    )
    verdicts = {c["name"]: c["verdict"] for c in json.loads(files["preflight.json"])}
    assert verdicts == {"clock skew": "ok", "key permissions": "ok", "nonce window": "ok", "tier": "ok"}
    sources = {row["path"]: row["source"] for row in json.loads(files["config/sources.json"])}
    assert sources["trading.profit_target"] == "file" and sources["endpoints.gateway"] == "runner"
    assert sources["trading.max_position_size"] == "file" and sources["system.debug"] == "default"
    for name, text in files.items():
        assert canary_key not in text and canary_secret not in text, name
    for log in (bot.state / "logs").glob("*.log"):  # nor in what the components wrote (nothing to scrub)
        assert canary_key not in log.read_text() and canary_secret not in log.read_text(), log

    # kill -9 of a child: detected, alerted, restarted in place (as the kubelet restarts a container that
    # exited), counted; the bot heals, and recovery does not fight the restart with one of its own.
    before = pids(bot)
    victim = before["portfolio"]
    assert victim is not None
    restarts = bot.row("portfolio").get("restarts", 0)
    os.kill(victim, signal.SIGKILL)
    # The pod seen Ready is NotReady now: Unhealthy at once, with why.
    critical = bot.wait(
        lambda: next(
            (
                a
                for a in bot.alerts()
                if a["component"] == "portfolio" and a["reason"] == "ComponentUnhealthy"
            ),
            None,
        ),
        "the alert about portfolio",
        30,
    )
    assert critical["severity"] == "critical" and "NotReady" in critical["message"], critical
    assert "its container exited (Killed)" in critical["message"], critical
    bot.wait_healthy(90)
    assert bot.pid("portfolio") not in (None, victim)
    assert bot.row("portfolio")["restarts"] == restarts + 1
    assert "RecoveryRestart" not in {a["reason"] for a in bot.alerts() if a["component"] == "portfolio"}
    assert not alive(victim)

    # kill -9 of the gateway: the trader, which cannot trade safely without it, is held at 0 (safe mode)
    # and restored when the gateway is back.
    gateway = bot.pid("gateway")
    assert gateway is not None
    os.kill(gateway, signal.SIGKILL)
    try:
        bot.wait(
            lambda: (
                [line.split(" RecoveryScale ", 1)[1] for line in bot.events() if " RecoveryScale " in line][
                    -2:
                ]
                == [
                    "scaling trader to 0: gateway Unhealthy",
                    "restoring trader: its dependencies are healthy",
                ]
            ),
            "safe mode to hold and release the trader",
            60,
        )
    except WaitTimeout as timeout:
        raise AssertionError(f"{timeout}; events: {bot.events()[-25:]}") from None
    # Holding the trader is planned, so it alerts once (a warning); the release is no alert.
    assert [a["message"] for a in bot.alerts() if a["reason"] == "RecoveryScale"][-1:] == [
        "scaling trader to 0: gateway Unhealthy"
    ]
    bot.wait_healthy(90)

    # A broken file leaves the running bot untouched and says why.
    steady = pids(bot)
    good = config.read_text()
    config.write_text(good.replace("profit_target: 0.005", "profit_target: [0.005"))
    bot.wait(lambda: bot.report().get("rejection"), "the broken file to be reported", 15)
    assert re.search(r"kraken-local\.yaml:\d+:\d+: invalid YAML", bot.report()["rejection"])
    assert bot.condition("ConfigValid")["status"] == "False"
    assert pids(bot) == steady and bot.status()["health"] == "Healthy"
    assert any(a["reason"] == "InvalidSpec" for a in bot.alerts())
    status_text = tradingbot("status", str(config), state=bot.state_root)
    assert "Config file rejected" in status_text.stdout

    # A hot change applies in place: every component runs the new generation, no process restarted.
    config.write_text(good.replace("profit_target: 0.005", "profit_target: 0.006"))
    bot.wait(lambda: bot.report().get("rejection") is None, "the fixed file to be taken", 15)
    generation = bot.status()["config"]["generation"]
    assert generation >= 2
    bot.wait(
        lambda: all(r.get("configGeneration") == generation for r in bot.status()["components"]),
        "every component to run the new config generation",
        30,
    )
    assert pids(bot) == steady

    # A restart field restarts exactly its readers (storage.sqlite_path: storage alone).
    moved = tmp_path / "moved.db"
    changed = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    config.write_text(good + f"storage: {{sqlite_path: {moved}}}\n")
    bot.wait(lambda: bot.pid("storage") not in (None, steady["storage"]), "storage to restart", 60)
    bot.wait_healthy(90)
    assert moved.exists()
    # Others keep their process, unless recovery restarted one that lost storage meanwhile (its own alert).
    after = pids(bot)
    recovered = {a["component"] for a in bot.alerts() if a["reason"] == "RecoveryRestart"} - {"portfolio"}
    recovered |= {
        r["name"]
        for r in bot.status()["components"]
        if (r.get("lastRecovery") or {}).get("time", "") > changed
    }
    kept = [n for n in PHASE_ORDER if n != "storage" and n not in recovered]
    assert {n: after[n] for n in kept} == {n: steady[n] for n in kept}, recovered

    # SIGTERM: reverse phase order, each phase gone before the next stops; nothing left running.
    children = set(bot.pids)
    bot.process.send_signal(signal.SIGTERM)
    assert bot.process.wait(120) == 0, bot.console()
    stopping = [
        line.split("stopping ")[1].split(" ")[0] for line in bot.events() if "ComponentStopping" in line
    ]
    assert stopping.index("trader") < stopping.index("portfolio") < stopping.index("balance-manager")
    assert max(stopping.index("gateway"), stopping.index("market-data")) < stopping.index("auth")
    assert stopping.index("auth") < min(stopping.index("storage"), stopping.index("exchange-sim"))
    assert [name for name in children if alive(name)] == []
    assert "stopped" in bot.console().splitlines()[-1]
