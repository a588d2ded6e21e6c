"""The read side of the clerks' workspace: an office's day, counter by counter, with the bookings,
the free gaps between them and the blocks, and the rows of the CSV export.

Gaps are the counter's working time (offices.hours, the same definition the booking uses) minus
the bookings that occupy it, so what the schedule shows as free is what a walk-in can be given.
The whole day is shown at any hour: what is over by `now` is marked past, and working time that
went by unused is "elapsed", never "free" (free time counts from now).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter as Tally
from dataclasses import dataclass, field

from appointments.domain.availability import grid_starts
from appointments.models import Appointment, Status
from offices.hours import Interval, day_bounds, load_office_schedules, local, public_holidays, subtract
from offices.models import Closure, Counter, Office


@dataclass
class Entry:
    kind: str  # "appointment", "gap" (free from now on), "elapsed" (working time gone by unused) or "block"
    start: dt.datetime
    end: dt.datetime
    appointment: Appointment | None = None
    closure: Closure | None = None
    # A booking that lies (partly) outside the counter's working time: its counter was blocked.
    outside_hours: bool = False
    # Over by the schedule's `now`: the page greys it out.
    past: bool = False

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    @property
    def whole_day(self) -> bool:
        return self.closure is not None and self.closure.is_whole_day


@dataclass
class Column:
    counter_id: int
    name: str
    bookable_online: bool
    is_active: bool
    working: list[Interval]
    entries: list[Entry] = field(default_factory=list)


@dataclass
class DaySchedule:
    office: Office
    day: dt.date
    columns: list[Column]
    appointments: list[Appointment]
    holiday: str = ""
    next_free: dt.datetime | None = None

    @property
    def tally(self) -> dict[str, int]:
        counts = Tally(a.status for a in self.appointments)
        return {
            "total": len(self.appointments),
            "waiting": counts[Status.CONFIRMED],
            "checked_in": counts[Status.CHECKED_IN],
            "completed": counts[Status.COMPLETED],
            "no_show": counts[Status.NO_SHOW],
            "pending": counts[Status.HELD] + counts[Status.UNCONFIRMED],
        }


def appointments_of_day(office: Office, day: dt.date, now: dt.datetime) -> list[Appointment]:
    """The bookings that occupy a counter of the office on `day` (not cancelled, not run out)."""
    day_start, day_end = day_bounds(day)
    return list(
        Appointment.objects.occupying(now)
        .filter(office=office)
        .overlapping(day_start, day_end)
        .select_related("counter", "home_administration", "municipality")
        .prefetch_related("items__service")
        .order_by("start", "counter__name", "pk")
    )


def blocks_on(closures: list[Closure], counter_id: int, day: dt.date) -> list[Closure]:
    return [c for c in closures if c.counter_id in (None, counter_id) and c.start_date <= day <= c.end_date]


def day_schedule(*, office: Office, day: dt.date, now: dt.datetime) -> DaySchedule:
    schedule = load_office_schedules([office], day, day)[office.id]
    appointments = appointments_of_day(office, day, now)
    day_start, day_end = day_bounds(day)
    # Free time starts at the next full minute, so that its start and its length agree on the page.
    from_now = now.replace(second=0, microsecond=0)
    if from_now < now:
        from_now += dt.timedelta(minutes=1)

    counters = [(c.id, c.name, c.bookable_online, True) for c in schedule.counters]
    # A counter switched off later still shows the bookings it has on this day.
    known = {c[0] for c in counters}
    extra = {a.counter_id for a in appointments} - known
    if extra:
        counters += [
            (c.id, c.name, c.bookable_online, False) for c in Counter.objects.filter(id__in=extra).order_by("name")
        ]

    columns = []
    for counter_id, name, online, active in counters:
        working = schedule.working_intervals(counter_id, day) if active else []
        mine = [a for a in appointments if a.counter_id == counter_id]
        entries = [
            Entry(
                "appointment",
                a.start,
                a.end,
                appointment=a,
                outside_hours=not (active and schedule.within_working_time(counter_id, day, a.start, a.end)),
            )
            for a in mine
        ]
        for gap_start, gap_end in subtract(working, sorted((a.start, a.end) for a in mine)):
            # A gap that spans now is split: the part gone by is no time a walk-in can be given.
            if gap_start < from_now:
                entries.append(Entry("elapsed", gap_start, min(gap_end, from_now)))
            if gap_end > from_now:
                entries.append(Entry("gap", max(gap_start, from_now), gap_end))
        for closure in blocks_on(schedule.closures, counter_id, day):
            if closure.is_whole_day:
                entries.append(Entry("block", day_start, day_end, closure=closure))
            else:
                assert closure.start_time is not None and closure.end_time is not None  # both, or neither
                entries.append(
                    Entry("block", local(day, closure.start_time), local(day, closure.end_time), closure=closure)
                )
        for entry in entries:
            entry.past = entry.kind == "elapsed" or entry.end <= now
        order = {"block": 0, "appointment": 1, "elapsed": 2, "gap": 3}
        entries.sort(key=lambda e: (e.start, order[e.kind]))
        columns.append(Column(counter_id, name, online, active, working, entries))

    holiday = public_holidays(day.year).get(day, "") if schedule.is_closed_for_holiday(day) else ""
    return DaySchedule(
        office=office,
        day=day,
        columns=columns,
        appointments=appointments,
        holiday=holiday,
        next_free=next_free_start(office, columns, now),
    )


def next_free_start(office: Office, columns: list[Column], now: dt.datetime) -> dt.datetime | None:
    """The first start on the office's grid, not in the past, where some counter is free for at
    least one grid step: the walk-in form's default time."""
    grid = office.slot_minutes
    best = None
    for column in columns:
        for entry in column.entries:
            if entry.kind != "gap":
                continue
            first = next(grid_starts((entry.start, entry.end), grid, grid, now), None)
            if first is not None and (best is None or first < best):
                best = first
    return best
