"""The configuration that every search and every booking reads (offices, counters, hours, closures,
holiday openings, cooperation rules, services and municipalities), kept in memory per process
between requests.

It is never served stale: database triggers (migration 0008) give `ConfigVersion` a new number in
the transaction of every insert, update or delete on a configuration table, whatever writes it
(the admin, a management command, a bulk update, plain SQL). Each use reads that number, one
primary-key query instead of the twelve that loading takes, and loads afresh when it differs. The
number comes from a sequence (PostgreSQL) or at random (SQLite), never by counting up, so a rolled
back change cannot leave an old number that stands for other data. Appointments are not
configuration: the occupied times are read in every search, never from here.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import threading
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection

from ikz_portal.clock import today

from .hours import OfficeSchedule, load_office_schedules
from .models import ConfigVersion, CooperationRule, Municipality, Office, Service

# A cached configuration keeps closures and holiday openings from this many days before its day
# on: no search or online booking looks further back (the clerks' day views read afresh).
LOOKBACK_DAYS = 2
# No closure or holiday opening beyond this is needed: the longest horizon is 365 days.
LOOKAHEAD_DAYS = 400


@dataclass
class RuleRow:
    office_id: int
    administration_id: int
    valid_from: dt.date | None
    valid_until: dt.date | None
    service_ids: frozenset[int]
    rule: CooperationRule


@dataclass
class Configuration:
    """One reading of the configuration. Read-only for its users: it is shared between requests."""

    version: int | None
    day: dt.date
    offices: list[Office]  # every office, active or not, in name order, with its administration
    schedules: dict[int, OfficeSchedule]
    rules: list[RuleRow]
    services: dict[str, Service]  # by slug, with their documents
    municipalities: dict[str, Municipality]  # by slug, with their administration
    # What the users of a configuration work out from it once (e.g. the availability's rule book).
    derived: dict = field(default_factory=dict)

    @property
    def active_offices(self) -> list[Office]:
        return [office for office in self.offices if office.is_active]

    def covers(self, day: dt.date) -> bool:
        """Does this reading hold the closures and holiday openings of `day`?"""
        return self.day - dt.timedelta(days=LOOKBACK_DAYS) <= day <= self.day + dt.timedelta(days=LOOKAHEAD_DAYS)


def read_version() -> int | None:
    """The current configuration number; None when there is none (a freshly flushed database)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM offices_configversion WHERE id = %s", [ConfigVersion.SINGLETON])
        row = cursor.fetchone()
    return row[0] if row else None


def load(*, version: int | None, day: dt.date) -> Configuration:
    offices = list(Office.objects.select_related("administration").order_by("name", "id"))
    schedules = load_office_schedules(
        offices, day - dt.timedelta(days=LOOKBACK_DAYS), day + dt.timedelta(days=LOOKAHEAD_DAYS)
    )
    rules = list(CooperationRule.objects.all())
    # The services through their link table rather than by prefetching: with a rule per office and
    # partner (a state has hundreds), prefetching builds a related manager per rule.
    services = defaultdict(set)
    for rule_id, service_id in CooperationRule.services.through.objects.values_list("cooperationrule_id", "service_id"):
        services[rule_id].add(service_id)
    rows = [
        RuleRow(
            rule.office_id,
            rule.administration_id,
            rule.valid_from,
            rule.valid_until,
            frozenset(services[rule.id]),
            rule,
        )
        for rule in rules
    ]
    return Configuration(
        version=version,
        day=day,
        offices=offices,
        schedules=schedules,
        rules=rows,
        services={s.slug: s for s in Service.objects.prefetch_related("documents")},
        municipalities={m.slug: m for m in Municipality.objects.select_related("administration")},
    )


_cache = threading.local()  # one reading per thread: threads of a server never share a schedule's memo
_pinned: contextvars.ContextVar[dict | None] = contextvars.ContextVar("offices_config_pinned", default=None)
_memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar("offices_config_memo", default=None)


def current(*, now: dt.datetime) -> Configuration:
    """The configuration as the database holds it now (in this transaction), or as it was first
    read inside `one_reading`."""
    day = today(now)
    pinned = _pinned.get()
    if pinned is not None and day in pinned:
        return pinned[day]
    version = read_version()
    cached: Configuration | None = getattr(_cache, "configuration", None)
    if cached is not None and version is not None and cached.version == version and cached.day == day:
        configuration = cached
    else:
        configuration = load(version=version, day=day)
        # Without a number (no row), nothing tells a later change apart: such a reading is not kept.
        _cache.configuration = configuration if version is not None else None
    if pinned is not None:
        pinned[day] = configuration
    return configuration


@contextmanager
def one_reading():
    """Inside this block every use sees the configuration of its first one, read once: for a
    request that searches and books but changes no configuration itself (a change it made would
    not be seen), such as a booking through the API."""
    token, memo_token = _pinned.set({}), _memo.set({})
    try:
        yield
    finally:
        _pinned.reset(token)
        _memo.reset(memo_token)


def reading_memo() -> dict | None:
    """Inside `one_reading`: a dict that lives as long as the block, for what else its request reads
    once and hands on (the occupancy versions from a search's tag to its answer); None outside."""
    return _memo.get()
