"""The office-hours page's services: what new weekly hours would do before they are saved (the
capacity per day and the bookings still to come that would lie outside the working time), saving
them, and the closures and holiday openings an administrator adds on the year's calendar, each with
its effect shown before it is saved. Who may do this is decided in clerk.py (`may_edit_hours`)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from appointments.domain.capacity import (
    PREVIEW_DAYS,
    DayCapacity,
    office_capacity,
    outside_working_time,
    preview_schedule,
)
from appointments.domain.clerk import ClerkError, may_edit_hours
from appointments.domain.relocation import affected
from appointments.errors import ErrorCode
from appointments.models import Appointment
from ikz_portal.clock import today
from offices import week
from offices.hours import OfficeSchedule, load_office_schedules
from offices.models import Closure, Counter, HolidayOpening, Office, OpeningHours
from offices.week import HoursRow


@dataclass
class HoursEffect:
    """Capacity for the coming weeks and the bookings outside the working time, for the saved hours
    or for hours not yet saved (`is_preview`)."""

    days: list[DayCapacity]
    outside: list[Appointment]
    first: dt.date
    last: dt.date
    is_preview: bool


def horizon(office: Office, now: dt.datetime) -> tuple[dt.date, dt.date]:
    """The days whose bookings new hours can concern: from today to the end of the booking horizon."""
    first = today(now)
    return first, first + dt.timedelta(days=max(PREVIEW_DAYS, office.booking_horizon_days))


def effect(*, office: Office, now: dt.datetime, rows: Iterable[HoursRow] | None = None) -> HoursEffect:
    """What the hours `rows` mean (None: the saved hours); nothing is saved."""
    first, last = horizon(office, now)
    if rows is None:
        schedule = load_office_schedules([office], first, last)[office.id]
    else:
        schedule = preview_schedule(
            office=office,
            counters=[(c.pk, c.name, c.is_active) for c in Counter.objects.filter(office=office)],
            opening_hours=[
                OpeningHours(office=office, counter_id=r.counter_id, weekday=r.weekday, opens=r.opens, closes=r.closes)
                for r in rows
            ],
            closures=list(Closure.objects.filter(office=office, end_date__gte=first, start_date__lte=last)),
            holiday_openings=list(HolidayOpening.objects.filter(office=office, date__gte=first, date__lte=last)),
            date_from=first,
            date_to=last,
        )
    return HoursEffect(
        days=office_capacity(office=office, date_from=first, days=PREVIEW_DAYS, now=now, schedule=schedule),
        outside=outside_working_time(office=office, schedule=schedule, date_from=first, date_to=last, now=now),
        first=first,
        last=first + dt.timedelta(days=PREVIEW_DAYS - 1),
        is_preview=rows is not None,
    )


# --- closures and holiday openings before they are saved ----------------------------------------

# The longest stretch of days a closure's preview lists (a closure over the summer lists its first
# weeks; the affected bookings are listed for the whole closure).
DAYS_EFFECT_MAX = 31


@dataclass
class DayChange:
    day: dt.date
    saved: DayCapacity  # as the saved configuration has it
    changed: DayCapacity  # with the closure or the holiday opening on the page


@dataclass
class DaysEffect:
    """What a closure or a holiday opening not yet saved would do: the capacity of its days before
    and after, and the bookings still to come that it would put outside the working time (those
    the relocation step afterwards moves or re-offers)."""

    days: list[DayChange]
    affected: list[Appointment]
    in_past: bool  # every day of it has passed: nothing to show
    more_days: int  # days of the closure beyond those listed


def _days(first: dt.date, last: dt.date, now: dt.datetime) -> tuple[dt.date, dt.date, int]:
    """The days to list: from today on, at most DAYS_EFFECT_MAX of them, and how many are left out."""
    first = max(first, today(now))
    shown_last = min(last, first + dt.timedelta(days=DAYS_EFFECT_MAX - 1))
    return first, shown_last, max(0, (last - shown_last).days)


def _compare(
    office: Office, saved: OfficeSchedule, changed: OfficeSchedule, first: dt.date, last: dt.date, now: dt.datetime
) -> list[DayChange]:
    days = (last - first).days + 1
    before = office_capacity(office=office, date_from=first, days=days, now=now, schedule=saved)
    after = office_capacity(office=office, date_from=first, days=days, now=now, schedule=changed)
    return [DayChange(day=b.day, saved=b, changed=a) for b, a in zip(before, after, strict=True)]


def closure_effect(*, office: Office, closure: Closure, now: dt.datetime) -> DaysEffect:
    """The effect of `closure` (unsaved, of `office`); nothing is saved. The affected bookings are
    exactly those the relocation after saving acts on (relocation.affected)."""
    first, last, more = _days(closure.start_date, closure.end_date, now)
    if last < first:
        return DaysEffect(days=[], affected=[], in_past=True, more_days=0)
    saved = load_office_schedules([office], first, last)[office.id]
    changed = dataclasses.replace(saved, closures=[*saved.closures, closure])
    ids = affected(closure, now)
    found = Appointment.objects.filter(pk__in=ids).select_related("counter").order_by("start", "pk")
    return DaysEffect(
        days=_compare(office, saved, changed, first, last, now), affected=list(found), in_past=False, more_days=more
    )


def holiday_effect(*, office: Office, day: dt.date, is_open: bool, now: dt.datetime) -> DaysEffect:
    """The effect of opening the office on the public holiday `day` with its usual hours (more
    capacity), or of closing it again (the day's bookings still to come lie outside the working
    time then)."""
    if day < today(now):
        return DaysEffect(days=[], affected=[], in_past=True, more_days=0)
    saved = load_office_schedules([office], day, day)[office.id]
    openings = saved.holiday_openings | {day} if is_open else saved.holiday_openings - {day}
    changed = dataclasses.replace(saved, holiday_openings=openings)
    outside = outside_working_time(office=office, schedule=changed, date_from=day, date_to=day, now=now)
    already = {a.pk for a in outside_working_time(office=office, schedule=saved, date_from=day, date_to=day, now=now)}
    return DaysEffect(
        days=_compare(office, saved, changed, day, day, now),
        affected=[a for a in outside if a.pk not in already],
        in_past=False,
        more_days=0,
    )


def _require(user, office: Office) -> None:
    if not may_edit_hours(user, office):
        raise ClerkError(ErrorCode.FORBIDDEN, _("Only the office lead or an administrator may change this."))


def save_hours(*, office: Office, rows: Iterable[HoursRow], user, now: dt.datetime) -> HoursEffect:
    """Save the weekly hours (checked by the form: no overlaps, opening before closing) and return
    their effect: the bookings that now lie outside the working time are moved or re-offered from
    the closures page, as after any block."""
    _require(user, office)
    week.replace_week(office=office, rows=list(rows))
    return effect(office=office, now=now)


def add_preset(*, office: Office, key: str, year: int, user, now: dt.datetime) -> tuple[Closure, bool, int]:
    """Close the office on a preset day (24.12., 31.12., Fastnachtsdienstag); returns the closure,
    whether it is new, and how many bookings still to come it hits."""
    _require(user, office)
    closure, created = week.add_preset_closure(office=office, key=key, year=year, user=user)
    return closure, created, len(affected(closure, now))


def add_closure(*, office: Office, closure: Closure, user, now: dt.datetime) -> int:
    """Save a closure entered on the year's calendar; returns how many bookings still to come it hits."""
    _require(user, office)
    closure.office = office
    closure.created_by = user
    closure.full_clean()
    closure.save()
    return len(affected(closure, now))


def delete_closure(*, office: Office, pk: int, user) -> bool:
    _require(user, office)
    deleted, _rows = Closure.objects.filter(office=office, pk=pk).delete()
    return bool(deleted)


@transaction.atomic
def set_holiday_opening(*, office: Office, day: dt.date, is_open: bool, user) -> None:
    """Open the office with its usual hours on a public holiday, or close it again."""
    _require(user, office)
    if is_open:
        opening = HolidayOpening(office=office, date=day)
        opening.full_clean(validate_unique=False)
        HolidayOpening.objects.get_or_create(office=office, date=day)
    else:
        for opening in HolidayOpening.objects.filter(office=office, date=day):
            opening.delete()
