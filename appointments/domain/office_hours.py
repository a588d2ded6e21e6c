"""The office-hours page's services: what new weekly hours would do before they are saved (the
capacity per day and the bookings still to come that would lie outside the working time), saving
them, and the closures an administrator adds on the year's calendar. Who may do this is decided in
clerk.py (`may_edit_hours`)."""

from __future__ import annotations

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
from offices.hours import load_office_schedules
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
