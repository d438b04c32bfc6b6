"""The seed's integration examples, redone on the embedding API: run the bot from Python, read a component,
follow and change the config, check health, export a report. Run: python examples/local/embedding.py"""

from __future__ import annotations

import asyncio
from pathlib import Path

from tradingbot_components.clients import BalanceManagerClient, PortfolioClient
from tradingbot_operator.local import Orchestrator

CONFIG = Path(__file__).with_name("kraken-local.yaml")


async def main() -> None:
    async with Orchestrator.from_file(CONFIG) as bot:  # returns once every phase is Ready
        status = bot.get_status()
        print(f"{status.phase}, {status.health}, {status.ready} ready")

        balances = await (await bot.get_component(BalanceManagerClient)).balances()
        print("USD available:", balances.available("ZUSD"))
        portfolio = await (await bot.get_component(PortfolioClient)).positions()
        print("positions:", [(p.pair, str(p.quantity)) for p in portfolio.positions])

        print("profit target:", bot.config.get("trading.profit_target"))
        bot.config.subscribe(lambda path, old, new: print(f"config: {path} {old} -> {new}"), prefix="trading")
        generation = await bot.update_config("trading.profit_target", 0.007)  # hot: no restart
        print(f"every component runs config generation {generation}")

        for row in bot.get_status().components:
            print(f"  {row.name:<16} {row.health:<9} restarts {row.restarts}")
        print("report:", await bot.export_report(Path("tradingbot-report.zip")))
    print("stopped in reverse phase order")


if __name__ == "__main__":
    asyncio.run(main())
