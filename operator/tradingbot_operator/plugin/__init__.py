"""`kubectl tradingbot`: a kubectl plugin that reads and annotates TradingBot resources.

Like `kubectl cnpg`, it talks only to the custom resource (status in, annotations out); the operator acts.
"""
