"""Does a live object already hold everything the operator would apply? Then applying it again is no write.

After a restart, and on the slow safety resync, the operator no longer knows what it last applied to a bot's
Core objects (ConfigMap, ServiceAccounts, Roles, RoleBindings, NetworkPolicy, Services). Reading each one and
comparing is cheaper for the API server than re-applying it, and keeps an idle operator at zero writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def covers(live: Any, desired: Any) -> bool:
    """True when every field of `desired` is in `live` with the same value (fields the server or others added
    to `live` do not matter: server-side apply would leave them alone too). Lists must match item by item."""
    if isinstance(desired, Mapping):
        return isinstance(live, Mapping) and all(k in live and covers(live[k], v) for k, v in desired.items())
    if isinstance(desired, Sequence) and not isinstance(desired, str):
        return (
            isinstance(live, Sequence)
            and not isinstance(live, str)
            and len(live) == len(desired)
            and all(covers(a, b) for a, b in zip(live, desired, strict=True))
        )
    return bool(live == desired and type(live) is type(desired))
