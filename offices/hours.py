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
from functools import cached_property, lru_cache
from operator import itemgetter
from typing import TypeVar

import holidays
from django.db.models import Q

from ikz_portal.clock import BERLIN

from .models import Closure, Counter, HolidayOpening, Office, OpeningHours

Interval = tuple[dt.datetime, dt.datetime]
# The times `subtract` works on: datetimes, or whole seconds since the epoch.
Time = TypeVar("Time", dt.datetime, int)

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)


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
    return dt.datetime.combine(day, time, tzinfo=BERLIN).astimezone(dt.UTC)


def day_bounds(day: dt.date) -> Interval:
    """Start of `day` and of the next day in Berlin, as aware datetimes (23, 24 or 25 hours apart)."""
    return local(day, dt.time(0)), local(day + dt.timedelta(days=1), dt.time(0))


def epoch_seconds(moment: dt.datetime, *, up: bool = False) -> int:
    """Whole seconds since 1970-01-01 UTC of an aware datetime, rounded down (or `up`)."""
    if up:
        return -((EPOCH - moment) // SECOND)
    return (moment - EPOCH) // SECOND


_start = itemgetter(0)


def subtract(intervals: list[tuple[Time, Time]], cuts: list[tuple[Time, Time]]) -> list[tuple[Time, Time]]:
    """The parts of sorted, disjoint `intervals` not covered by `cuts` (any order, may overlap).
    Any comparable times will do: datetimes, or seconds since the epoch for a long search."""
    if not cuts:
        return intervals
    result: list[tuple[Time, Time]] = []
    cuts = sorted(cuts, key=_start)  # by start alone: cuts that start together may go in any order
    count, skip = len(cuts), 0
    for start, end in intervals:
        # Cuts that end before this interval end before every later one too: never look at them again.
        while skip < count and cuts[skip][1] <= start:
            skip += 1
        cursor = start
        for index in range(skip, count):
            cut_start, cut_end = cuts[index]
            if cut_start >= end:
                break  # sorted by start: every further cut starts later still
            if cut_end <= cursor:
                continue
            if cut_start > cursor:
                result.append((cursor, cut_start))
            cursor = cut_end  # after the cursor, or `continue` above: no need for max()
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
        return [c for c in self.counters if self.counter_offers(c, service_ids) and (c.bookable_online or not online)]

    def is_closed_for_holiday(self, day: dt.date) -> bool:
        return is_public_holiday(day) and day not in self.holiday_openings

    def working_intervals(self, counter_id: int, day: dt.date) -> list[Interval]:
        """When `counter_id` works on `day`: its hours (or the office's), minus holidays and closures."""
        # Worked out once per day for all counters that keep the office's hours and closures (a
        # search asks for every counter and day, the local reserve and the booking check again).
        key = (counter_id if counter_id in self._own_time else None, day)
        intervals = self._worked_out.get(key)
        if intervals is None:
            intervals = self._worked_out[key] = self._working_intervals(counter_id, day)
        return list(intervals)

    def working_seconds(self, counter_id: int, day: dt.date) -> tuple[tuple[int, int], ...]:
        """`working_intervals` in whole seconds since the epoch (UTC), for a search that works in
        integers. Starts round up and ends down: every start on a grid of whole minutes that fits
        in the interval fits in the rounded one too."""
        key = (counter_id if counter_id in self._own_time else None, day)
        seconds = self._worked_out_seconds.get(key)
        if seconds is None:
            seconds = self._worked_out_seconds[key] = tuple(
                (epoch_seconds(start, up=True), epoch_seconds(end))
                for start, end in self._working_intervals(counter_id, day)
            )
        return seconds

    def counter_minutes(self, counter_id: int, day: dt.date) -> int:
        """How many minutes `counter_id` works on `day`."""
        return sum(int((end - start).total_seconds() // 60) for start, end in self.working_intervals(counter_id, day))

    def working_minutes(self, day: dt.date) -> int:
        """The office's counter-minutes on `day`: the working minutes of all its active counters."""
        return sum(self.counter_minutes(counter.id, day) for counter in self.counters)

    def within_working_time(self, counter_id: int, day: dt.date, start: dt.datetime, end: dt.datetime) -> bool:
        """Does [start, end) lie within one working interval of `counter_id` on `day`?"""
        return any(w_start <= start and end <= w_end for w_start, w_end in self.working_intervals(counter_id, day))

    @cached_property
    def _own_time(self) -> frozenset[int]:
        """Counters with hours or closures of their own. A schedule is read once and not changed."""
        return frozenset(self.counter_hours) | {c.counter_id for c in self.closures if c.counter_id}

    @cached_property
    def _worked_out(self) -> dict:
        return {}

    @cached_property
    def _worked_out_seconds(self) -> dict:
        return {}

    def _working_intervals(self, counter_id: int, day: dt.date) -> list[Interval]:
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
            assert closure.start_time is not None and closure.end_time is not None  # both, or neither
            cuts.append((local(day, closure.start_time), local(day, closure.end_time)))
        return subtract(intervals, cuts)


def load_office_schedules(offices: list[Office], date_from: dt.date, date_to: dt.date) -> dict[int, OfficeSchedule]:
    """Read the counters (and the services each offers), the offices' services, hours, closures and
    holiday openings of `offices` in six queries (at most), whatever the number of offices and days."""
    office_ids = [o.id for o in offices]
    # Plain rows for counters and their services: prefetching builds a model instance and a related
    # manager per counter, which costs more than the query (a state has dozens of counters).
    counters = list(
        Counter.objects.filter(office_id__in=office_ids, is_active=True)
        .order_by("office_id", "name", "id")
        .values_list("id", "office_id", "name", "bookable_online")
    )
    counter_service_ids: dict[int, set[int]] = defaultdict(set)
    for counter_id, service_id in Counter.services.through.objects.filter(
        counter_id__in=[c[0] for c in counters]
    ).values_list("counter_id", "service_id"):
        counter_service_ids[counter_id].add(service_id)
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
    for counter_id, office_id, name, bookable_online in counters:
        ids = frozenset(counter_service_ids.get(counter_id, ()))
        schedules[office_id].counters.append(CounterInfo(counter_id, name, ids or None, bookable_online))
    for office_id, counter_id, weekday, opens, closes in OpeningHours.objects.filter(
        office_id__in=office_ids
    ).values_list("office_id", "counter_id", "weekday", "opens", "closes"):
        schedule = schedules[office_id]
        target = schedule.counter_hours[counter_id] if counter_id else schedule.office_hours
        target[weekday].append((opens, closes))
    for closure in Closure.objects.filter(office_id__in=office_ids, start_date__lte=date_to, end_date__gte=date_from):
        schedules[closure.office_id].closures.append(closure)
    for office_id, day in HolidayOpening.objects.filter(
        Q(office_id__in=office_ids), date__gte=date_from, date__lte=date_to
    ).values_list("office_id", "date"):
        schedules[office_id].holiday_openings.add(day)
    return schedules
