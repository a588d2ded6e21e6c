"""The office-hours pages of the staff area: the week grid with its capacity preview before saving,
and the year's calendar with public holidays, closures, holiday openings and the common closing
days as one-click presets. For office leads, the administrators of the office's administration and
superusers (clerk.may_edit_hours); the Django admin stays for superusers.

Thin like the other desk views: parse with hours_forms.py, call domain/office_hours.py, render.
Every change is a POST answered with a redirect; everything works without JavaScript.
"""

from __future__ import annotations

import calendar
import datetime as dt
from functools import wraps

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import formats as django_formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from appointments.desk.hours_forms import ClosureForm, WeekForm
from appointments.desk.views import forbidden, not_found, page, parse_day, staff_page
from appointments.domain import clerk, office_hours
from appointments.errors import PortalError
from ikz_portal import clock
from ikz_portal.clock import today
from offices import week
from offices.hours import public_holidays
from offices.models import Closure, HolidayOpening, Office

PREVIEW = "preview"
SAVE = "save"
YEARS_BACK, YEARS_AHEAD = 1, 2


def with_hours_office(view):
    """Resolve the office of the URL; only those who may configure its hours get further."""

    @wraps(view)
    def wrapper(request, office: str, *args, **kwargs):
        found = Office.objects.select_related("administration").filter(slug=office).first()
        if found is None:
            return not_found(request, _("There is no office with this address."))
        if not clerk.may_edit_hours(request.user, found):
            return forbidden(request, _("Only the office lead or an administrator may change the office hours."))
        return view(request, found, *args, **kwargs)

    return wrapper


def hours_url(office: Office) -> str:
    return reverse("clerk:hours", args=[office.slug])


def year_url(office: Office, year: int) -> str:
    return reverse("clerk:hours_year", args=[office.slug, year])


def short(day: dt.date) -> str:
    return django_formats.date_format(day, "SHORT_DATE_FORMAT")


def warn_affected(request, count: int) -> None:
    if count:
        messages.warning(
            request,
            ngettext(
                "%(count)s booked appointment lies outside the working time now. Move it or offer the "
                "citizen a new time under “Blocks and closures”.",
                "%(count)s booked appointments lie outside the working time now. Move them or offer the "
                "citizens new times under “Blocks and closures”.",
                count,
            )
            % {"count": count},
        )


# --- the week ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_page
@with_hours_office
def hours(request, office: Office):
    """The weekly hours: "Preview" shows the capacity and the bookings outside the working time with
    the hours on the page, without saving; "Save" saves them."""
    now = clock.now()
    saved = week.current_rows(office)
    if request.method == "GET":
        form = WeekForm(office=office, rows=saved)
        return render_hours(request, office, form, office_hours.effect(office=office, now=now))

    form = WeekForm(request.POST, office=office, rows=saved)
    if not form.is_valid():
        return render_hours(request, office, form, None, status=400)
    if SAVE not in request.POST:
        preview = office_hours.effect(office=office, now=now, rows=form.hours_rows)
        return render_hours(request, office, form, preview)
    try:
        result = office_hours.save_hours(office=office, rows=form.hours_rows, user=request.user, now=now)
    except PortalError as error:
        return forbidden(request, str(error.message))
    messages.success(request, _("The office hours are saved. Citizens see the new times at once."))
    warn_affected(request, len(result.outside))
    return HttpResponseRedirect(hours_url(office))


def render_hours(request, office: Office, form: WeekForm, effect, status: int = 200):
    return page(
        request,
        "clerk/hours.html",
        {
            "office": office,
            "form": form,
            "effect": effect,
            "closures_url": reverse("clerk:closures", args=[office.slug]),
            "year_url": year_url(office, today(clock.now()).year),
            "preview_name": PREVIEW,
            "save_name": SAVE,
            "works_here": clerk.may_act(request.user, office.pk),
        },
        status,
    )


# --- the year ------------------------------------------------------------------------------------


def year_in_range(year: int) -> bool:
    current = today(clock.now()).year
    return current - YEARS_BACK <= year <= current + YEARS_AHEAD


def month_grids(year: int, holidays: dict, openings: set, closures: list[Closure]) -> list[dict]:
    """The year's months as weeks of day cells, each with what is special about the day."""
    grids = []
    cal = calendar.Calendar(firstweekday=0)
    for month in range(1, 13):
        weeks = []
        for days in cal.monthdatescalendar(year, month):
            cells = []
            for day in days:
                if day.month != month:
                    cells.append(None)
                    continue
                notes, kind = [], ""
                hits = [c for c in closures if c.start_date <= day <= c.end_date]
                if day in holidays:
                    kind = "holiday-open" if day in openings else "holiday"
                    notes.append(holidays[day])
                    notes.append(_("open with the usual hours") if day in openings else _("closed"))
                if hits:
                    whole = any(c.counter_id is None and c.is_whole_day for c in hits)
                    kind = kind if kind == "holiday" else ("closed" if whole else "partial")
                    notes.extend(c.reason for c in hits)
                    if not whole:
                        notes.append(_("partly closed"))
                cells.append({"day": day, "kind": kind, "note": ", ".join(str(n) for n in notes)})
            weeks.append(cells)
        grids.append({"month": dt.date(year, month, 1), "weeks": weeks})
    return grids


def render_year(
    request,
    office: Office,
    year: int,
    form: ClosureForm | None = None,
    status: int = 200,
    closure_effect: office_hours.DaysEffect | None = None,
):
    holidays = public_holidays(year)
    openings = set(HolidayOpening.objects.filter(office=office, date__year=year).values_list("date", flat=True))
    closures = list(
        Closure.objects.filter(office=office, start_date__lte=dt.date(year, 12, 31), end_date__gte=dt.date(year, 1, 1))
        .select_related("counter", "created_by")
        .order_by("start_date", "start_time", "counter__name")
    )
    now = clock.now()
    first_day = today(now)
    presets = []
    for key, label in week.PRESETS.items():
        day = week.preset_day(key, year)
        closed = week.whole_office_closure_on(office, day)
        past = day < first_day
        # What the one click would do, shown before it is clicked.
        unsaved = Closure(office=office, start_date=day, end_date=day, reason=week.PRESET_REASONS[key])
        effect = None if closed or past else office_hours.closure_effect(office=office, closure=unsaved, now=now)
        presets.append({"key": key, "label": label, "day": day, "closed": closed, "past": past, "effect": effect})
    holiday_rows = []
    for day, name in sorted(holidays.items()):
        is_open, past = day in openings, day < first_day
        # Opening adds the day's capacity; closing again puts its bookings outside the working time.
        effect = None if past else office_hours.holiday_effect(office=office, day=day, is_open=not is_open, now=now)
        holiday_rows.append({"day": day, "name": name, "open": is_open, "past": past, "effect": effect})
    return page(
        request,
        "clerk/hours_year.html",
        {
            "office": office,
            "year": year,
            "months": month_grids(year, holidays, openings, closures),
            "weekday_dates": [dt.date(2024, 1, day) for day in range(1, 8)],  # a Monday to a Sunday
            "holidays": holiday_rows,
            "closures": [
                {"closure": c, "text": clerk.describe_closure(c), "past": c.end_date < first_day} for c in closures
            ],
            "presets": presets,
            "form": form or ClosureForm(office=office),
            "closure_effect": closure_effect,
            "preview_name": PREVIEW,
            "save_name": SAVE,
            # The bookings' pages and the relocation step are the office staff's (clerk.may_act).
            "works_here": clerk.may_act(request.user, office.pk),
            "previous_year": year - 1 if year_in_range(year - 1) else None,
            "next_year": year + 1 if year_in_range(year + 1) else None,
            "hours_url": hours_url(office),
            "closures_url": reverse("clerk:closures", args=[office.slug]),
        },
        status,
    )


def year_or_404(request, year: int):
    if not year_in_range(year):
        return not_found(request, _("The calendar shows last year, this year and the next two years."))
    return None


@require_http_methods(["GET"])
@staff_page
@with_hours_office
def hours_year(request, office: Office, year: int):
    return year_or_404(request, year) or render_year(request, office, year)


@require_POST
@staff_page
@with_hours_office
def hours_preset(request, office: Office, year: int):
    """One click closes the office on 24.12., 31.12. or Fastnachtsdienstag of the year."""
    refusal = year_or_404(request, year)
    if refusal:
        return refusal
    key = request.POST.get("preset", "")
    if key not in week.PRESETS:
        return not_found(request, _("This closing day is not offered."))
    closure, created, count = office_hours.add_preset(
        office=office, key=key, year=year, user=request.user, now=clock.now()
    )
    if created:
        messages.success(
            request,
            _("The office is closed on %(day)s (%(reason)s).")
            % {"day": short(closure.start_date), "reason": closure.reason},
        )
        warn_affected(request, count)
    else:
        messages.info(request, _("The office is already closed on %(day)s.") % {"day": short(closure.start_date)})
    return HttpResponseRedirect(year_url(office, year))


@require_POST
@staff_page
@with_hours_office
def hours_closure_add(request, office: Office, year: int):
    """A closure from the calendar's form: "Show the effect" (the form's first button, also Enter in
    a field) shows it without saving, "Save closure" saves it; the bookings it hits are then moved or
    re-offered under "Blocks and closures", as after any block."""
    refusal = year_or_404(request, year)
    if refusal:
        return refusal
    form = ClosureForm(request.POST, office=office)
    if not form.is_valid():
        return render_year(request, office, year, form, status=400)
    closure = form.closure()
    if PREVIEW in request.POST:
        # "Show the effect": the capacity of its days and the bookings it would hit; nothing saved.
        effect = office_hours.closure_effect(office=office, closure=closure, now=clock.now())
        return render_year(request, office, year, form, closure_effect=effect)
    count = office_hours.add_closure(office=office, closure=closure, user=request.user, now=clock.now())
    messages.success(request, _("Closure saved: %(closure)s") % {"closure": clerk.describe_closure(closure)})
    warn_affected(request, count)
    return HttpResponseRedirect(
        year_url(office, closure.start_date.year if year_in_range(closure.start_date.year) else year)
    )


@require_POST
@staff_page
@with_hours_office
def hours_closure_delete(request, office: Office, year: int, pk: int):
    if not office_hours.delete_closure(office=office, pk=pk, user=request.user):
        return not_found(request, _("This closure does not exist (any more)."))
    messages.success(request, _("The closure is removed: the office works its usual hours on those days again."))
    return HttpResponseRedirect(year_url(office, year))


@require_POST
@staff_page
@with_hours_office
def hours_holiday(request, office: Office, year: int):
    """Open the office on a public holiday with its usual hours, or close it again."""
    day = parse_day(request.POST.get("day", ""))
    if day is None or day not in public_holidays(day.year) or not year_in_range(day.year):
        return not_found(request, _("This day is not a public holiday in Rhineland-Palatinate."))
    is_open = request.POST.get("open") == "1"
    office_hours.set_holiday_opening(office=office, day=day, is_open=is_open, user=request.user)
    if is_open:
        messages.success(request, _("The office opens on %(day)s with its usual hours.") % {"day": short(day)})
    else:
        messages.success(request, _("The office is closed on %(day)s.") % {"day": short(day)})
    return HttpResponseRedirect(year_url(office, year))
