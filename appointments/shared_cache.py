"""Redis (the shared cache, and as a rule the task broker) as an accelerator, never a single point
of failure: callers fall back when it fails, and this module keeps a process from asking a Redis
that just failed again at every request.

After a failure the process leaves Redis alone for REDIS_RETRY_SECONDS, so a Redis that does not
answer costs one timeout (REDIS_TIMEOUT_SECONDS) per process and period instead of one per request,
and it warns at most once a minute instead of once per request.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# What a cache call raises when Redis is stopped, unreachable or too slow.
ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)
WARNING_INTERVAL_SECONDS = 60.0

_lock = threading.Lock()
# Elapsed time on the monotonic clock, not the portal's clock: a back-off measures how long this
# process has waited, whatever date the portal's clock says (tests freeze that one).
_retry_at = float("-inf")
_warned_at = float("-inf")


def usable() -> bool:
    """False for REDIS_RETRY_SECONDS after a failure: skip Redis and take the fallback at once."""
    return time.monotonic() >= _retry_at


def failed(error: BaseException, fallback: str) -> None:
    """Note that a call to Redis failed with `error`; `fallback` says what the portal does instead."""
    global _retry_at, _warned_at
    now = time.monotonic()
    with _lock:
        _retry_at = now + settings.REDIS_RETRY_SECONDS
        if now - _warned_at < WARNING_INTERVAL_SECONDS:
            return
        _warned_at = now
    log.warning(
        "Redis cannot be reached (%s: %s); %s. Trying again in %s s; this warning repeats at most once a minute.",
        type(error).__name__,
        error,
        fallback,
        settings.REDIS_RETRY_SECONDS,
    )
