"""Working time: when a counter works on a given day, after hours, closures and public holidays.

Everything is configured in wall-clock times in Europe/Berlin and returned as UTC datetimes, so
that a day with a daylight-saving change has the real length of its intervals (23 or 25 hours).
`load_office_schedules` reads all configuration for a set of offices in a fixed number of queries;
the rest are pure functions over what it read.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.db.models import Q

from .models import Closure, Counter, HolidayOpening, Office, OpeningHours

BERLIN = ZoneInfo("Europe/Berlin")

Interval = tuple[dt.datetime, dt.datetime]


@lru_cache(maxsize=64)
def public_holidays(year: int) -> dict[dt.date, str]:
    """Public holidays of Rhineland-Palatinate (incl. Fronleichnam and Allerheiligen), German names."""
    return dict(holidays.country_holidays("DE", subdiv="RP", language="de", years=year))


def is_public_holiday(day: dt.date) -> bool:
    return day in public_holidays(day.year)


def local(day: dt.date, time: dt.time) -> dt.datetime:
    """The instant of a wall-clock time in Berlin, as a UTC datetime.

    UTC on purpose: Python adds and compares datetimes that share a zoneinfo by wall clock, which
    skips or doubles an hour on daylight-saving days; in UTC, arithmetic is absolute. A time in
    the spring gap (02:00–03:00) resolves as zoneinfo's fold=0 does.
    """
    return dt.datetime.combine(day, time, tzinfo=BERLIN).astimezone(dt.timezone.utc)


def day_bounds(day: dt.date) -> Interval:
    """Start of `day` and of the next day in Berlin, as aware datetimes (23, 24 or 25 hours apart)."""
    return local(day, dt.time(0)), local(day + dt.timedelta(days=1), dt.time(0))


def subtract(intervals: list[Interval], cuts: list[Interval]) -> list[Interval]:
    """The parts of sorted, disjoint `intervals` not covered by `cuts` (any order, may overlap)."""
    if not cuts:
        return intervals
    result: list[Interval] = []
    cuts = sorted(cuts)
    for start, end in intervals:
        cursor = start
        for cut_start, cut_end in cuts:
            if cut_end <= cursor or cut_start >= end:
                continue
            if cut_start > cursor:
                result.append((cursor, cut_start))
            cursor = max(cursor, cut_end)
            if cursor >= end:
                break
        if cursor < end:
            result.append((cursor, end))
    return result


@dataclass
class CounterInfo:
    id: int
    name: str
    service_ids: frozenset[int] | None  # None: every service the office offers
    bookable_online: bool = True


@dataclass
class OfficeSchedule:
    """The configuration of one office that decides its working time, read once."""

    office: Office
    counters: list[CounterInfo]
    office_service_ids: frozenset[int]
    office_hours: dict[int, list[tuple[dt.time, dt.time]]]
    counter_hours: dict[int, dict[int, list[tuple[dt.time, dt.time]]]]
    closures: list[Closure]
    holiday_openings: set[dt.date] = field(default_factory=set)

    def counter_offers(self, counter: CounterInfo, service_ids: set[int]) -> bool:
        if not service_ids <= self.office_service_ids:
            return False
        return counter.service_ids is None or service_ids <= counter.service_ids

    def counters_for(self, service_ids: set[int], *, online: bool = True) -> list[CounterInfo]:
        """Counters that handle all of `service_ids`; online bookings skip the internal contingent."""
        return [
            c for c in self.counters if self.counter_offers(c, service_ids) and (c.bookable_online or not online)
        ]

    def is_closed_for_holiday(self, day: dt.date) -> bool:
        return is_public_holiday(day) and day not in self.holiday_openings

    def working_intervals(self, counter_id: int, day: dt.date) -> list[Interval]:
        """When `counter_id` works on `day`: its hours (or the office's), minus holidays and closures."""
        if self.is_closed_for_holiday(day):
            return []
        weekly = self.counter_hours.get(counter_id) or self.office_hours
        spans = sorted(weekly.get(day.weekday(), []))
        intervals = [(local(day, opens), local(day, closes)) for opens, closes in spans]
        if not intervals:
            return []
        cuts: list[Interval] = []
        for closure in self.closures:
            if closure.counter_id not in (None, counter_id):
                continue
            if not (closure.start_date <= day <= closure.end_date):
                continue
            if closure.is_whole_day:
                return []
            cuts.append((local(day, closure.start_time), local(day, closure.end_time)))
        return subtract(intervals, cuts)


def load_office_schedules(offices: list[Office], date_from: dt.date, date_to: dt.date) -> dict[int, OfficeSchedule]:
    """Read hours, counters, closures and holiday openings of `offices` in four queries."""
    office_ids = [o.id for o in offices]
    counters = (
        Counter.objects.filter(office_id__in=office_ids, is_active=True)
        .prefetch_related("services")
        .order_by("office_id", "name", "id")
    )
    office_service_ids: dict[int, set[int]] = defaultdict(set)
    for office_id, service_id in Office.services.through.objects.filter(office_id__in=office_ids).values_list(
        "office_id", "service_id"
    ):
        office_service_ids[office_id].add(service_id)
    schedules = {
        o.id: OfficeSchedule(
            office=o,
            counters=[],
            office_service_ids=frozenset(office_service_ids[o.id]),
            office_hours=defaultdict(list),
            counter_hours=defaultdict(lambda: defaultdict(list)),
            closures=[],
        )
        for o in offices
    }
    for counter in counters:
        ids = frozenset(s.id for s in counter.services.all())
        schedules[counter.office_id].counters.append(
            CounterInfo(counter.id, counter.name, ids or None, counter.bookable_online)
        )
    for row in OpeningHours.objects.filter(office_id__in=office_ids):
        schedule = schedules[row.office_id]
        target = schedule.counter_hours[row.counter_id] if row.counter_id else schedule.office_hours
        target[row.weekday].append((row.opens, row.closes))
    for closure in Closure.objects.filter(
        office_id__in=office_ids, start_date__lte=date_to, end_date__gte=date_from
    ):
        schedules[closure.office_id].closures.append(closure)
    for office_id, day in HolidayOpening.objects.filter(
        Q(office_id__in=office_ids), date__gte=date_from, date__lte=date_to
    ).values_list("office_id", "date"):
        schedules[office_id].holiday_openings.add(day)
    return schedules
