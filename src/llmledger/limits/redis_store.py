"""Limit windows in Redis, shared by every process and machine (``limits_store: redis://...``).

One round trip per call: the check before the request is a single Lua script that also applies
the spend (cost and tokens) of this process's calls finished since its last check, so every update
is atomic and a call's spend needs no round trip of its own. Spend no check carries within
``FLUSH_INTERVAL_S`` (0.1 s) is sent by a background flush, the same script without a check, many
calls in one round trip (:mod:`llmledger.limits.redis_spend`). The script:

* seeds each hash it touches that does not exist yet from the ledger's month-to-date and
  day-to-date sums (when a ledger is configured: ``EXISTS`` then ``HSET`` inside the script, so the
  first process to touch a fresh window seeds it and no other does, and a fresh Redis does not
  reset a customer's month);
* adds the carried spend to the month and day hashes of each scope (``HINCRBY`` on integer
  picodollars and tokens) and refreshes their expiry;
* reads the checked scope's month and day hashes and, for ``calls_per_minute``, trims its
  rolling-minute sorted set, counts it and adds the call unless the rule blocks and a threshold
  is reached: the call limit is exact across processes.

Overshoot bound (USD and token limits). A call is let through while ``used < limit`` as Redis
sees it, and its spend reaches Redis after it finishes: with the next check of its process, or
by the flush at most ``FLUSH_INTERVAL_S`` after it finished (plus one round trip). So across all
processes the total ends below ``limit + (F + B) x C``, where ``C`` is the largest cost (or token
count) of one call, ``F`` the customer's calls in flight when the total crosses the limit, and
``B`` its calls finished but not yet in Redis then: at most those finished in the last
``FLUSH_INTERVAL_S`` plus one round trip. A thread calling in a loop sends its previous call's
spend with its own next check, so ``T`` threads calling in a loop keep ``F + B <= T`` (unless a
check's round trip is overtaken by another thread's whole call). Every check made after the
crossing round trip is refused. The previous design (spend on its own round trip after the call)
had the same bound with ``B = 0`` at the price of a second round trip per call.

Keys: ``llmledger:limit:{scope}:m:2026-12`` and ``...:d:2026-12-07`` (hashes ``usd``, ``tok``),
``llmledger:limit:{scope}:calls`` (sorted set). Months expire after 35 days, days after 2.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from llmledger.errors import ConfigError
from llmledger.limits.redis_spend import FLUSH_INTERVAL_S, Spend, SpendBuffer
from llmledger.limits.store import LimitStore, Thresholds, Totals
from llmledger.limits.windows import MINUTE_S, Moment

PREFIX = "llmledger:limit:"
MONTH_TTL_S = 35 * 86_400
DAY_TTL_S = 2 * 86_400
CARRY_MAX = 256
"""Buffered spends one check carries at most (the rest waits for the next check or the flush)."""

# KEYS: n spend pairs (month hash, day hash), then, for a check, the checked scope's month hash,
# day hash and calls zset. ARGV: n, seeding (1/0); per pair: picodollars, tokens and, when seeding,
# the seed (month usd, month tokens, day usd, day tokens; '' = none); for a check: when seeding the
# checked scope's seed (4), then now (ms), member, block (1/0), the limits month usd, day usd, month
# tokens, day tokens, calls ('' = none), reserve (1/0).
SCRIPT = """
local n, seeding = tonumber(ARGV[1]), ARGV[2] == '1'
local width, ttl = seeding and 6 or 2, {MONTH_TTL_S, DAY_TTL_S}
local function seed(key, usd, tok, expiry)
  if usd ~= '' and redis.call('EXISTS', key) == 0 then
    redis.call('HSET', key, 'usd', usd, 'tok', tok)
    redis.call('EXPIRE', key, expiry)
  end
end
for i = 1, n do
  local a, k = 2 + (i - 1) * width, (i - 1) * 2
  if seeding then
    seed(KEYS[k + 1], ARGV[a + 3], ARGV[a + 4], ttl[1])
    seed(KEYS[k + 2], ARGV[a + 5], ARGV[a + 6], ttl[2])
  end
  for j = 1, 2 do
    redis.call('HINCRBY', KEYS[k + j], 'usd', ARGV[a + 1])
    redis.call('HINCRBY', KEYS[k + j], 'tok', ARGV[a + 2])
    redis.call('EXPIRE', KEYS[k + j], ttl[j])
  end
end
if #KEYS == 2 * n then return 1 end
local c, k = 3 + n * width, 2 * n
if seeding then
  seed(KEYS[k + 1], ARGV[c], ARGV[c + 1], ttl[1])
  seed(KEYS[k + 2], ARGV[c + 2], ARGV[c + 3], ttl[2])
  c = c + 4
end
local m = redis.call('HMGET', KEYS[k + 1], 'usd', 'tok')
local d = redis.call('HMGET', KEYS[k + 2], 'usd', 'tok')
local used = {tonumber(m[1]) or 0, tonumber(d[1]) or 0, tonumber(m[2]) or 0, tonumber(d[2]) or 0}
local calls, oldest = 0, ''
local now = tonumber(ARGV[c])
local limit_calls = ARGV[c + 7]
if limit_calls ~= '' then
  redis.call('ZREMRANGEBYSCORE', KEYS[k + 3], '-inf', now - 60000)
  calls = redis.call('ZCARD', KEYS[k + 3])
  local first = redis.call('ZRANGE', KEYS[k + 3], 0, 0, 'WITHSCORES')
  if first[2] then oldest = first[2] end
end
local over = false
for i = 1, 4 do
  local limit = ARGV[c + 2 + i]
  if limit ~= '' and used[i] >= tonumber(limit) then over = true end
end
if limit_calls ~= '' and calls >= tonumber(limit_calls) then over = true end
if limit_calls ~= '' and ARGV[c + 8] == '1' and not (ARGV[c + 2] == '1' and over) then
  redis.call('ZADD', KEYS[k + 3], now, ARGV[c + 1])
  redis.call('PEXPIRE', KEYS[k + 3], 61000)
end
-- the stored integers as text: Lua numbers are doubles, exact only below 2^53
return {m[1] or '0', d[1] or '0', m[2] or '0', d[2] or '0', calls, oldest}
""".replace("MONTH_TTL_S", str(MONTH_TTL_S)).replace("DAY_TTL_S", str(DAY_TTL_S))

Seeds = Mapping[str, tuple[int, int, int, int]]
"""scope -> month picodollars, month tokens, day picodollars, day tokens (from the ledger)."""
_NO_SEED = ("", "", "", "")


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
    def __init__(self, url: str, *, timeout_s: float = 0.5, seeds: Seeds | None = None,
                 seeded_at: Moment | None = None, flush_interval_s: float = FLUSH_INTERVAL_S,
                 on_error: Callable[[str], None] = lambda what: None,
                 on_ok: Callable[[], None] = lambda: None) -> None:
        redis = require_redis()
        self._client = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                                            health_check_interval=0)
        self._script = self._client.register_script(SCRIPT)
        self._ids = itertools.count()
        self.description = "redis " + url.split("@")[-1]
        self.spend = SpendBuffer(self._send, interval_s=flush_interval_s, on_error=on_error, on_ok=on_ok)
        # the ledger's sums, for the month and day they were read in, until Redis has the scope
        self._seeds: dict[str, tuple[str, str, tuple[int, int, int, int]]] = {}
        if seeds and seeded_at is not None:
            self._seeds = {scope: (seeded_at.month, seeded_at.day, sums) for scope, sums in seeds.items()}

    def _seed(self, scope: str, month: str, day: str) -> tuple[int | str, ...]:
        found = self._seeds.get(scope)
        if found is None:
            return _NO_SEED
        seed_month, seed_day, (month_pusd, month_tokens, day_pusd, day_tokens) = found
        in_month, in_day = seed_month == month, seed_day == day
        return (month_pusd if in_month else "", month_tokens if in_month else "",
                day_pusd if in_day else "", day_tokens if in_day else "")

    def _spend_args(self, spends: list[Spend], seeding: bool, keys: list[str], args: list[Any]) -> None:
        for scope, month, day, pusd, tokens, _ in spends:
            keys += (f"{PREFIX}{scope}:m:{month}", f"{PREFIX}{scope}:d:{day}")
            args += (pusd, tokens, *self._seed(scope, month, day)) if seeding else (pusd, tokens)

    def _seeded(self, spends: list[Spend], scope: str | None) -> None:
        """The scopes a script touched exist in Redis now: their seeds are not needed again."""
        for spend in spends:
            self._seeds.pop(spend[0], None)
        if scope is not None:
            self._seeds.pop(scope, None)

    def check(self, scope: str, moment: Moment, limits: Thresholds) -> Totals:
        spends = self.spend.take(CARRY_MAX) if self.spend.pending() else []
        seeding = bool(self._seeds)
        keys: list[str] = []
        args: list[Any] = [len(spends), "1" if seeding else "0"]
        if spends:
            self._spend_args(spends, seeding, keys, args)
        keys += (f"{PREFIX}{scope}:m:{moment.month}", f"{PREFIX}{scope}:d:{moment.day}", f"{PREFIX}{scope}:calls")
        if seeding:
            args += self._seed(scope, moment.month, moment.day)
        args += (int(moment.now * 1000), f"{moment.now:.6f}:{os.getpid()}:{next(self._ids)}" if limits.calls else "",
                 "1" if limits.block else "0", _opt(limits.month_pusd), _opt(limits.day_pusd),
                 _opt(limits.month_tokens), _opt(limits.day_tokens), _opt(limits.calls),
                 "1" if limits.reserve else "0")
        try:
            found = self._script(keys=keys, args=args)
        except Exception:
            if spends:
                self.spend.put_back(spends)
            raise
        if seeding:
            self._seeded(spends, scope)
        oldest = float(found[5]) / 1000 if found[5] not in (b"", "", None) else None
        return Totals(int(found[0]), int(found[1]), int(found[2]), int(found[3]), int(found[4]), oldest)

    def add(self, scopes: Sequence[str], moment: Moment, pusd: int, tokens: int) -> None:
        """Buffer the spend (no round trip): the next check carries it, or the flush sends it."""
        at = time.monotonic()
        for scope in scopes:
            self.spend.add((scope, moment.month, moment.day, pusd, tokens, at))

    def _send(self, spends: list[Spend]) -> None:
        seeding = bool(self._seeds)
        keys: list[str] = []
        args: list[Any] = [len(spends), "1" if seeding else "0"]
        self._spend_args(spends, seeding, keys, args)
        self._script(keys=keys, args=args)
        if seeding:
            self._seeded(spends, None)

    def close(self) -> None:
        self.spend.close()
        self._client.close()


__all__ = ["MINUTE_S", "RedisStore", "require_redis"]
