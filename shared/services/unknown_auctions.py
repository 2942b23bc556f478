"""Auction ids known not to exist, remembered briefly (a bid's and a join's shortcut)."""

from __future__ import annotations

import threading

from cachetools import TTLCache


class UnknownAuctions:
    """Auction ids PostgreSQL just said do not exist, each remembered 30 s (10,000 at most):
    a bid or a join naming one again within that time costs no database read. Ids are minted
    by the server at creation, so an id that was unknown does not become an auction later.
    Safe to share between threads."""

    TTL_S = 30.0
    MAX = 10_000

    def __init__(self) -> None:
        self._ids: TTLCache[str, bool] = TTLCache(maxsize=self.MAX, ttl=self.TTL_S)
        self._lock = threading.Lock()

    def __contains__(self, auction_id: object) -> bool:
        with self._lock:
            return auction_id in self._ids

    def add(self, auction_id: str) -> None:
        with self._lock:
            self._ids[auction_id] = True
