"""Defences against appointment hoarding and bots: rate limits per client address and per e-mail
address, kept in the shared cache (Redis in production), and counts of what was refused.

Keys are hashes, so neither the cache nor the counts hold personal data.

When the shared cache cannot be reached, each process counts in its own memory (same keys, same
windows) until it can again. A client whose requests are spread over several processes then gets
up to that many times its limit for a while: a weaker limit beats refusing every booking, or
answering 500, because Redis is down.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.utils.translation import gettext_lazy as _

from appointments import shared_cache
from appointments.errors import ErrorCode, PortalError
from ikz_portal import clock

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RateLimited(PortalError):
    def __init__(self, retry_after: int):
        super().__init__(
            ErrorCode.RATE_LIMITED, _("Too many requests. Please try again later."), retry_after=retry_after
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


def parse_rate(text: str) -> Rate | None:
    """ "30/h" → 30 per hour; "" or "0" switches the limit off."""
    text = (text or "").strip()
    if not text or text == "0":
        return None
    count, _slash, unit = text.partition("/")
    number = "".join(c for c in unit if c.isdigit()) or "1"
    letter = (unit.strip(number) or "h")[0].lower()
    return Rate(int(count), int(number) * UNITS[letter])


def _digest(value: str) -> str:
    return hashlib.sha256(f"{settings.SECRET_KEY}:{value}".encode()).hexdigest()[:32]


def check_rate(scope: str, key: str, rate_setting: str, *, count: bool = True) -> None:
    """Count one attempt of `key` in `scope`; raise RateLimited with the seconds to wait when the
    limit is used up. With `count=False` only ask whether one more attempt would be allowed, without
    counting it: a page checks a later step's limit before the citizen invests in the step.

    A sliding window, approximated from two fixed windows: the previous window's count weighted by
    the part of it that still lies within one period back, plus the current window's count. A
    fixed window alone lets a client spend its limit at the end of one window and again at the
    start of the next: twice the limit within seconds. Two counters, read and counted in one round
    trip on Redis."""
    rate = parse_rate(rate_setting)
    if rate is None or not key:
        return
    now = clock.timestamp()
    window = int(now // rate.seconds)
    elapsed = (now - window * rate.seconds) / rate.seconds  # the part of this window that has passed, 0–1
    prefix = f"rl:{scope}:{_digest(key)}"
    # A window's count serves as the previous one during the next window: it lives two periods.
    if count:
        used, previous = _count_sliding(f"{prefix}:{window}", f"{prefix}:{window - 1}", timeout=2 * rate.seconds + 5)
    else:
        used, previous = _read_sliding(f"{prefix}:{window}", f"{prefix}:{window - 1}")
        used += 1  # the attempt asked about
    if previous * (1 - elapsed) + used > rate.count + 1e-6:  # not refused by a rounding error
        record_blocked(f"rate_limit_{scope}")
        raise RateLimited(retry_after=_seconds_until_allowed(rate, used, previous, now))


def _seconds_until_allowed(rate: Rate, used: int, previous: int, now: float) -> int:
    """When one more attempt would fit under the sliding estimate again (counting no new ones)."""
    window_start = (now // rate.seconds) * rate.seconds
    if used < rate.count and previous:
        # Still in this window, once enough of the previous one has slid out of the period.
        fraction = 1 - (rate.count - used - 1) / previous
        wait = window_start + fraction * rate.seconds - now
    else:
        # In the next window, when this window's count (then the previous one) has slid out enough.
        fraction = max(0.0, 1 - (rate.count - 1) / used) if used else 0.0
        wait = window_start + rate.seconds * (1 + fraction) - now
    return max(1, math.ceil(wait))


def _count_sliding(current_key: str, previous_key: str, *, timeout: int) -> tuple[int, int]:
    """Count one more attempt under `current_key`; return it with the count under `previous_key`
    (0 if none). In the shared cache while it answers, else in this process, like `_count`."""
    if shared_cache.usable():
        try:
            return _count_sliding_in_cache(current_key, previous_key, timeout=timeout)
        except shared_cache.ERRORS as error:
            shared_cache.failed(error, "rate limits count per process meanwhile")
    return _count_in_process(current_key, timeout=timeout), _read_in_process(previous_key)


def _read_sliding(current_key: str, previous_key: str) -> tuple[int, int]:
    """The counts under both keys, not counting (0 where none)."""
    if shared_cache.usable():
        try:
            values = cache.get_many([current_key, previous_key])
            return int(values.get(current_key) or 0), int(values.get(previous_key) or 0)
        except shared_cache.ERRORS as error:
            shared_cache.failed(error, "rate limits count per process meanwhile")
    return _read_in_process(current_key), _read_in_process(previous_key)


def _count_sliding_in_cache(current_key: str, previous_key: str, *, timeout: int) -> tuple[int, int]:
    """On Redis one round trip: SET NX with the expiry, INCR and GET of the previous window in one
    pipeline. Other caches: `_count_in_cache`, then a get."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        key = backend.make_and_validate_key(current_key)
        old = backend.make_and_validate_key(previous_key)
        pipeline = backend._cache.get_client(key, write=True).pipeline(transaction=False)
        pipeline.set(key, 0, ex=timeout, nx=True)
        pipeline.incr(key)
        pipeline.get(old)
        _created, used, previous = pipeline.execute()
        return int(used), int(previous or 0)
    used = _count_in_cache(current_key, timeout=timeout)
    return used, int(cache.get(previous_key) or 0)


def _count(cache_key: str, *, timeout: int) -> int:
    """Count one more attempt under `cache_key` (created with `timeout`); return the count. In the
    shared cache while it answers, else in this process."""
    if shared_cache.usable():
        try:
            return _count_in_cache(cache_key, timeout=timeout)
        except shared_cache.ERRORS as error:
            shared_cache.failed(error, "rate limits count per process meanwhile")
    return _count_in_process(cache_key, timeout=timeout)


def _count_in_cache(cache_key: str, *, timeout: int) -> int:
    """On Redis one round trip: SET NX with the expiry and INCR in one pipeline (Django's own add and
    incr take three, and a booking checks two limits). Other caches: add, then incr."""
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        key = backend.make_and_validate_key(cache_key)
        pipeline = backend._cache.get_client(key, write=True).pipeline(transaction=False)
        pipeline.set(key, 0, ex=timeout, nx=True)
        pipeline.incr(key)
        return int(pipeline.execute()[1])
    cache.add(cache_key, 0, timeout=timeout)
    try:
        return cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=timeout)
        return 1


_local_lock = threading.Lock()
_local_counts: dict[str, tuple[int, float]] = {}  # key: (count, expiry in clock.timestamp() seconds)
# Past this many keys the run-out ones are dropped; if all are live (a flood of addresses), the
# oldest half: memory stays bounded, and those clients' counts start again.
LOCAL_MAX_KEYS = 50_000


def _count_in_process(cache_key: str, *, timeout: int) -> int:
    """The stand-in while the shared cache is unreachable: a counter in this process's memory."""
    now = clock.timestamp()
    with _local_lock:
        count, expires_at = _local_counts.get(cache_key, (0, 0.0))
        if expires_at <= now:
            count, expires_at = 0, now + timeout
            if len(_local_counts) >= LOCAL_MAX_KEYS:
                run_out = [key for key, (_used, until) in _local_counts.items() if until <= now]
                for key in run_out or list(_local_counts)[: LOCAL_MAX_KEYS // 2]:
                    del _local_counts[key]
        _local_counts[cache_key] = (count + 1, expires_at)
        return count + 1


def _read_in_process(cache_key: str) -> int:
    """The count under `cache_key` in this process's memory (0 if none or run out), not counting."""
    with _local_lock:
        count, expires_at = _local_counts.get(cache_key, (0, 0.0))
    return count if expires_at > clock.timestamp() else 0


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or the proxy's X-Forwarded-For entry when the portal
    runs behind a trusted reverse proxy (TRUSTED_PROXY_COUNT)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def record_blocked(reason: str) -> None:
    """Count a refused attempt per day and reason (no address, no e-mail: only the number)."""
    from django.db.models import F

    from appointments.models import BlockedAttempt

    day = clock.today()
    _row, created = BlockedAttempt.objects.get_or_create(day=day, reason=reason, defaults={"count": 1})
    if not created:
        BlockedAttempt.objects.filter(day=day, reason=reason).update(count=F("count") + 1)
