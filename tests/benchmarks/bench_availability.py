"""Availability in-process on PostgreSQL: an any-office search over 8 weeks and over one day, for a
single and a multi-concern request, beside the bare SQL that fetches the same appointments and
hours (the floor any engine pays: the rows have to come out of the database)."""

from __future__ import annotations

import datetime as dt
import gc
import math
import time
from dataclasses import dataclass

from django.db import connection
from django.test.utils import CaptureQueriesContext
from psycopg.types.datetime import TimestamptzLoader

from appointments.domain.availability import SlotRequest, busy_intervals, find_slots, nearest_slots, occupied_by_counter
from appointments.models import EXPIRING_STATUSES, LIVE_STATUSES
from offices.hours import BERLIN, is_public_holiday, load_office_schedules, local
from offices.models import Municipality, Office, Service

MUNICIPALITY = "schifferstadt"  # a Rhein-Pfalz-Kreis resident: every office of the data set may serve them
REQUESTS = {
    "single": (["umschreibung"], 1),  # 15 minutes
    "multi": (["umschreibung", "adressaenderung"], 2),  # 30 + 15 minutes
}
# The longest an appointment can last: it lies within one working interval, and those lie within
# one day. The floor query bounds `start` from below with it, as an index range needs.
LOOKBACK = dt.timedelta(days=1, hours=1)

FLOOR_SQL = """
SELECT counter_id, start, "end" FROM appointments_appointment
WHERE counter_id = ANY(%(counters)s) AND start >= %(lower)s AND start < %(end)s AND "end" > %(start)s
  AND status = ANY(%(live)s)
  AND NOT (status = ANY(%(expiring)s) AND hold_expires_at IS NOT NULL AND hold_expires_at <= %(now)s)
"""
FLOOR_HOURS_SQL = [
    "SELECT id, office_id FROM offices_counter WHERE office_id = ANY(%(offices)s) AND is_active",
    "SELECT office_id, counter_id, weekday, opens, closes FROM offices_openinghours WHERE office_id = ANY(%(offices)s)",
    (
        "SELECT office_id, counter_id, start_date, end_date, start_time, end_time FROM offices_closure "
        "WHERE office_id = ANY(%(offices)s) AND start_date <= %(last)s AND end_date >= %(first)s"
    ),
]


@dataclass
class Row:
    data_set: str
    search: str
    request: str
    median_ms: float
    p95_ms: float
    queries: int
    slots: int
    busy_rows: int
    floor_median_ms: float
    floor_p95_ms: float
    cpu_median_ms: float = float("nan")  # this process's CPU per search: what the code costs

    @property
    def ratio(self) -> float:
        return self.p95_ms / self.floor_p95_ms if self.floor_p95_ms else float("nan")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def timed(fn, runs: int, warmup: int = 2, cpu: list | None = None) -> list[float]:
    """Wall-clock milliseconds per call; with `cpu`, this process's CPU milliseconds go there too
    (on a busy machine wall time includes waiting for a core, CPU time much less so)."""
    for _ in range(warmup):
        fn()
    durations = []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        fn()
        durations.append((time.perf_counter() - began) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - began_cpu) * 1000)
    return durations


def one_day(today: dt.date) -> dt.date:
    """A working day a week ahead: far enough for the lead time, not a holiday."""
    day = today + dt.timedelta(days=7)
    while day.weekday() >= 5 or is_public_holiday(day):
        day += dt.timedelta(days=1)
    return day


def floor(*, offices, counter_ids, date_from, date_to, now):
    """The bare SQL: the live appointments of the range and the hours, counters and closures."""
    start = local(date_from, dt.time(0))
    end = local(date_to + dt.timedelta(days=1), dt.time(0))
    params = {
        "counters": counter_ids,
        "lower": start - LOOKBACK,
        "start": start,
        "end": end,
        "live": [str(s) for s in LIVE_STATUSES],
        "expiring": [str(s) for s in EXPIRING_STATUSES],
        "now": now,
        "offices": [o.id for o in offices],
        "first": date_from,
        "last": date_to,
    }
    connection.ensure_connection()
    raw = connection.connection

    def run():
        with raw.cursor() as cursor:
            cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
            cursor.execute(FLOOR_SQL, params)
            rows = cursor.fetchall()
            for sql in FLOOR_HOURS_SQL:
                cursor.execute(sql, params)
                cursor.fetchall()
        return rows

    return run


def measure(data_set, *, runs_range: int, runs_day: int) -> list[Row]:
    # As the portal's web and Celery processes do once they are set up (ikz_portal/wsgi.py): what
    # exists now lives on, and the garbage collector's full collections need not walk it.
    gc.collect()
    gc.freeze()
    now = data_set.now
    today = now.astimezone(BERLIN).date()
    municipality = Municipality.objects.select_related("administration").get(slug=MUNICIPALITY)
    offices = list(Office.objects.filter(is_active=True).select_related("administration"))
    day = one_day(today)
    searches = {"8 weeks": (today, data_set.date_to, runs_range), "1 day": (day, day, runs_day)}
    rows = []
    for search, (date_from, date_to, runs) in searches.items():
        for label, (slugs, vehicles) in REQUESTS.items():
            services = tuple(Service.objects.get(slug=slug) for slug in slugs)
            request = SlotRequest(
                services=services, vehicles=vehicles, municipality=municipality, date_from=date_from, date_to=date_to
            )
            schedules = load_office_schedules(offices, date_from, date_to)
            counter_ids = [c.id for s in schedules.values() for c in s.counters_for({s.id for s in services})]
            bare = floor(offices=offices, counter_ids=counter_ids, date_from=date_from, date_to=date_to, now=now)
            busy_rows = len(bare())
            # The same rows as the engine reads (a check that the floor is a fair one).
            engine_rows = sum(
                1
                for _ in busy_intervals(
                    counter_ids, local(date_from, dt.time(0)), local(date_to + dt.timedelta(days=1), dt.time(0)), now
                )
            )
            assert busy_rows > 0 and engine_rows > 0
            # Queries with the configuration in memory, as every search but the first after a
            # change of it finds it (that one reads it too: a fixed number more).
            find_slots(request=request, now=now)
            with CaptureQueriesContext(connection) as queries:
                slots = find_slots(request=request, now=now)
            cpu: list[float] = []
            durations = timed(lambda request=request: find_slots(request=request, now=now), runs, cpu=cpu)
            floor_durations = timed(bare, runs)
            rows.append(
                Row(
                    data_set=data_set.name,
                    search=search,
                    request=label,
                    median_ms=percentile(durations, 50),
                    p95_ms=percentile(durations, 95),
                    queries=len(queries),
                    slots=len(slots),
                    busy_rows=busy_rows,
                    floor_median_ms=percentile(floor_durations, 50),
                    floor_p95_ms=percentile(floor_durations, 95),
                    cpu_median_ms=percentile(cpu, 50),
                )
            )
    # The "just taken" answer of a booking: the nearest free slots within -3..+7 days.
    services = (Service.objects.get(slug="umschreibung"),)
    office = Office.objects.get(slug="schifferstadt")
    around = local(day, dt.time(9))

    def alternatives():
        return nearest_slots(
            office=office, services=services, vehicles=1, municipality=municipality, around=around, now=now, count=5
        )

    alternatives()
    with CaptureQueriesContext(connection) as queries:
        found = alternatives()
    cpu = []
    durations = timed(alternatives, runs_day, cpu=cpu)
    rows.append(
        Row(
            data_set=data_set.name,
            search="alternatives (409)",
            request="single",
            median_ms=percentile(durations, 50),
            p95_ms=percentile(durations, 95),
            queries=len(queries),
            slots=len(found),
            busy_rows=0,
            floor_median_ms=float("nan"),
            floor_p95_ms=float("nan"),
            cpu_median_ms=percentile(cpu, 50),
        )
    )
    return rows


def explain_busy_query(data_set) -> str:
    """The plan of the query for the occupied times of the 8-week search (EXPLAIN ANALYZE): the one
    `find_slots` runs, whole seconds grouped per counter."""
    now = data_set.now
    today = now.astimezone(BERLIN).date()
    offices = list(Office.objects.filter(is_active=True))
    schedules = load_office_schedules(offices, today, data_set.date_to)
    counter_ids = [c.id for s in schedules.values() for c in s.counters]
    start, end = local(today, dt.time(0)), local(data_set.date_to + dt.timedelta(days=1), dt.time(0))
    with CaptureQueriesContext(connection) as queries:
        occupied_by_counter(counter_ids, start, end, now)
    # The query on the appointments (the recently freed times follow it in a small query of their own).
    sqls = [q["sql"] for q in queries.captured_queries]
    sql = next((q for q in sqls if '"appointments_appointment"' in q), sqls[-1])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())
