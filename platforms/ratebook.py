"""Rate-limit headers shared by every worker (C2: limits honoured before a 429).

When one worker learns that a channel's budget for an endpoint is spent, the others
must not spend a request finding out: the book lives in Redis, keyed by platform,
account and endpoint bucket, and forgets itself after the platform's reset.
"""

from __future__ import annotations

import time

import redis
from django.conf import settings

_PREFIX = "smc:rate:"


class RedisRateBook:
    def __init__(self, client: redis.Redis | None = None, clock=time.time):
        self.redis = client or redis.Redis.from_url(settings.REDIS_URL)
        self.clock = clock

    def wait_before(self, bucket: str) -> float | None:
        remaining, reset_at = self.redis.hmget(_PREFIX + bucket, "remaining", "reset_at")
        if remaining is None or reset_at is None:
            return None
        wait = float(reset_at) - self.clock()
        return wait if int(remaining) <= 0 and wait > 0 else None

    def record(self, bucket: str, *, remaining: int, reset_at: float) -> None:
        key = _PREFIX + bucket
        with self.redis.pipeline() as pipe:
            pipe.hset(key, mapping={"remaining": remaining, "reset_at": reset_at})
            pipe.expireat(key, int(max(reset_at, self.clock())) + 60)
            pipe.execute()
