"""The free time of each office-day, computed once per change and reused by every search, in every
process, until the database says it changed or time alone changes it.

The unit is one office-day: per counter that takes online bookings, its free intervals that day
(working time minus everything that occupies it online), in whole seconds since the epoch, before
the lead time cuts them (that moves with the clock and is applied on reading), and the seconds booked
there by residents of other administrations (for the local reserve). Nothing in it depends on the
concerns, the number of vehicles or the citizen: every search of that office and day composes its
answer from the same entry (availability._free_runs).

An entry's key: the configuration's number (hours, closures, counters: offices.config), the
cancelled-slot delay, the generation's number and the office-day's occupancy number
(appointments.domain.occupancy; 0 for an office-day that never changed, whose row does not exist).
An entry is valid from the moment it was computed until the first moment at which time alone frees
something in it (a hold's `hold_expires_at`, the end of a cancelled or moved-away time's delay):
at or after `valid_until`, or before `valid_from`, it counts as missing.

Where: a dict in the process, and Django's cache when it is shared (Redis): one `get_many` for the
entries the process does not hold. Redis is an accelerator: when it fails, the process leaves it
alone for a while (appointments.shared_cache) and computes the entries itself.

Never stale. A booking's transaction renews its office-day's number (database triggers), so after
its commit every reader of the numbers sees the new one. A search reads the numbers FIRST (one
query, or the one its `ETag` was made from earlier in the same request) and the occupied times
AFTERWARDS, in a later statement: on PostgreSQL (READ COMMITTED: each statement sees what was
committed when it began) and on SQLite, the occupied times are then at least as new as the numbers.
So an entry stored under number v holds at least everything committed before v was read; a booking
committed after that gives its office-day a new number, under which that entry is never read
again. (In the other order, a search could read the occupied times before a booking's commit and
the new number after it, and store the old times under the new number: shown free for good.)
The booking itself never reads from here: it decides from the database under its locks.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection

from appointments import shared_cache
from appointments.domain import occupancy
from offices.config import Configuration

# Part of every key: a new shape of the entries gets new keys (processes of two releases may share
# one Redis for a moment).
FORMAT = 1
# How long Redis keeps an entry at most; an entry under an outdated number is never read again.
SHARED_SECONDS = 6 * 3600
# Entries a process keeps; beyond that it starts afresh (cheaper than bookkeeping on every read).
LOCAL_ENTRIES = 20_000


class Entry(NamedTuple):
    """One office-day's free time (see the module's docstring)."""

    free: dict[int, tuple[tuple[int, int], ...]]  # counter id -> free intervals, seconds since the epoch
    partner_seconds: int  # booked by residents of other administrations (the local reserve)
    valid_from: dt.datetime
    valid_until: dt.datetime | None  # None: until the number changes

    def valid_at(self, now: dt.datetime) -> bool:
        return self.valid_from <= now and (self.valid_until is None or now < self.valid_until)


OfficeDay = tuple[int, dt.date]
# What computes missing entries: {office id: its days} -> {(office id, day): entry}, in ONE query.
Compute = Callable[[dict[int, list[dt.date]]], dict[OfficeDay, Entry]]

_local: dict[tuple, Entry] = {}
_local_lock = threading.Lock()


def office_days(
    wanted: dict[int, list[dt.date]], *, configuration: Configuration, now: dt.datetime, compute: Compute
) -> dict[OfficeDay, Entry]:
    """The entries of `wanted` ({office id: days}): from the process, then from the shared cache, and
    the rest from `compute` (stored for the next search). Without a configuration number (or on a
    database without occupancy numbers) nothing tells a change apart: everything is computed."""
    wanted = {office_id: days for office_id, days in wanted.items() if days}
    if not wanted:
        return {}
    if configuration.version is None or connection.vendor not in ("postgresql", "sqlite"):
        return compute(wanted)
    first = min(days[0] for days in wanted.values())
    last = max(days[-1] for days in wanted.values())
    # Before anything of the occupancy is read: see "Never stale" above.
    versions = occupancy.current_versions(wanted, first, last, now=now)
    base = (FORMAT, configuration.version, settings.CANCELLED_SLOT_DELAY_MINUTES, versions.get(occupancy.GENERATION, 0))
    keys = {
        (office_id, day): (*base, office_id, day.toordinal(), versions.get((office_id, day), 0))
        for office_id, days in wanted.items()
        for day in days
    }
    found: dict[OfficeDay, Entry] = {}
    missing: dict[OfficeDay, tuple] = {}
    for office_day, key in keys.items():
        entry = _local.get(key)
        if entry is not None and entry.valid_at(now):
            found[office_day] = entry
        else:
            missing[office_day] = key
    if missing:
        for office_day, entry in _shared_get(missing, now).items():
            found[office_day] = entry
            _remember(missing.pop(office_day), entry)
    if missing:
        todo: dict[int, list[dt.date]] = {}
        for office_id, day in sorted(missing):
            todo.setdefault(office_id, []).append(day)
        computed = compute(todo)
        for office_day, key in missing.items():
            _remember(key, computed[office_day])
        _shared_set({missing[office_day]: entry for office_day, entry in computed.items()})
        found.update(computed)
    return found


def forget() -> None:
    """Drop the entries this process holds (the shared cache keeps its own)."""
    with _local_lock:
        _local.clear()


def _remember(key: tuple, entry: Entry) -> None:
    if len(_local) >= LOCAL_ENTRIES:
        with _local_lock:
            if len(_local) >= LOCAL_ENTRIES:
                _local.clear()
    _local[key] = entry


def _shared() -> bool:
    """Is Django's cache shared between processes? The in-process one only doubles the dict above."""
    return not isinstance(caches["default"], LocMemCache) and shared_cache.usable()


def _shared_key(key: Iterable) -> str:
    return "free:" + ":".join(str(part) for part in key)


def _shared_get(missing: dict[OfficeDay, tuple], now: dt.datetime) -> dict[OfficeDay, Entry]:
    if not _shared():
        return {}
    names = {_shared_key(key): office_day for office_day, key in missing.items()}
    try:
        stored = cache.get_many(list(names))
    except shared_cache.ERRORS as error:
        shared_cache.failed(error, "free times are computed in each process meanwhile")
        return {}
    return {
        names[name]: entry
        for name, entry in stored.items()
        if isinstance(entry, Entry) and entry.valid_at(now)  # an entry of another shape is missing
    }


def _shared_set(entries: dict[tuple, Entry]) -> None:
    if not entries or not _shared():
        return
    try:
        cache.set_many({_shared_key(key): entry for key, entry in entries.items()}, timeout=SHARED_SECONDS)
    except shared_cache.ERRORS as error:
        shared_cache.failed(error, "free times are computed in each process meanwhile")
