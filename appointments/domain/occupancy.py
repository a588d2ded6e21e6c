"""Occupancy versions: which office-days changed, from one query, and the tag of a search's answer.

Triggers on the appointments (migration 0013) give the (office, day) row of
`appointments_occupancyversion` a new number in the transaction of every booking, cancellation,
move, confirmation or expiry there; closures and hours are configuration and renew the
configuration's number (offices.config). A search's answer is therefore the same as long as these
numbers, its parameters and the minute of "now" (which decides the lead time and "today") are:
that is its tag, for `ETag` and `304 Not Modified`. Time alone frees a time too (a hold whose
`hold_expires_at` passes, a cancelled time whose delay runs out): within the minute of a tag such a
time may be shown taken a little longer, never a taken time free.

The free-time cache (appointments.domain.free_time_cache) keys each office-day's entry by these
numbers. A search whose `ETag` was just made hands the numbers it read on to its answer
(`current_versions`, within `offices.config.one_reading`): one query fewer, and still read before
any occupied time, which is the order that keeps the cache from going stale (see there).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection

from ikz_portal.clock import today
from offices import config
from offices.hours import epoch_seconds

if TYPE_CHECKING:
    from appointments.domain.availability import SlotRequest

TABLE = "appointments_occupancyversion"
# The row that every reader includes: a TRUNCATE of the appointments renews it.
GENERATION = (0, dt.date(2000, 1, 1))
# Where a search's tag leaves the numbers it read for the search's answer (offices.config.reading_memo).
MEMO_KEY = "occupancy.versions"


def read_versions(office_ids, first: dt.date, last: dt.date) -> dict[tuple[int, dt.date], int]:
    """{(office, day): number} of the office-days between `first` and `last` that have one (an
    office-day never changed since the triggers exist has none), and the generation's. One query."""
    office_ids = sorted(set(office_ids))
    if connection.vendor not in ("postgresql", "sqlite") or not office_ids:
        return {}
    marks = ", ".join(["%s"] * len(office_ids))
    dates: list = [first, last, GENERATION[1]]
    if connection.vendor == "sqlite":  # dates are text there
        dates = [day.isoformat() for day in dates]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT office_id, day, version FROM {TABLE} "
            f"WHERE (office_id IN ({marks}) AND day BETWEEN %s AND %s) OR (office_id = 0 AND day = %s)",
            [*office_ids, *dates],
        )
        rows = cursor.fetchall()
    return {
        (office_id, day if isinstance(day, dt.date) else dt.date.fromisoformat(day)): version
        for office_id, day, version in rows
    }


def current_versions(
    office_ids: Iterable[int], first: dt.date, last: dt.date, *, now: dt.datetime
) -> dict[tuple[int, dt.date], int]:
    """`read_versions`, or the numbers the tag of the same search read a moment ago in this request
    (taken once: a second search in the request, e.g. after a booking, reads afresh)."""
    office_ids = set(office_ids)
    memo = config.reading_memo()
    handed = memo.pop(MEMO_KEY, None) if memo is not None else None
    if handed is not None:
        at, offices, memo_first, memo_last, versions = handed
        if at == now and office_ids <= offices and memo_first <= first and last <= memo_last:
            return versions
    return read_versions(office_ids, first, last)


def search_tag(*, request: SlotRequest, now: dt.datetime, kind: str) -> str | None:
    """A tag that changes whenever the answer of this search (`kind`: which answer, e.g. "slots" or
    "days") could: its parameters, the configuration's number, the occupancy numbers of its
    office-days and the minute of `now`. None without a configuration number (no triggers, as on
    another database): then nothing can tell that an answer is still current."""
    from appointments.domain.availability import candidate_offices  # it reads the numbers from here

    configuration = config.current(now=now)
    if configuration.version is None or connection.vendor not in ("postgresql", "sqlite"):
        return None
    offices = candidate_offices(request.offices, configuration=configuration)
    first = max(request.date_from, today(now))
    office_ids = {office.id for office in offices}
    last = max(first, request.date_to)
    versions = read_versions(office_ids, first, last)
    memo = config.reading_memo()
    if memo is not None:
        memo[MEMO_KEY] = (now, office_ids, first, last, versions)
    # The lead time excludes a start while now + lead is past it. Grid starts and lead times are whole
    # minutes, so the answer is the same for every now within one minute (rounded up to the second).
    minute = -(-epoch_seconds(now, up=True) // 60)
    parts = [
        kind,
        configuration.version,
        sorted(service.id for service in request.services),
        request.vehicles,
        request.municipality.id,
        request.date_from.isoformat(),
        request.date_to.isoformat(),
        sorted(office.id for office in request.offices),
        settings.CANCELLED_SLOT_DELAY_MINUTES,
        minute,
        sorted((office_id, day.isoformat(), version) for (office_id, day), version in versions.items()),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
