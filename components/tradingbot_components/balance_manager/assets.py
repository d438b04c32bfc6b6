"""Asset names: WS v2 spells assets the modern way (`BTC`, `USD`, `DOGE`), REST `BalanceEx` keys them by
Kraken's ids (`XXBT`, `ZUSD`, `XXDG`). Balances are kept and served under the REST ids. Pure.

Resolution order: the public `Assets` altnames (`XBT` -> `XXBT`), then the ids `BalanceEx` has shown
(an asset `Assets` did not list), then Kraken's legacy `X`/`Z` prefix among those ids. A name that still
does not resolve is kept under its REST altname and listed as unresolved; `learn_keys` re-resolves it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

# WS v2 name -> REST altname, where they differ (kraken-facts §4: REST says XBT and XDG).
WS_TO_REST_ALTNAME = {"BTC": "XBT", "DOGE": "XDG"}
# BalanceEx key suffixes of non-spot wallets (earn, staked, ...): not on the WS spot view.
WALLET_SUFFIXES = (".F", ".B", ".S", ".M", ".T", ".P")


def is_spot(asset: str) -> bool:
    """Whether a BalanceEx key is a spot balance (`XXBT`), not an earn/staking wallet (`XBT.F`)."""
    return not asset.upper().endswith(WALLET_SUFFIXES)


class AssetNames:
    """Maps WS v2 asset names to BalanceEx ids and knows each id's decimals (from `Assets`)."""

    def __init__(self) -> None:
        self._by_altname: dict[str, str] = {}
        self._known: set[str] = set()
        self.decimals: dict[str, int] = {}
        self.unresolved: set[str] = set()  # WS names kept under a guessed name

    def learn_assets(self, result: Mapping[str, Any]) -> None:
        """An `Assets` result: `{"XXBT": {"altname": "XBT", "decimals": 10, ...}}`."""
        for asset_id, info in result.items():
            name = str(asset_id).upper()
            self._by_altname[name] = name
            if isinstance(info, Mapping):
                altname = info.get("altname")
                if altname:
                    self._by_altname[str(altname).upper()] = name
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    self.decimals[name] = int(info["decimals"])

    def learn_keys(self, keys: Iterable[str]) -> dict[str, str]:
        """Ids `BalanceEx` returned; the unresolved names that now resolve, as `{old: new}`."""
        self._known.update(str(key).upper() for key in keys)
        moved: dict[str, str] = {}
        for guessed in sorted(self.unresolved):
            resolved = self._resolve(guessed)
            if resolved is not None:
                self.unresolved.discard(guessed)
                if resolved != guessed:
                    moved[guessed] = resolved
        return moved

    def rest_id(self, ws_name: str) -> str:
        """The BalanceEx id of a WS v2 asset name (a best guess, recorded as unresolved, if unknown)."""
        name = str(ws_name).upper()
        altname = WS_TO_REST_ALTNAME.get(name, name)
        resolved = self._resolve(altname)
        if resolved is not None:
            return resolved
        self.unresolved.add(altname)
        return altname

    def _resolve(self, altname: str) -> str | None:
        if altname in self._by_altname:
            return self._by_altname[altname]
        if altname in self._known:
            return altname
        for prefixed in (f"X{altname}", f"Z{altname}"):
            if len(altname) == 3 and prefixed in self._known:
                return prefixed
        return None
