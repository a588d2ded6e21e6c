"""What a citizen needs to know of an office besides its free times: the weekly opening hours
grouped for reading ("Mo–Mi 07:30–12:00, 13:30–15:30"), whether and when it is open today, and the
closures of the coming weeks. Derived from the configuration that the booking reads (hours,
closures, public holidays and openings on them: offices.hours), never typed in a second time.

The office is open when at least one of its active counters works (a counter keeps the office's
hours unless it has its own); closures listed are those of the whole office. Times are wall-clock
times in Berlin, also on the days the clocks change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import holidays
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import get_language

from ikz_portal.clock import BERLIN, today
from offices import config
from offices.hours import OfficeSchedule, public_holidays
from offices.models import Office

Span = tuple[dt.time, dt.time]

# How far ahead closures are listed: about four weeks.
CLOSURE_DAYS = 28
# At most this many closures are listed (a long run of closed days is one entry).
MAX_CLOSURES = 6


def merge(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Overlapping or touching spans as one (08–12 and 12–14 are 08–14)."""
    merged: list[Span] = []
    for opens, closes in sorted(spans):
        if merged and opens <= merged[-1][1]:
            if closes > merged[-1][1]:
                merged[-1] = (merged[-1][0], closes)
        else:
            merged.append((opens, closes))
    return tuple(merged)


def spans_label(spans: Iterable[Span]) -> str:
    return ", ".join(f"{opens:%H:%M}–{closes:%H:%M}" for opens, closes in spans)


@lru_cache(maxsize=16)
def _english_holidays(year: int) -> dict[dt.date, str]:
    return dict(holidays.country_holidays("DE", subdiv="RP", language="en_US", years=year))


def holiday_name(day: dt.date) -> str:
    """The public holiday's name in the active language (German unless English is active)."""
    if (get_language() or "de").startswith("en"):
        name = _english_holidays(day.year).get(day)
        if name:
            return name
    return public_holidays(day.year).get(day, "")


@dataclass(frozen=True)
class HoursLine:
    """Consecutive weekdays with the same hours."""

    first_weekday: int
    last_weekday: int
    spans: tuple[Span, ...]

    @property
    def days_label(self) -> str:
        if self.first_weekday == self.last_weekday:
            return str(WEEKDAYS_ABBR[self.first_weekday])
        return f"{WEEKDAYS_ABBR[self.first_weekday]}–{WEEKDAYS_ABBR[self.last_weekday]}"

    @property
    def hours_label(self) -> str:
        return spans_label(self.spans)


@dataclass(frozen=True)
class Today:
    day: dt.date
    spans: tuple[Span, ...]  # empty: closed all day
    holiday: dt.date | None = None  # closed for this public holiday
    reason: str = ""  # closed for this closure (its reason as the office wrote it)

    @property
    def is_open(self) -> bool:
        return bool(self.spans)

    @property
    def hours_label(self) -> str:
        return spans_label(self.spans)

    @property
    def holiday_name(self) -> str:
        return holiday_name(self.holiday) if self.holiday else ""


@dataclass(frozen=True)
class ClosedDays:
    """Days the office is closed (or closed for part of each day) although it would be open."""

    first: dt.date
    last: dt.date
    holiday: bool = False
    reason: str = ""  # the closure's reason; for a holiday see `name`
    spans: tuple[Span, ...] = ()  # a partial closure: the times it is closed on each day

    @property
    def name(self) -> str:
        return holiday_name(self.first) if self.holiday else self.reason

    @property
    def whole_day(self) -> bool:
        return not self.spans

    @property
    def hours_label(self) -> str:
        return spans_label(self.spans)


@dataclass(frozen=True)
class OfficeInfo:
    office: Office
    week: tuple[HoursLine, ...]
    today: Today
    closures: tuple[ClosedDays, ...]

    @property
    def is_example(self) -> bool:
        """Something on the card is example data (the hours or the contact and travel details)."""
        return self.office.hours_are_example or self.office.visitor_info_is_example


def weekly_spans(schedule: OfficeSchedule) -> dict[int, tuple[Span, ...]]:
    """The regular hours of each weekday (0 = Monday) when some counter works, merged."""
    week: dict[int, tuple[Span, ...]] = {}
    for weekday in range(7):
        if schedule.counters:
            spans = [
                span
                for counter in schedule.counters
                for span in (schedule.counter_hours.get(counter.id) or schedule.office_hours).get(weekday, [])
            ]
        else:
            spans = list(schedule.office_hours.get(weekday, []))
        merged = merge(spans)
        if merged:
            week[weekday] = merged
    return week


def week_lines(week: dict[int, tuple[Span, ...]]) -> tuple[HoursLine, ...]:
    """Runs of consecutive weekdays with the same hours; days without hours are left out."""
    lines: list[HoursLine] = []
    for weekday in range(7):
        spans = week.get(weekday)
        if not spans:
            continue
        last = lines[-1] if lines else None
        if last is not None and last.last_weekday == weekday - 1 and last.spans == spans:
            lines[-1] = HoursLine(last.first_weekday, weekday, spans)
        else:
            lines.append(HoursLine(weekday, weekday, spans))
    return tuple(lines)


def day_spans(schedule: OfficeSchedule, day: dt.date) -> tuple[Span, ...]:
    """When the office is open on `day`, after holidays and closures, as wall-clock times."""
    if schedule.counters:
        intervals = [i for counter in schedule.counters for i in schedule.working_intervals(counter.id, day)]
    else:
        intervals = schedule.working_intervals(None, day)  # type: ignore[arg-type]  # the office's own hours
    return merge((start.astimezone(BERLIN).time(), end.astimezone(BERLIN).time()) for start, end in intervals)


def _whole_day_closure(schedule: OfficeSchedule, day: dt.date):
    return next(
        (
            c
            for c in sorted(schedule.closures, key=lambda c: (c.start_date, c.pk or 0))
            if c.counter_id is None and c.is_whole_day and c.start_date <= day <= c.end_date
        ),
        None,
    )


def today_status(schedule: OfficeSchedule, day: dt.date) -> Today:
    spans = day_spans(schedule, day)
    if spans:
        return Today(day, spans)
    if schedule.is_closed_for_holiday(day):
        return Today(day, (), holiday=day)
    closure = _whole_day_closure(schedule, day)
    return Today(day, (), reason=closure.reason if closure else "")


def coming_closures(
    schedule: OfficeSchedule, first: dt.date, week: dict[int, tuple[Span, ...]], *, days: int = CLOSURE_DAYS
) -> tuple[ClosedDays, ...]:
    """The office's closures and the public holidays from `first` on, for `days` days, as far as they
    fall on days with regular hours (a closure over a weekend closes nothing)."""
    last = first + dt.timedelta(days=days - 1)
    found: list[ClosedDays] = []
    whole_days: set[dt.date] = set()
    for closure in sorted(schedule.closures, key=lambda c: (c.start_date, c.start_time or dt.time(0), c.pk or 0)):
        if closure.counter_id is not None or closure.end_date < first or closure.start_date > last:
            continue
        start, end = max(closure.start_date, first), min(closure.end_date, last)
        open_days = [
            start + dt.timedelta(days=n)
            for n in range((end - start).days + 1)
            if (start + dt.timedelta(days=n)).weekday() in week
        ]
        if not open_days:
            continue
        if closure.is_whole_day:
            whole_days.update(open_days)
            found.append(ClosedDays(open_days[0], open_days[-1], reason=closure.reason))
        else:
            assert closure.start_time is not None and closure.end_time is not None  # both, or neither
            found.append(
                ClosedDays(
                    open_days[0], open_days[-1], reason=closure.reason, spans=((closure.start_time, closure.end_time),)
                )
            )
    for day in sorted(d for year in {first.year, last.year} for d in public_holidays(year)):
        in_view = first <= day <= last and day.weekday() in week and day not in whole_days
        if in_view and schedule.is_closed_for_holiday(day):
            found.append(ClosedDays(day, day, holiday=True))
    found.sort(key=lambda c: (c.first, not c.whole_day))
    return tuple(found[:MAX_CLOSURES])


def office_info(*, schedule: OfficeSchedule, now: dt.datetime) -> OfficeInfo:
    """Hours, today and the coming closures of the schedule's office at `now` (pure: no queries)."""
    day = today(now)
    week = weekly_spans(schedule)
    return OfficeInfo(
        office=schedule.office,
        week=week_lines(week),
        today=today_status(schedule, day),
        closures=coming_closures(schedule, day, week),
    )


def offices_info(*, offices: Iterable[Office], now: dt.datetime) -> dict[int, OfficeInfo]:
    """The information of `offices` by id, from one reading of the configuration (in memory
    between requests: one query to check its version, whatever the number of offices)."""
    schedules = config.current(now=now).schedules
    result = {}
    for office in offices:
        schedule = schedules.get(office.id)
        if schedule is not None:
            info = office_info(schedule=schedule, now=now)
            # The caller's instance: it may carry more than the configuration's (e.g. a fresh read).
            result[office.id] = OfficeInfo(office, info.week, info.today, info.closures)
    return result


def info_for(office: Office, *, now: dt.datetime) -> OfficeInfo | None:
    return offices_info(offices=[office], now=now).get(office.id)
