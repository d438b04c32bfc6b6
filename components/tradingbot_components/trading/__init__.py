"""Trading domain values shared by the trading services: positions and the exchange's pair rules."""
