"""The portfolio component: positions per pair from the account's fills, valued at market, with realized
and unrealized P&L and exposure, served on `GET /positions`.

Pure: `positions` (the position book, idempotent by fill id), `fills` (executions frames → fills),
`valuation` (positions at market prices), `health` (what the health entries say).
Effects: `recorder` (store, then apply), `metrics` (Prometheus, read at scrape time), `component` (wiring).
"""
