"""The read side: which start times are free, per office, for a citizen's request.

The booking service asks the same functions which counters are free for one interval, so that
what is shown is exactly what can be booked. A search takes the configuration and the cooperation
rules from memory (offices.config: one query to know they are current) and reads the occupied
intervals in one query, whatever the date range, and then works in memory, in whole seconds since
the epoch, linear in the number of appointments and candidate start times.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from django.conf import settings
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import BigIntegerField, CharField, DateTimeField, F, Func, Q, Value
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from appointments.domain import free_time_cache
from appointments.errors import ErrorCode, PortalError
from appointments.models import EXPIRING_STATUSES, Appointment, FreedTime, Status
from ikz_portal import clock
from ikz_portal.clock import today
from offices import config
from offices.config import Configuration
from offices.hours import BERLIN, Interval, OfficeSchedule, epoch_seconds, load_office_schedules, local, subtract
from offices.models import Administration, Municipality, Office, Service


class AvailabilityError(PortalError):
    pass


@dataclass(frozen=True)
class SlotRequest:
    services: tuple[Service, ...]
    vehicles: int
    municipality: Municipality
    date_from: dt.date
    date_to: dt.date
    offices: tuple[Office, ...] = ()  # empty: every office the cooperation allows

    @property
    def service_ids(self) -> set[int]:
        return {s.id for s in self.services}


@dataclass(frozen=True)
class Slot:
    office: Office
    start: dt.datetime
    end: dt.datetime


def duration_minutes(services, vehicles: int) -> int:
    """Length of an appointment: each service's minutes for the first vehicle and each further one."""
    return sum(service.minutes_for(vehicles) for service in services)


def check_request(*, services, vehicles: int, municipality: Municipality | None, online: bool = True) -> None:
    """Reject a request that no office could serve, with the field it concerns."""
    if not services:
        raise AvailabilityError(ErrorCode.INVALID, _("Please choose at least one concern."), field="services")
    if online:
        offline = [s for s in services if not s.bookable_online]
        if offline:
            raise AvailabilityError(
                ErrorCode.NOT_BOOKABLE_ONLINE,
                _("“%(service)s” cannot be booked online. Please contact the office.") % {"service": offline[0].name},
                field="services",
            )
    if vehicles < 1:
        raise AvailabilityError(ErrorCode.INVALID, _("At least one vehicle."), field="vehicles")
    limit = min(s.max_vehicles for s in services)
    if vehicles > limit:
        raise AvailabilityError(
            ErrorCode.TOO_MANY_VEHICLES,
            ngettext_lazy(
                "At most %(limit)s vehicle can be handled in one appointment for these concerns.",
                "At most %(limit)s vehicles can be handled in one appointment for these concerns.",
                "limit",
            )
            % {"limit": limit},
            field="vehicles",
        )
    if municipality is None:
        raise AvailabilityError(
            ErrorCode.OUTSIDE_AREA,
            _("Your municipality is not in the Rhein-Pfalz-Kreis or in Frankenthal (Pfalz)."),
            field="municipality",
        )


class RuleBook:
    """The cooperation rules, read once: may an office serve this administration's residents?"""

    def __init__(self, rules):
        self.rules = defaultdict(list)
        for row in rules:
            self.rules[(row.office_id, row.administration_id)].append(
                (row.valid_from, row.valid_until, row.service_ids, row.rule)
            )

    @classmethod
    def of(cls, configuration: Configuration) -> RuleBook:
        """The rule book of a configuration, worked out once for as long as it is current."""
        book = configuration.derived.get(cls)
        if book is None:
            book = configuration.derived[cls] = cls(configuration.rules)
        return book

    def allows(self, office: Office, administration_id: int, service_ids: set[int], day: dt.date) -> bool:
        # An office is always competent for its own administration's residents (FZV § 75(2)).
        if office.administration_id == administration_id:
            return True
        for valid_from, valid_until, ids, rule in self.rules.get((office.id, administration_id), ()):
            if (valid_from and day < valid_from) or (valid_until and day > valid_until):
                continue
            # Only these services, or all but these (pool-excluded: home office only).
            if rule.covers(service_ids, ids):
                return True
        return False


def candidate_offices(offices=(), *, configuration: Configuration | None = None) -> list[Office]:
    """The active offices (of `offices`, when given), in name order."""
    if configuration is None:
        configuration = config.current(now=clock.now())
    wanted = {o.id for o in offices}
    return [o for o in configuration.active_offices if not wanted or o.id in wanted]


# An appointment lies within one working interval, and working intervals lie within one day (25
# hours on the autumn clock change): none starts longer than this before it ends. The lower bound
# on `start` it gives lets PostgreSQL read a range of the (counter, start) index instead of every
# row of the counter's past.
LONGEST_APPOINTMENT = dt.timedelta(days=2)


def _fetch(queryset) -> list[tuple]:
    """The rows of a values_list query. On PostgreSQL through psycopg's own C loader for timestamps:
    Django registers a pure-Python one (to set its time zone), which costs about seven times as
    much per value, and an 8-week search reads two per appointment. The connection's time zone is
    UTC, so the values are the same."""
    if connection.vendor != "postgresql":
        return list(queryset)
    return _fetch_sql(*queryset.query.sql_with_params())


def _fetch_sql(sql: str, params) -> list[tuple]:
    from psycopg.types.datetime import TimestamptzLoader

    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        return cursor.fetchall()


def _taken(now, *, online=True):
    """The appointments that occupy their counter at `now`: the one definition of "taken" for
    searching and for booking. Online, a time cancelled within CANCELLED_SLOT_DELAY_MINUTES too."""
    occupying = Appointment.objects.occupying(now)
    if online and settings.CANCELLED_SLOT_DELAY_MINUTES:
        since = now - dt.timedelta(minutes=settings.CANCELLED_SLOT_DELAY_MINUTES)
        occupying = occupying | Appointment.objects.filter(status=Status.CANCELLED, cancelled_at__gt=since)
    return occupying


def _occupying(counter_ids, start, end, now, *, ignore=None, online=True):
    """Everything that occupies a counter between `start` and `end` (`_taken`)."""
    return (
        _taken(now, online=online)
        .filter(counter_id__in=counter_ids, start__gte=start - LONGEST_APPOINTMENT, start__lt=end, end__gt=start)
        .exclude(pk=ignore)
        # No ORDER BY: the model's ordering would join counter and office and sort every row.
        .order_by()
    )


# Stand-ins for the values of an occupancy query while its SQL is compiled once per shape: none of
# them can be a real value, and each tells which parameter it stands for.
_START = dt.datetime(1970, 1, 10, tzinfo=dt.UTC)
_END = dt.datetime(1970, 1, 20, tzinfo=dt.UTC)
_NOW = dt.datetime(1970, 2, 1, tzinfo=dt.UTC)
_IGNORE = -987_654_321
_compiled: dict = {}


def _fetch_occupying(shape: tuple, query: Callable, counter_ids, start, end, now, ignore=None) -> list[tuple]:
    """`_fetch(query(counter_ids, start, end, now, ignore))`, with the SQL compiled once per shape.

    Django builds and compiles a queryset anew for each use, which costs about as much as running
    it for one day: a booking pays it once, a "just taken" answer twice. The SQL depends only on
    the shape (`shape`, how many counters, whether an appointment is ignored, the cancelled-slot
    delay); the values only fill its parameters. So the queryset is compiled once with stand-in
    values, and each parameter is known by the stand-in it received. Anything unexpected in the
    compiled parameters, and that shape is always built by the ORM instead.
    """
    counter_ids = list(dict.fromkeys(counter_ids))
    if connection.vendor != "postgresql" or not counter_ids:
        return _fetch(query(counter_ids, start, end, now, ignore))
    delay = dt.timedelta(minutes=settings.CANCELLED_SLOT_DELAY_MINUTES)
    key = (shape, len(counter_ids), ignore is None, delay)
    compiled = _compiled.get(key)
    if compiled is None:
        compiled = _compiled[key] = _compile_occupying(query, len(counter_ids), ignore is not None, delay)
    if not compiled:
        return _fetch(query(counter_ids, start, end, now, ignore))
    sql, roles = compiled
    values = {
        "start": start,
        "end": end,
        "now": now,
        "lower": start - LONGEST_APPOINTMENT,
        "since": now - delay,
        "ignore": ignore,
    }
    params = [
        counter_ids[what] if kind == "counter" else values[what] if kind == "value" else what for kind, what in roles
    ]
    return _fetch_sql(sql, params)


def _compile_occupying(query: Callable, count: int, with_ignore: bool, delay: dt.timedelta):
    """(sql, the role of each parameter) of the query compiled with stand-ins, or False."""
    stand_ins = [-(number + 1) for number in range(count)]
    sql, params = query(stand_ins, _START, _END, _NOW, _IGNORE if with_ignore else None).query.sql_with_params()
    times = {_START: "start", _END: "end", _NOW: "now", _START - LONGEST_APPOINTMENT: "lower"}
    if delay:
        times[_NOW - delay] = "since"
    roles: list[tuple[str, Any]] = []
    for param in params:
        if isinstance(param, dt.datetime):
            if param not in times:
                return False
            roles.append(("value", times[param]))
        elif isinstance(param, int) and not isinstance(param, bool) and param < 0:
            if with_ignore and param == _IGNORE:
                roles.append(("value", "ignore"))
            elif -count <= param <= -1:
                roles.append(("counter", -param - 1))
            else:
                return False
        elif isinstance(param, (str, int)):
            roles.append(("constant", param))
        else:  # a list or anything else: not a shape this understands
            return False
    if sorted(what for kind, what in roles if kind == "counter") != list(range(count)):
        return False
    return sql, roles


def _recently_freed(counter_ids, start, end, now) -> list[tuple]:
    """(counter, start, end) of the times moved away from within CANCELLED_SLOT_DELAY_MINUTES: online
    they count as taken, like a time cancelled as recently. One small query, only with the delay on."""
    if not settings.CANCELLED_SLOT_DELAY_MINUTES or not counter_ids:
        return []
    since = now - dt.timedelta(minutes=settings.CANCELLED_SLOT_DELAY_MINUTES)
    return list(
        FreedTime.objects.filter(counter_id__in=list(counter_ids), freed_at__gt=since, start__lt=end, end__gt=start)
        .order_by()
        .values_list("counter_id", "start", "end")
    )


def _occupied_rows(counter_ids, start, end, now, *, ignore=None, online=True, with_home=False) -> list[tuple]:
    """(counter, start, end[, home administration]) of everything `_occupying` finds."""
    columns = ["counter_id", "start", "end"] + (["home_administration_id"] if with_home else [])

    def query(counter_ids, start, end, now, ignore):
        return _occupying(counter_ids, start, end, now, ignore=ignore, online=online).values_list(*columns)

    return _fetch_occupying(("rows", online, with_home), query, counter_ids, start, end, now, ignore)


def _occupied_seconds(counter_ids, start, end, now, *, with_home=False) -> list[tuple]:
    """What `_occupied_rows` reads for an online search, as one row per counter: (counter, starts,
    ends[, home administrations]), lists in the same order, the times in whole seconds since the
    epoch. Starts are rounded down and ends up: an appointment blocks every grid start it touches,
    even by a fraction of a second, and no other.

    On PostgreSQL the database converts and groups: an int8 costs less to send and to read than a
    timestamptz, and arrays of ints make no Python object per appointment but the ints."""
    if connection.vendor != "postgresql":
        grouped: dict[int, tuple[list, list, list]] = defaultdict(lambda: ([], [], []))
        for counter_id, a_start, a_end, *home in _occupied_rows(counter_ids, start, end, now, with_home=with_home):
            starts, ends, homes = grouped[counter_id]
            starts.append(epoch_seconds(a_start))
            ends.append(epoch_seconds(a_end, up=True))
            homes.extend(home)
        return [(counter_id, *(columns if with_home else columns[:2])) for counter_id, columns in grouped.items()]
    arrays = {
        "starts": ArrayAgg(
            Func(
                F("start"), template="floor(date_part('epoch', %(expressions)s))::int8", output_field=BigIntegerField()
            )
        ),
        "ends": ArrayAgg(
            Func(F("end"), template="ceil(date_part('epoch', %(expressions)s))::int8", output_field=BigIntegerField())
        ),
    }
    if with_home:
        arrays["homes"] = ArrayAgg("home_administration_id")

    def query(counter_ids, start, end, now, ignore):
        return (
            _occupying(counter_ids, start, end, now)
            .values("counter_id")
            .annotate(**arrays)
            .values_list("counter_id", *arrays)
        )

    return _fetch_occupying(("seconds", with_home), query, counter_ids, start, end, now)


def busy_intervals(
    counter_ids,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    ignore: int | None = None,
    online: bool = True,
    partner_minutes: dict | None = None,
    office_of: dict | None = None,
):
    """Occupied intervals per (counter, local day), from one query on (counter, start).
    `ignore`: an appointment that is being moved does not block its own new time.
    Online, a time cancelled or moved away from within CANCELLED_SLOT_DELAY_MINUTES still counts
    as taken, so that bots watching for cancellations (and sellers moving a booking away for a
    buyer) gain nothing; staff can book it at once.
    With `partner_minutes` (and `office_of`: counter id → office), the minutes booked by residents
    of other administrations are added up per (office, day), for the local reserve."""
    busy: dict[tuple[int, dt.date], list[Interval]] = defaultdict(list)
    rows = _occupied_rows(
        counter_ids, start, end, now, ignore=ignore, online=online, with_home=partner_minutes is not None
    )
    # The local days of the range and the instants they begin: a row's day by bisection, not by
    # converting every row to local time.
    days = list(daterange(start.astimezone(BERLIN).date(), end.astimezone(BERLIN).date()))
    midnights = [local(day, dt.time(0)) for day in days]
    next_midnights = [*midnights[1:], dt.datetime.max.replace(tzinfo=dt.UTC)]
    for counter_id, a_start, a_end in _recently_freed(counter_ids, start, end, now) if online else []:
        index = bisect_right(midnights, a_start) - 1
        for day in days[max(index, 0) : bisect_left(midnights, a_end)]:
            busy[(counter_id, day)].append((a_start, a_end))
    if partner_minutes is None:
        for counter_id, a_start, a_end in rows:
            index = bisect_right(midnights, a_start) - 1
            if index >= 0 and a_end <= next_midnights[index]:
                busy[(counter_id, days[index])].append((a_start, a_end))
            else:  # began before the range, or runs across midnight: every day it touches
                for day in days[max(index, 0) : bisect_left(midnights, a_end)]:
                    busy[(counter_id, day)].append((a_start, a_end))
        return busy
    assert office_of is not None, "partner_minutes needs office_of"
    office_and_home = {c: (office.id, office.administration_id) for c, office in office_of.items()}
    for counter_id, a_start, a_end, home_id in rows:
        index = bisect_right(midnights, a_start) - 1
        for day in days[max(index, 0) : bisect_left(midnights, a_end)]:
            busy[(counter_id, day)].append((a_start, a_end))
        office_id, administration_id = office_and_home[counter_id]
        if home_id != administration_id:
            day = days[index] if index >= 0 else a_start.astimezone(BERLIN).date()
            partner_minutes[(office_id, day)] += (a_end - a_start).total_seconds() / 60
    return busy


def occupied_by_counter(
    counter_ids,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    *,
    partner_minutes: dict | None = None,
    office_of: dict | None = None,
) -> dict[int, list[tuple[int, int]]]:
    """What `busy_intervals` reads online, per counter only (in no particular order) and in whole
    seconds since the epoch (see `_occupied_seconds`): a search over many days subtracts them from
    all of a counter's working time in one pass, instead of sorting them into days first.
    `partner_minutes` as there, for the local reserve."""
    rows = _occupied_seconds(counter_ids, start, end, now, with_home=partner_minutes is not None)
    by_counter = {counter_id: list(zip(starts, ends, strict=True)) for counter_id, starts, ends, *_homes in rows}
    for counter_id, a_start, a_end in _recently_freed(counter_ids, start, end, now):
        by_counter.setdefault(counter_id, []).append((epoch_seconds(a_start), epoch_seconds(a_end, up=True)))
    if partner_minutes is None:
        return by_counter
    assert office_of is not None, "partner_minutes needs office_of"
    days = list(daterange(start.astimezone(BERLIN).date(), end.astimezone(BERLIN).date()))
    midnights = [epoch_seconds(local(day, dt.time(0))) for day in days]
    for counter_id, starts, ends, homes in rows:
        office = office_of[counter_id]
        for a_start, a_end, home_id in zip(starts, ends, homes, strict=True):
            if home_id != office.administration_id:
                index = bisect_right(midnights, a_start) - 1
                day = days[index] if index >= 0 else dt.datetime.fromtimestamp(a_start, BERLIN).date()
                partner_minutes[(office.id, day)] += (a_end - a_start) / 60
    return by_counter


def _office_day_rows(windows, now) -> list[tuple]:
    """(counter, start, end, home administration or None, the moment it stops occupying or None) of
    everything that occupies online a counter of `windows` ([(counter ids, start, end)]), in ONE
    query: the appointments `_taken` finds and, with the cancelled-slot delay on, the times moved
    away from (`_recently_freed`; no home administration), as one UNION."""
    condition = Q()
    for counter_ids, start, end in windows:
        condition |= Q(counter_id__in=counter_ids, start__gte=start - LONGEST_APPOINTMENT, start__lt=end, end__gt=start)
    # On PostgreSQL the database turns start and end into whole seconds (see `_occupied_seconds`).
    seconds = connection.vendor == "postgresql"
    times = _seconds_columns() if seconds else {}
    start, end = ("start_s", "end_s") if seconds else ("start", "end")
    columns = ("counter_id", start, end, "home_administration_id", "status", "hold_expires_at", "cancelled_at")
    query = _taken(now).filter(condition).order_by().annotate(**times).values_list(*columns)
    delay = settings.CANCELLED_SLOT_DELAY_MINUTES
    if delay:
        since = now - dt.timedelta(minutes=delay)
        freed = (
            FreedTime.objects.filter(condition, freed_at__gt=since)
            .order_by()
            .annotate(
                **times,
                no_home=Value(None, output_field=BigIntegerField()),
                moved=Value(FREED, output_field=CharField()),
                no_hold=Value(None, output_field=DateTimeField()),
            )
            .values_list("counter_id", start, end, "no_home", "moved", "no_hold", "freed_at")
        )
        query = query.union(freed, all=True)
    rows = []
    after_delay = dt.timedelta(minutes=delay)
    for counter_id, a_start, a_end, home_id, status, hold_expires_at, cancelled_at in _fetch(query):
        if status in EXPIRING_STATUSES:
            until = hold_expires_at
        elif status == Status.CANCELLED or status == FREED:
            until = cancelled_at + after_delay  # for a moved-away time: when it was freed
        else:
            until = None
        if not seconds:
            a_start, a_end = epoch_seconds(a_start), epoch_seconds(a_end, up=True)
        rows.append((counter_id, a_start, a_end, home_id, until))
    return rows


def _seconds_columns() -> dict:
    """Start (rounded down) and end (rounded up) in whole seconds since the epoch, computed by PostgreSQL."""
    return {
        "start_s": Func(
            F("start"), template="floor(date_part('epoch', %(expressions)s))::int8", output_field=BigIntegerField()
        ),
        "end_s": Func(
            F("end"), template="ceil(date_part('epoch', %(expressions)s))::int8", output_field=BigIntegerField()
        ),
    }


# The status column of a time moved away from in `_office_day_rows` (no appointment status).
FREED = "~freed"


def _windows(wanted: dict[int, list[dt.date]], configuration: Configuration) -> tuple[list, dict[int, Office]]:
    """The (counter ids, start, end) to read for the office-days `wanted`: one per office and run of
    consecutive days, with all the office's counters (the local reserve counts them all); and the
    office of each counter."""
    windows = []
    office_of: dict[int, Office] = {}
    for office_id, days in wanted.items():
        schedule = configuration.schedules[office_id]
        counter_ids = [c.id for c in schedule.counters]
        if not counter_ids:
            continue
        office_of.update((counter_id, schedule.office) for counter_id in counter_ids)
        run_first = previous = days[0]
        for day in [*days[1:], None]:
            if day is not None and day == previous + dt.timedelta(days=1):
                previous = day
                continue
            end = local(previous + dt.timedelta(days=1), dt.time(0))
            windows.append((counter_ids, local(run_first, dt.time(0)), end))
            if day is not None:
                run_first = previous = day
    return windows, office_of


def _by_office_day(rows, wanted: dict[int, list[dt.date]], office_of: dict[int, Office]):
    """The rows of `_office_day_rows` per office-day of `wanted`: the occupied intervals per counter,
    the seconds booked by partner administrations' residents (on the day the appointment starts),
    and the earliest moment one of them stops occupying."""
    busy: dict[tuple[int, dt.date], dict[int, list[tuple[int, int]]]] = defaultdict(lambda: defaultdict(list))
    partner_seconds: dict[tuple[int, dt.date], int] = defaultdict(int)
    until: dict[tuple[int, dt.date], dt.datetime] = {}
    # The local days around all windows, to find a row's day by bisection (an appointment may
    # start up to LONGEST_APPOINTMENT before its window).
    first = min(days[0] for days in wanted.values()) - dt.timedelta(days=3)
    last = max(days[-1] for days in wanted.values()) + dt.timedelta(days=1)
    all_days = list(daterange(first, last))
    midnights = [epoch_seconds(local(day, dt.time(0))) for day in all_days]
    wanted_days = {(office_id, day) for office_id, days in wanted.items() for day in days}
    next_midnights = midnights[1:]
    office_and_home = {c: (office.id, office.administration_id) for c, office in office_of.items()}
    for counter_id, a_start, a_end, home_id, a_until in rows:
        office_id, administration_id = office_and_home[counter_id]
        index = bisect_right(midnights, a_start) - 1
        if a_end <= next_midnights[index]:  # within one day, as nearly every appointment
            touched = all_days[index : index + 1]
        else:
            touched = all_days[index : bisect_left(midnights, a_end)]
        for day in touched:
            office_day = (office_id, day)
            if office_day not in wanted_days:
                continue
            busy[office_day][counter_id].append((a_start, a_end))
            if a_until is not None and (office_day not in until or a_until < until[office_day]):
                until[office_day] = a_until
        if home_id is not None and home_id != administration_id:
            partner_seconds[(office_id, all_days[index])] += a_end - a_start
    return busy, partner_seconds, until


def _office_day_entries(
    wanted: dict[int, list[dt.date]], *, configuration: Configuration, now: dt.datetime
) -> dict[tuple[int, dt.date], free_time_cache.Entry]:
    """The free time of the office-days `wanted` ({office id: days in order}) as the cache keeps it:
    each online counter's working time minus what occupies it, the partner administrations' booked
    seconds, and until when time alone changes nothing. One query for all of them, whatever the days."""
    windows, office_of = _windows(wanted, configuration)
    busy, partner_seconds, until = _by_office_day(_office_day_rows(windows, now) if windows else [], wanted, office_of)
    entries = {}
    for office_id, days in wanted.items():
        schedule = configuration.schedules[office_id]
        online = [c.id for c in schedule.counters if c.bookable_online]
        for day in days:
            cuts = busy.get((office_id, day), {})
            free = {}
            for counter_id in online:
                working = schedule.working_seconds(counter_id, day)
                if working:
                    free[counter_id] = tuple(subtract(list(working), cuts.get(counter_id, [])))
            entries[(office_id, day)] = free_time_cache.Entry(
                free, partner_seconds.get((office_id, day), 0), now, until.get((office_id, day))
            )
    return entries


def reserve_applies(office: Office, administration_id: int, day: dt.date, now: dt.datetime) -> bool:
    """Is part of this office's time on `day` still kept for its own residents, against this one?"""
    return (
        office.local_reserve_percent > 0
        and office.administration_id != administration_id
        and day > today(now) + dt.timedelta(days=office.reserve_release_days)
    )


def reserve_blocks(schedule: OfficeSchedule, day: dt.date, minutes: int, partner_minutes: dict) -> bool:
    """The local reserve: partner residents may fill only (100 − reserve) % of the day's counter time."""
    office = schedule.office
    allowed = schedule.working_minutes(day) * (100 - office.local_reserve_percent) / 100
    return partner_minutes.get((office.id, day), 0) + minutes > allowed


def free_intervals(schedule: OfficeSchedule, counter_id: int, day: dt.date, busy) -> list[Interval]:
    """Working time of the counter on `day` that no live appointment or unexpired hold occupies."""
    working = schedule.working_intervals(counter_id, day)
    if not working:
        return []
    return subtract(working, busy.get((counter_id, day), []))


def grid_starts(interval: Interval, minutes: int, grid: int, not_before: dt.datetime):
    """Start times on the office grid (counted from local midnight) where `minutes` fit in `interval`."""
    start, end = interval
    if not_before > start:
        start = not_before
    wall = start.astimezone(BERLIN)
    offset = (wall.hour * 60 + wall.minute) % grid
    if offset or wall.second or wall.microsecond:
        start = start.replace(second=0, microsecond=0) + dt.timedelta(minutes=grid - offset)
    length = dt.timedelta(minutes=minutes)
    step = dt.timedelta(minutes=grid)
    # Absolute steps: on a daylight-saving day the wall clock jumps by an hour, a multiple of the grid.
    while start + length <= end:
        yield start
        start += step


def grid_run(start: int, end: int, length: int, grid: int, not_before: int) -> tuple[int, int] | None:
    """The first and the last start on the office grid at which `length` fits in [start, end),
    not before `not_before`, or None when there is none: the starts are every grid step between
    them. All in seconds (`grid` too), the times since the epoch, like `grid_starts` otherwise."""
    if not_before > start:
        start = not_before
    if 3600 % grid:
        start = _on_wall_clock_grid(start, grid)
    else:
        # Berlin is a whole number of hours off UTC, so a grid that divides the hour is the same
        # on the UTC clock: no time-zone conversion needed.
        start = -(-start // grid) * grid
    latest = end - length
    if start > latest:
        return None
    return start, latest - (latest - start) % grid


def _on_wall_clock_grid(start: int, grid: int) -> int:
    """The first instant from `start` on whose Berlin wall clock the time of day is a multiple of `grid`
    seconds: the grid counts from local midnight, as the booking check does."""
    wall = dt.datetime.fromtimestamp(start, BERLIN)
    return start + -(wall.hour * 3600 + wall.minute * 60 + wall.second) % grid


def union_of_runs(runs: list[tuple[int, int]], step: int) -> list[int]:
    """The distinct start times of several counters' runs (first, last, every `step`), in order.

    A free minute on four counters is one start, not four: runs that overlap or touch are merged
    before any start is made, instead of making every counter's starts and deduplicating them.
    """
    runs.sort()
    starts: list[int] = []
    aligned = True
    first, last = 0, None  # `first` is read only once `last` is set
    for run_first, run_last in runs:
        if last is not None and run_first <= last + step and (run_first - first) % step == 0:
            if run_last > last:
                last = run_last
            continue
        if last is not None:
            aligned = aligned and run_first > last  # on another grid phase: merge by set below
            starts.extend(range(first, last + 1, step))
        first, last = run_first, run_last
    if last is not None:
        starts.extend(range(first, last + 1, step))
    return starts if aligned else sorted(set(starts))


def office_window(office: Office, request: SlotRequest, now: dt.datetime):
    """The dates to search at this office (within its horizon) and its earliest bookable start."""
    first = max(request.date_from, today(now))
    last = min(request.date_to, today(now) + dt.timedelta(days=office.booking_horizon_days))
    return first, last, now + dt.timedelta(minutes=office.min_lead_minutes)


def daterange(first: dt.date, last: dt.date):
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


@dataclass
class OfficeRuns:
    """One office's free time for a search: the runs of grid starts of every suitable counter
    (first, last, in seconds since the epoch; every `grid` seconds between them) and, on days
    when the local reserve applies, how many more appointments of this length it leaves to the
    request's administration."""

    office: Office
    grid: int
    runs: list[tuple[int, int]]
    reserve_left: dict[dt.date, int]
    allowed: set[dt.date]  # the days (of the search) on which the cooperation rules allow this office


def _free_runs(*, request: SlotRequest, now: dt.datetime) -> tuple[int, list[OfficeRuns]]:
    """(the appointment's length in seconds, each searched office's free runs): what `find_slots`
    and `day_overview` both compose their answers from."""
    check_request(services=request.services, vehicles=request.vehicles, municipality=request.municipality)
    if request.date_to < request.date_from:
        raise AvailabilityError(
            ErrorCode.INVALID, _("The end date must not be before the start date."), field="date_to"
        )
    minutes = duration_minutes(request.services, request.vehicles)
    length = minutes * 60
    configuration = config.current(now=now)
    offices = candidate_offices(request.offices, configuration=configuration)
    if not offices:
        return length, []
    service_ids = request.service_ids
    administration_id = request.municipality.administration_id
    rules = RuleBook.of(configuration)
    range_start = local(max(request.date_from, today(now)), dt.time(0))
    range_end = local(request.date_to + dt.timedelta(days=1), dt.time(0))
    if range_end <= range_start:
        return length, []
    # Per office that offers the concerns: its counters for them, its days (within its horizon, as
    # the cooperation rules allow) and its earliest start.
    plan = []
    for office in offices:
        schedule = configuration.schedules[office.id]
        counters = schedule.counters_for(service_ids)
        if not counters:
            continue
        first, last, not_before = office_window(office, request, now)
        allowed = [day for day in daterange(first, last) if rules.allows(office, administration_id, service_ids, day)]
        plan.append((office, schedule, counters, allowed, epoch_seconds(not_before, up=True)))
    free = free_time_cache.office_days(
        {office.id: allowed for office, _schedule, _counters, allowed, _not_before in plan},
        configuration=configuration,
        now=now,
        compute=lambda wanted: _office_day_entries(wanted, configuration=configuration, now=now),
    )

    # From here on in whole seconds since the epoch: ints cost less to make, keep and compare than
    # datetimes, and only the starts found become datetimes.
    found: list[OfficeRuns] = []
    for office, schedule, counters, allowed, not_before in plan:
        grid = office.slot_minutes * 60
        reserve_left: dict[dt.date, int] = {}
        runs: list[tuple[int, int]] = []
        for day in allowed:
            entry = free[(office.id, day)]
            if reserve_applies(office, administration_id, day, now):
                partner_minutes = {(office.id, day): entry.partner_seconds / 60}
                if reserve_blocks(schedule, day, minutes, partner_minutes):
                    continue
                share = schedule.working_minutes(day) * (100 - office.local_reserve_percent) / 100
                reserve_left[day] = int((share - partner_minutes[(office.id, day)]) // minutes)
            for counter in counters:
                # The counter's free intervals of the day (working time minus the occupied), cut
                # to the lead time here: the cache keeps them for every search and every minute.
                for free_start, free_end in entry.free.get(counter.id, ()):
                    run = grid_run(free_start, free_end, length, grid, not_before)
                    if run:
                        runs.append(run)
        found.append(OfficeRuns(office, grid, runs, reserve_left, set(allowed)))
    return length, found


def find_slots(*, request: SlotRequest, now: dt.datetime) -> list[Slot]:
    """Free start times per office for the request, in time order; one entry per office and start."""
    length, offices = _free_runs(request=request, now=now)
    starts_of = [(free.office, union_of_runs(free.runs, free.grid)) for free in offices]
    # One datetime per distinct instant: offices on the same grid share their starts and ends.
    found = {t for _office, starts in starts_of for t in starts}
    instants = {t: dt.datetime.fromtimestamp(t, dt.UTC) for t in found | {t + length for t in found}}
    slots = [Slot(office, instants[t], instants[t + length]) for office, starts in starts_of for t in starts]
    # Offices come in name order and sorting is stable: the same order as by (start, office name).
    slots.sort(key=attrgetter("start"))
    return slots


@dataclass(frozen=True)
class DayFree:
    """One office's day in a search: how many appointments of the request's length can still be
    booked there (at once: on different counters, or one after another on one counter, none
    overlapping another), and the first free start (None when there is none)."""

    office: Office
    day: dt.date
    appointments: int
    first: dt.datetime | None

    @property
    def free(self) -> bool:
        return self.appointments > 0


def day_overview(*, request: SlotRequest, now: dt.datetime) -> list[DayFree]:
    """Per day of the request (from today on, within the office's horizon) and office that offers its
    concerns and may serve the citizen that day: how many appointments are free and the first free
    start, in the order of day and office name. The same free time as `find_slots`, counted instead
    of listed: a day strip needs a few numbers per day, not every start time."""
    length, offices = _free_runs(request=request, now=now)
    days = list(daterange(max(request.date_from, today(now)), request.date_to))
    overview: list[DayFree] = []
    by_office: dict[int, dict[dt.date, list]] = {}
    for free in offices:
        # Appointments on one counter follow each other on the grid: one every `pack` seconds.
        pack = -(-length // free.grid) * free.grid
        per_day: dict[dt.date, list] = defaultdict(lambda: [0, None])
        for first, last in free.runs:
            day = dt.datetime.fromtimestamp(first, BERLIN).date()
            entry = per_day[day]
            entry[0] += (last - first) // pack + 1
            if entry[1] is None or first < entry[1]:
                entry[1] = first
        by_office[free.office.id] = per_day
        for day, left in free.reserve_left.items():
            if day in per_day:
                per_day[day][0] = min(per_day[day][0], max(left, 0))
    for day in days:
        for free in offices:
            if day not in free.allowed:
                continue
            count, first_start = by_office[free.office.id].get(day, (0, None))
            start = dt.datetime.fromtimestamp(first_start, dt.UTC) if count and first_start is not None else None
            overview.append(DayFree(free.office, day, count if start else 0, start))
    return overview


@dataclass(frozen=True)
class CounterChoice:
    counter_id: int
    waste_minutes: int  # free minutes around the interval that remain on this counter


def free_counters(
    *,
    office: Office,
    services,
    vehicles: int,
    administration: Administration,
    start: dt.datetime,
    now: dt.datetime,
    ignore: int | None = None,
    online: bool = True,
    lock: Callable[[], None] | None = None,
) -> list[CounterChoice]:
    """Counters of `office` on which the request fits at `start`, best fit first.

    Raises AvailabilityError when the start itself is not bookable (past the lead time, beyond the
    horizon, off the grid, outside working time, or not allowed by the cooperation rules). An empty
    list means the time is bookable in principle but every suitable counter is taken.
    Best fit: the counter whose free gap around the interval is smallest, so that long gaps stay
    whole for long appointments. Staff bookings (`online=False`) may use the internal contingent
    and need no lead time, only a start that has not passed.
    `lock` (the booking service's office lock) is taken after the configuration is read and right
    before the occupied times are: the lock is held no longer than the check and the insert need.
    """
    minutes = duration_minutes(services, vehicles)
    start = start.astimezone(dt.UTC)  # absolute arithmetic, whatever zone the caller used
    end = start + dt.timedelta(minutes=minutes)
    service_ids = {s.id for s in services}
    day = start.astimezone(BERLIN).date()
    lead = dt.timedelta(minutes=office.min_lead_minutes if online else 0)
    if start < now + lead:
        raise AvailabilityError(ErrorCode.INVALID_TIME, _("This time can no longer be booked online."), field="start")
    if day > today(now) + dt.timedelta(days=office.booking_horizon_days):
        raise AvailabilityError(ErrorCode.INVALID_TIME, _("This day is beyond the booking horizon."), field="start")
    wall = start.astimezone(BERLIN)
    if (wall.hour * 60 + wall.minute) % office.slot_minutes or wall.second or wall.microsecond:
        raise AvailabilityError(
            ErrorCode.INVALID_TIME, _("Appointments start on the office's time grid."), field="start"
        )
    configuration = config.current(now=now)
    if not RuleBook.of(configuration).allows(office, administration.id, service_ids, day):
        raise AvailabilityError(
            ErrorCode.NOT_ALLOWED,
            _("This office cannot serve residents of your municipality for these concerns."),
            field="office",
        )
    schedule = configuration.schedules.get(office.id)
    if schedule is None or not configuration.covers(day):
        schedule = load_office_schedules([office], day, day)[office.id]
    counters = schedule.counters_for(service_ids, online=online)
    if not counters:
        raise AvailabilityError(
            ErrorCode.SERVICE_NOT_OFFERED, _("This office does not offer all of these concerns."), field="office"
        )
    day_start, day_end = local(day, dt.time(0)), local(day + dt.timedelta(days=1), dt.time(0))
    partner_minutes: dict = defaultdict(float)
    reserve = reserve_applies(office, administration.id, day, now)
    if lock is not None:
        lock()
    busy = busy_intervals(
        [c.id for c in (schedule.counters if reserve else counters)],
        day_start,
        day_end,
        now,
        ignore=ignore,
        online=online,
        partner_minutes=partner_minutes if reserve else None,
        office_of={c.id: office for c in schedule.counters},
    )
    if online and reserve and reserve_blocks(schedule, day, minutes, partner_minutes):
        return []
    choices: list[CounterChoice] = []
    within_working_time = False
    for counter in counters:
        if schedule.within_working_time(counter.id, day, start, end):
            within_working_time = True
        for gap_start, gap_end in free_intervals(schedule, counter.id, day, busy):
            if gap_start <= start and end <= gap_end:
                waste = (gap_end - gap_start).total_seconds() // 60 - minutes
                choices.append(CounterChoice(counter.id, int(waste)))
                break
    if not within_working_time:
        raise AvailabilityError(
            ErrorCode.INVALID_TIME,
            _("The office is closed at this time or the appointment would not fit."),
            field="start",
        )
    names = {c.id: c.name for c in counters}
    choices.sort(key=lambda c: (c.waste_minutes, names[c.counter_id], c.counter_id))
    return choices


def nearest_slots(
    *,
    office: Office,
    services,
    vehicles: int,
    municipality: Municipality,
    around: dt.datetime,
    now: dt.datetime,
    count: int,
) -> list[Slot]:
    """Free slots nearest to `around` within three days before and a week after, at any allowed
    office, for a "just taken" answer.

    The day before to the day after is searched first: when `count` slots lie nearer to `around`
    than that window's edges, nothing outside it can be nearer, and the rest of the window (most
    of what a search reads) is never read.
    """
    day = around.astimezone(BERLIN).date()
    around = around.astimezone(dt.UTC)

    def search(first: dt.date, last: dt.date) -> list[Slot]:
        request = SlotRequest(
            services=tuple(services), vehicles=vehicles, municipality=municipality, date_from=first, date_to=last
        )
        slots = find_slots(request=request, now=now)
        slots.sort(key=lambda s: (abs((s.start - around).total_seconds()), s.office.id != office.id))
        return slots

    near_first, near_last = day - dt.timedelta(days=1), day + dt.timedelta(days=1)
    reach = min(around - local(near_first, dt.time(0)), local(near_last + dt.timedelta(days=1), dt.time(0)) - around)
    slots = search(near_first, near_last)
    if len(slots) < count or abs(slots[count - 1].start - around) >= reach:
        slots = search(day - dt.timedelta(days=3), day + dt.timedelta(days=7))
    return sorted(slots[:count], key=lambda s: (s.start, s.office.name))
