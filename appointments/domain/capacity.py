"""An office's capacity for the coming weeks, per day: the counters' working time (offices.hours)
against the time the appointments occupy. A selector for the admin's office page, which shows it
for the saved configuration and, before saving, for the one on the form (`preview_schedule`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from appointments.models import Appointment, Status
from offices.hours import BERLIN, CounterInfo, OfficeSchedule, load_office_schedules, local, public_holidays
from offices.models import Closure, Office

PREVIEW_DAYS = 28
# The bookings that new hours or a closure can still concern: not begun, not yet at the counter.
UPCOMING = (Status.HELD, Status.UNCONFIRMED, Status.CONFIRMED)


@dataclass
class DayCapacity:
    day: dt.date
    working_minutes: int = 0  # counter-minutes of all active counters (online and internal contingent)
    counters_open: int = 0
    booked_minutes: int = 0  # minutes of the live appointments of the day
    appointments: int = 0
    # Bookings still to come outside their counter's working time (a closure or new hours hit
    # them): those staff move or re-offer. Past, checked-in and completed ones are history.
    outside: int = 0
    reason: str = ""  # why the day has no capacity
    closures: list[str] = field(default_factory=list)  # partial closures and counter blocks of the day

    @property
    def has_capacity(self) -> bool:
        return self.working_minutes > 0

    @property
    def share(self) -> float | None:
        """Booked share of the working time, 0–1 (may exceed 1 when bookings lie outside it)."""
        return self.booked_minutes / self.working_minutes if self.working_minutes else None

    @property
    def percent(self) -> int | None:
        return None if self.share is None else round(self.share * 100)

    @property
    def working_hours(self) -> str:
        hours, minutes = divmod(self.working_minutes, 60)
        return f"{hours}:{minutes:02d}"


def office_capacity(
    *,
    office: Office,
    date_from: dt.date,
    days: int = PREVIEW_DAYS,
    now: dt.datetime,
    schedule: OfficeSchedule | None = None,
) -> list[DayCapacity]:
    """Capacity per day from `date_from` on, for `days` days. `schedule`: a configuration other than
    the saved one (the preview of an office page before saving); the appointments are the saved ones."""
    date_to = date_from + dt.timedelta(days=days - 1)
    if schedule is None:
        schedule = load_office_schedules([office], date_from, date_to)[office.id]
    counter_ids = {c.id for c in schedule.counters}
    result = {}
    for offset in range(days):
        day = date_from + dt.timedelta(days=offset)
        entry = DayCapacity(day=day)
        for counter in schedule.counters:
            if schedule.working_intervals(counter.id, day):
                entry.counters_open += 1
        entry.working_minutes = schedule.working_minutes(day)
        entry.closures = [_closure_text(c, schedule) for c in schedule.closures if _touches(c, day)]
        if not entry.has_capacity:
            entry.reason = _no_capacity_reason(schedule, day)
        result[day] = entry

    rows = (
        Appointment.objects.occupying(now)
        .filter(
            office=office,
            start__lt=local(date_to + dt.timedelta(days=1), dt.time(0)),
            end__gt=local(date_from, dt.time(0)),
        )
        .values_list("counter_id", "start", "end", "status")
    )
    for counter_id, start, end, status in rows:
        day = start.astimezone(BERLIN).date()
        booked = result.get(day)
        if booked is None:
            continue
        booked.appointments += 1
        booked.booked_minutes += int((end - start).total_seconds() // 60)
        if status in UPCOMING and start > now and not _fits(schedule, counter_ids, counter_id, day, start, end):
            booked.outside += 1
    return list(result.values())


def _fits(schedule: OfficeSchedule, counter_ids: set[int], counter_id: int, day: dt.date, start, end) -> bool:
    return counter_id in counter_ids and schedule.within_working_time(counter_id, day, start, end)


def outside_working_time(
    *, office: Office, schedule: OfficeSchedule, date_from: dt.date, date_to: dt.date, now: dt.datetime
) -> list[Appointment]:
    """The bookings still to come (not begun, not checked in) from `date_from` to `date_to` that lie
    outside their counter's working time under `schedule`: what new hours or closures would hit,
    in time order."""
    counter_ids = {c.id for c in schedule.counters}
    rows = (
        Appointment.objects.occupying(now)
        .filter(
            office=office,
            status__in=UPCOMING,
            start__gt=now,
            start__lt=local(date_to + dt.timedelta(days=1), dt.time(0)),
            end__gt=local(date_from, dt.time(0)),
        )
        .select_related("counter")
        .order_by("start", "pk")
    )
    return [
        a
        for a in rows
        if not _fits(schedule, counter_ids, a.counter_id, a.start.astimezone(BERLIN).date(), a.start, a.end)
    ]


def _touches(closure: Closure, day: dt.date) -> bool:
    return closure.start_date <= day <= closure.end_date


def _closure_text(closure: Closure, schedule: OfficeSchedule) -> str:
    names = {c.id: c.name for c in schedule.counters}
    what = names.get(closure.counter_id, "") if closure.counter_id else str(_("whole office"))
    when = "" if closure.is_whole_day else f" {closure.start_time:%H:%M}–{closure.end_time:%H:%M}"
    return f"{what}{when}: {closure.reason}".strip()


def _no_capacity_reason(schedule: OfficeSchedule, day: dt.date) -> str:
    if schedule.is_closed_for_holiday(day):
        return str(public_holidays(day.year)[day])
    for closure in schedule.closures:
        if closure.counter_id is None and closure.is_whole_day and _touches(closure, day):
            return closure.reason
    if not schedule.counters:
        return str(_("no active counter"))
    if not schedule.office_hours.get(day.weekday()) and not any(
        schedule.counter_hours.get(c.id, {}).get(day.weekday()) for c in schedule.counters
    ):
        return str(_("no opening hours on this weekday"))
    return str(_("every counter is closed"))


def preview_schedule(
    *, office: Office, counters, opening_hours, closures, holiday_openings, date_from: dt.date, date_to: dt.date
) -> OfficeSchedule:
    """The working time as the office page's unsaved rows describe it.

    `counters`: (id or None for a new one, name, is_active) of every counter row that is kept;
    `opening_hours`, `closures`, `holiday_openings`: unsaved model instances of the rows that are kept.
    What the page does not edit (which services a counter and the office offer) is read from the
    database."""
    saved = load_office_schedules([office], date_from, date_to)[office.id] if office.pk else None
    services_of = {c.id: c.service_ids for c in saved.counters} if saved else {}
    online_of = {c.id: c.bookable_online for c in saved.counters} if saved else {}
    infos = []
    for number, (counter_id, name, is_active) in enumerate(counters, start=1):
        if not is_active:
            continue
        # A new counter has no id yet: a negative one keeps it apart from every saved counter.
        key = counter_id if counter_id is not None else -number
        infos.append(CounterInfo(key, name, services_of.get(key), online_of.get(key, True)))
    office_hours: defaultdict[int, list[tuple[dt.time, dt.time]]] = defaultdict(list)
    counter_hours: defaultdict[int, dict[int, list[tuple[dt.time, dt.time]]]] = defaultdict(lambda: defaultdict(list))
    for row in opening_hours:
        target = counter_hours[row.counter_id] if row.counter_id else office_hours
        target[row.weekday].append((row.opens, row.closes))
    return OfficeSchedule(
        office=office,
        counters=infos,
        office_service_ids=saved.office_service_ids if saved else frozenset(),
        office_hours=office_hours,
        counter_hours=counter_hours,
        closures=[c for c in closures if c.start_date <= date_to and c.end_date >= date_from],
        holiday_openings={h.date for h in holiday_openings},
    )
