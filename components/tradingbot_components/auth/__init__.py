"""The auth component: sole holder of the API key pair, signer of private requests with the key's one nonce
sequence, and provider of WebSocket tokens.

Modules by concern: `credentials` (the key pair and its id), `holder` + `lease` (one live auth per key),
`nonce_marks` (the high-water mark in storage), `signer`, `ws_token`, `api` (HTTP), `component` (wiring).
"""

from tradingbot_components.auth.credentials import Credentials, CredentialsError, key_id, load_credentials
from tradingbot_components.auth.holder import FileKeyHolder, HolderConflict, KeyHolder
from tradingbot_components.auth.lease import KubeLeaseHolder, LeaseMove, decide_lease
from tradingbot_components.auth.signer import Signer, SignerNotReady
from tradingbot_components.auth.ws_token import WsToken, WsTokenProvider

__all__ = [
    "Credentials",
    "CredentialsError",
    "FileKeyHolder",
    "HolderConflict",
    "KeyHolder",
    "KubeLeaseHolder",
    "LeaseMove",
    "Signer",
    "SignerNotReady",
    "WsToken",
    "WsTokenProvider",
    "decide_lease",
    "key_id",
    "load_credentials",
]
