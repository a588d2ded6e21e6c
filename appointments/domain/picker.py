"""The time picker's view of the free times: how many appointments each day still has, and one
day's starts grouped by office (the citizen's home office first) and part of the day, thinned to
at most one start per quarter hour per office for the short list.

Pure functions over the `Slot`s that `find_slots` returns and the counts per office and day that
`availability.day_overview` returns for the same request: no queries, no clock, no formatting.
All times of day are Berlin wall-clock times.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from appointments.domain.availability import DayFree, Slot
from offices.hours import BERLIN
from offices.models import Office

# The morning ends at noon on the wall clock: a start at 12:00 is in the afternoon.
NOON = dt.time(12, 0)
MORNING, AFTERNOON = "morning", "afternoon"
# The short list offers at most one start per office in each quarter hour.
SHORT_LIST_SECONDS = 15 * 60


@dataclass(frozen=True)
class PartOfDay:
    name: str  # MORNING or AFTERNOON
    short: tuple[Slot, ...]  # at most one start per quarter hour
    starts: tuple[Slot, ...]  # every free start, for "more times"

    @property
    def has_more(self) -> bool:
        return len(self.starts) > len(self.short)


@dataclass(frozen=True)
class OfficeDay:
    office: Office
    home: bool  # an office of the citizen's home administration
    parts: tuple[PartOfDay, ...]
    appointments: int  # free appointments at this office on this day (availability.day_overview)

    @property
    def first(self) -> Slot:
        return self.parts[0].starts[0]


def local_day(slot: Slot) -> dt.date:
    return slot.start.astimezone(BERLIN).date()


def part_of_day(slot: Slot) -> str:
    return MORNING if slot.start.astimezone(BERLIN).time() < NOON else AFTERNOON


def day_counts(free: Iterable[DayFree]) -> dict[dt.date, int]:
    """The free appointments of each day that has any, in day order, added up over the offices.

    The counts are those of `availability.day_overview`: appointments that can still be booked on
    all the office's counters together (three counters free for a morning are three times the
    morning's appointments), not the number of distinct start times."""
    by_day: dict[dt.date, int] = defaultdict(int)
    for entry in free:
        if entry.appointments > 0:
            by_day[entry.day] += entry.appointments
    return {day: by_day[day] for day in sorted(by_day)}


def thin_starts(slots: Iterable[Slot], *, seconds: int = SHORT_LIST_SECONDS) -> list[Slot]:
    """The first start of each office in each quarter hour, in time order.

    Quarter hours are counted on the absolute clock: Berlin is a whole number of hours off UTC, so
    they are the wall clock's quarter hours, and on the night the clocks go back the two 02:00–03:00
    hours stay apart."""
    seen: set[tuple[int, int]] = set()
    short: list[Slot] = []
    for slot in sorted(slots, key=lambda s: (s.start, s.office.name)):
        key = (slot.office.id, int(slot.start.timestamp()) // seconds)
        if key not in seen:
            seen.add(key)
            short.append(slot)
    return short


def day_overview(
    slots: Iterable[Slot], *, day: dt.date, home_administration_id: int | None, free: Iterable[DayFree]
) -> list[OfficeDay]:
    """The free times of `day` per office, the offices of the citizen's home administration first
    (then by name), each split into morning and afternoon (only the parts with free times), with
    the office's free appointments of that day from `free` (availability.day_overview)."""
    appointments = {entry.office.id: entry.appointments for entry in free if entry.day == day}
    by_office: dict[int, list[Slot]] = defaultdict(list)
    offices: dict[int, Office] = {}
    for slot in slots:
        if local_day(slot) == day:
            by_office[slot.office.id].append(slot)
            offices[slot.office.id] = slot.office
    overview = []
    for office_id, office_slots in by_office.items():
        office_slots.sort(key=lambda s: s.start)
        parts = []
        for name in (MORNING, AFTERNOON):
            starts = tuple(s for s in office_slots if part_of_day(s) == name)
            if starts:
                parts.append(PartOfDay(name=name, short=tuple(thin_starts(starts)), starts=starts))
        office = offices[office_id]
        overview.append(
            OfficeDay(
                office=office,
                home=office.administration_id == home_administration_id,
                parts=tuple(parts),
                appointments=appointments.get(office_id, 0),
            )
        )
    overview.sort(key=lambda o: (not o.home, o.office.name, o.office.id))
    return overview


def week_of(day: dt.date) -> list[dt.date]:
    """Monday to Sunday of the week of `day`."""
    monday = day - dt.timedelta(days=day.weekday())
    return [monday + dt.timedelta(days=n) for n in range(7)]


def neighbour_weeks(free_days: Sequence[dt.date], day: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The first free day of the nearest earlier and of the nearest later week that has free days
    (None when there is none): where "previous week" and "next week" lead."""
    week = week_of(day)
    before = [d for d in free_days if d < week[0]]
    after = [d for d in free_days if d > week[-1]]
    previous = None
    if before:
        monday = week_of(before[-1])[0]
        previous = min(d for d in before if d >= monday)
    return previous, (after[0] if after else None)
