"""Limit windows in Redis, shared by every process and machine (``limits_store: redis://...``).

Each call costs one round trip before the request and one after the response, each a single Lua
script, so every update is atomic:

* ``check`` reads the scope's month and day hashes and, for ``calls_per_minute``, trims the
  scope's rolling-minute sorted set, counts it and adds the call unless the rule blocks and a
  threshold is reached: the call limit is exact across processes.
* ``add`` increments the month and day hashes of each scope the call counts for (``HINCRBY`` on
  integer picodollars and tokens) and refreshes their expiry.

Overshoot bound (USD and token limits): a call is let through while ``used < limit`` and its spend
is added when it finishes, so the calls already in flight when the total crosses the limit still
finish. Across all processes, ``used`` ends below ``limit + N x C`` where ``N`` is the number of
that customer's calls in flight at once and ``C`` the largest cost (or token count) of one call.
Every call checked after the crossing call's ``add`` returned is refused.

Keys: ``llmledger:limit:{scope}:m:2026-12`` and ``...:d:2026-12-07`` (hashes ``usd``, ``tok``),
``llmledger:limit:{scope}:calls`` (sorted set). Months expire after 35 days, days after 2.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from typing import Any

from llmledger.errors import ConfigError
from llmledger.limits.store import LimitStore, Thresholds, Totals
from llmledger.limits.windows import MINUTE_S, Moment

PREFIX = "llmledger:limit:"
MONTH_TTL_S = 35 * 86_400
DAY_TTL_S = 2 * 86_400

# KEYS: month hash, day hash, calls zset. ARGV: now (ms), member, block (1/0), then the limits
# month usd, day usd, month tokens, day tokens, calls ('' = none), reserve (1/0).
CHECK_SCRIPT = """
local m = redis.call('HMGET', KEYS[1], 'usd', 'tok')
local d = redis.call('HMGET', KEYS[2], 'usd', 'tok')
local used = {tonumber(m[1]) or 0, tonumber(d[1]) or 0, tonumber(m[2]) or 0, tonumber(d[2]) or 0}
local calls, oldest = 0, ''
local now = tonumber(ARGV[1])
if ARGV[8] ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 60000)
  calls = redis.call('ZCARD', KEYS[3])
  local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  if first[2] then oldest = first[2] end
end
local over = false
for i = 1, 4 do
  if ARGV[3 + i] ~= '' and used[i] >= tonumber(ARGV[3 + i]) then over = true end
end
if ARGV[8] ~= '' and calls >= tonumber(ARGV[8]) then over = true end
if ARGV[8] ~= '' and ARGV[9] == '1' and not (ARGV[3] == '1' and over) then
  redis.call('ZADD', KEYS[3], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[3], 61000)
end
-- the stored integers as text: Lua numbers are doubles, exact only below 2^53
return {m[1] or '0', d[1] or '0', m[2] or '0', d[2] or '0', calls, oldest}
"""

# KEYS: month hash, day hash of each scope. ARGV: picodollars, tokens, month ttl, day ttl.
ADD_SCRIPT = """
for i = 1, #KEYS, 2 do
  redis.call('HINCRBY', KEYS[i], 'usd', ARGV[1])
  redis.call('HINCRBY', KEYS[i], 'tok', ARGV[2])
  redis.call('EXPIRE', KEYS[i], ARGV[3])
  redis.call('HINCRBY', KEYS[i + 1], 'usd', ARGV[1])
  redis.call('HINCRBY', KEYS[i + 1], 'tok', ARGV[2])
  redis.call('EXPIRE', KEYS[i + 1], ARGV[4])
end
return 1
"""


def require_redis() -> Any:
    try:
        import redis
    except ImportError:
        raise ConfigError("limits_store is a Redis URL but the Redis client is not installed: "
                          "pip install 'llmledger[redis]'", key="limits_store") from None
    return redis


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


class RedisStore(LimitStore):
    def __init__(self, url: str, *, timeout_s: float = 0.5) -> None:
        redis = require_redis()
        self._client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                            health_check_interval=0)
        self._check = self._client.register_script(CHECK_SCRIPT)
        self._add = self._client.register_script(ADD_SCRIPT)
        self._ids = itertools.count()
        self.description = "redis " + url.split("@")[-1]

    def _keys(self, scope: str, moment: Moment) -> tuple[str, str]:
        return f"{PREFIX}{scope}:m:{moment.month}", f"{PREFIX}{scope}:d:{moment.day}"

    def check(self, scope: str, moment: Moment, limits: Thresholds) -> Totals:
        month, day = self._keys(scope, moment)
        member = f"{moment.now:.6f}:{os.getpid()}:{next(self._ids)}"
        found = self._check(keys=[month, day, f"{PREFIX}{scope}:calls"], args=[
            int(moment.now * 1000), member, "1" if limits.block else "0", _opt(limits.month_pusd),
            _opt(limits.day_pusd), _opt(limits.month_tokens), _opt(limits.day_tokens), _opt(limits.calls),
            "1" if limits.reserve else "0"])
        oldest = float(found[5]) / 1000 if found[5] not in (b"", "", None) else None
        return Totals(int(found[0]), int(found[1]), int(found[2]), int(found[3]), int(found[4]), oldest)

    def add(self, scopes: Sequence[str], moment: Moment, pusd: int, tokens: int) -> None:
        keys = [key for scope in scopes for key in self._keys(scope, moment)]
        self._add(keys=keys, args=[pusd, tokens, MONTH_TTL_S, DAY_TTL_S])

    def close(self) -> None:
        self._client.close()


__all__ = ["MINUTE_S", "RedisStore", "require_redis"]
