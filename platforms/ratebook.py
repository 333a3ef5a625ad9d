"""Rate-limit headers shared by every worker (C2: limits honoured before a 429).

When one worker learns that a channel's budget for an endpoint is spent, the others
must not spend a request finding out: the book lives in the shared cache (Redis),
keyed by platform, account and endpoint bucket, and forgets itself after the reset.
"""

from __future__ import annotations

import time

from django.core.cache import cache

_PREFIX = "rate:"


def _key(bucket: str) -> str:
    return _PREFIX + bucket.replace(" ", "_")  # cache keys carry no spaces


class SharedRateBook:
    def __init__(self, clock=time.time):
        self.clock = clock

    def wait_before(self, bucket: str) -> float | None:
        entry = cache.get(_key(bucket))
        if entry is None:
            return None
        remaining, reset_at = entry
        wait = reset_at - self.clock()
        return wait if remaining <= 0 and wait > 0 else None

    def record(self, bucket: str, *, remaining: int, reset_at: float) -> None:
        ttl = max(1, int(reset_at - self.clock()) + 60)
        cache.set(_key(bucket), (remaining, reset_at), timeout=ttl)
