"""The TradingBot API: pydantic models, names, and the CRD generated from them."""
