"""What a process keeps in memory between requests, and so between tests: the shared cache's memory
of a failed Redis (appointments.shared_cache) and the per-process stand-in counters of the rate
limits (appointments.security.limits). Tests forget both; the portal itself never needs to."""

from appointments import shared_cache
from appointments.security import limits


def forget_redis_failures() -> None:
    """As if Redis had never failed: the next cache call tries it again at once."""
    with shared_cache._lock:
        shared_cache._retry_at = shared_cache._warned_at = float("-inf")


def forget_local_counts() -> None:
    """Drop the counts the rate limits kept in this process while Redis was unreachable."""
    with limits._local_lock:
        limits._local_counts.clear()
