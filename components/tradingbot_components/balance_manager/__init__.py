"""The balance-manager component: balances from the private WS v2 `balances` and `executions` channels,
reconciled against REST `BalanceEx`, served on `GET /balances` (see `component.py`)."""
