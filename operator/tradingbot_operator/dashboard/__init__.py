"""The live terminal dashboard of a TradingBot, local (`tradingbot run --dashboard`) or in a cluster
(`kubectl tradingbot dashboard NAME`): one Textual app, fed by a source for each."""
