"""The clerks' pages under /mitarbeiter/: an office's day schedule (with a fragment for the
self-refreshing view, a print view and a CSV export), a booking's page with check-in and outcome,
the search by reference (and the QR code's check-in link), walk-in bookings and counter blocks.

Thin: parse, call clerk.py / schedule.py, render. Who may see what is decided in clerk.py; a page of
another office answers 403, an unknown office or reference 404, a malformed date 404, never a 500.
Everything works without JavaScript.
"""

from __future__ import annotations

import csv
import datetime as dt
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appointments.desk import second_factor
from appointments.desk.forms import (
    BlockForm,
    CancelForm,
    FollowUpForm,
    MoveDayForm,
    MoveForm,
    NoteForm,
    ReferenceForm,
    WalkInForm,
)
from appointments.domain import clerk
from appointments.domain.relocation import Result
from appointments.domain.schedule import day_schedule
from appointments.errors import ErrorCode, PortalError
from appointments.models import Appointment, VisitOutcome
from ikz_portal import clock
from ikz_portal.clock import today
from offices.hours import BERLIN, local
from offices.models import Closure, Office

REFRESH_SECONDS = 15


# --- helpers ----------------------------------------------------------------------------------


def formats() -> dict[str, str]:
    if (translation.get_language() or "de").startswith("de"):
        return {"day": "l, j. F Y", "short": "d.m.Y", "time": "H:i", "stamp": "d.m.Y H:i"}
    return {"day": "l, j F Y", "short": "d/m/Y", "time": "H:i", "stamp": "d/m/Y H:i"}


def page(request, template: str, context: dict | None = None, status: int = 200):
    context = {
        "fmt": formats(),
        "my_offices": clerk.offices_for(request.user).order_by("name"),
        # Read only where a page has no office of its own to list (an administration's administrator).
        "hours_offices": clerk.hours_offices_for(request.user).order_by("name"),
        **(context or {}),
    }
    return render(request, template, context, status=status)


def error_page(request, status: int, title: str, message: str):
    return page(request, "clerk/error.html", {"title": title, "message": message}, status)


def forbidden(request, message: str = ""):
    return error_page(request, 403, _("No access"), message or _("You do not work for this office."))


def not_found(request, message: str = ""):
    return error_page(request, 404, _("Not found"), message or _("This page does not exist."))


def staff_page(view):
    """Logged-in staff only (anonymous visitors go to the login page), with the second factor
    where the account has or needs one (second_factor.py); never cached, since the pages show
    personal data and change by the minute."""
    return login_required(never_cache(second_factor.verified_staff(view)), login_url="clerk:login")


def with_office(view):
    """Resolve the office slug of the URL and refuse offices the user does not work for."""

    @wraps(view)
    def wrapper(request, office: str, *args, **kwargs):
        found = Office.objects.select_related("administration").filter(slug=office).first()
        if found is None:
            return not_found(request, _("There is no office with this address."))
        if not clerk.may_act(request.user, found.pk):
            return forbidden(request)
        return view(request, found, *args, **kwargs)

    return wrapper


def parse_day(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None


def schedule_url(office: Office, day: dt.date, **query) -> str:
    url = reverse("clerk:schedule", args=[office.slug, day.isoformat()])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def add_errors(form, error: PortalError, *, rename: dict | None = None) -> None:
    """Carry a service's errors back to the form's fields (`rename`: service field → form field);
    what belongs to no field goes to the top of the error summary."""
    rename = rename or {}
    by_field = error.extra.get("errors") or {error.field: [error.message]}
    for field, field_errors in by_field.items():
        target = rename.get(field, field)
        for message in field_errors:
            form.add_error(target if target in form.fields else None, str(message))


def appointment_or_refusal(request, reference: str) -> tuple[Appointment | None, HttpResponse | None]:
    try:
        return clerk.find_by_reference(reference=reference, user=request.user), None
    except PortalError as error:
        if error.code == ErrorCode.FORBIDDEN:
            return None, forbidden(request, str(error.message))
        return None, not_found(request, str(error.message))


# --- home, schedule -------------------------------------------------------------------------------


@require_GET
@staff_page
def home(request):
    """The first of the user's offices, today; for an administration's administrator who works at
    none of its offices, the offices whose hours she configures."""
    office = clerk.offices_for(request.user).order_by("name").first()
    if office is None:
        configured = list(clerk.hours_offices_for(request.user).select_related("administration").order_by("name"))
        if configured:
            year = today(clock.now()).year
            return page(request, "clerk/start.html", {"configured": [{"office": o, "year": year} for o in configured]})
        return forbidden(request, _("Your account is not assigned to an office yet. Please ask your administrator."))
    return redirect(schedule_url(office, today(clock.now())))


@require_GET
@staff_page
@with_office
def office_today(request, office: Office):
    return redirect(schedule_url(office, today(clock.now())))


def schedule_context(request, office: Office, day: dt.date, now: dt.datetime) -> dict:
    schedule = day_schedule(office=office, day=day, now=now)
    is_today = day == today(now)
    for a in schedule.appointments:
        # Which buttons a row offers.
        a.may_check_in = clerk.may_check_in(a, now)
        a.may_complete = clerk.may_complete(a)
        a.may_no_show = clerk.may_mark_no_show(a, now)
    return {
        "office": office,
        "day": day,
        "is_today": is_today,
        "schedule": schedule,
        "now": now,
        "this_url": schedule_url(office, day),
        "fragment_url": reverse("clerk:schedule_fragment", args=[office.slug, day.isoformat()]),
    }


def render_schedule(
    request, office: Office, day: dt.date, *, walk_in_form=None, message: str = "", alternatives=(), status: int = 200
):
    now = clock.now()
    context = schedule_context(request, office, day, now)
    if walk_in_form is None:
        next_free = context["schedule"].next_free
        walk_in_form = WalkInForm(
            office=office,
            initial={
                "vehicles": 1,
                "channel": "counter",
                "language": "de",
                "time": next_free.astimezone(BERLIN).strftime("%H:%M") if next_free else "",
            },
        )
    context.update(
        walk_in=walk_in_form,
        walk_in_message=message,
        walk_in_alternatives=list(alternatives),
        refresh_seconds=REFRESH_SECONDS,
        prev_url=schedule_url(office, day - dt.timedelta(days=1)),
        next_url=schedule_url(office, day + dt.timedelta(days=1)),
        today_url=schedule_url(office, today(now)),
        print_url=schedule_url(office, day, print=1),
        csv_url=reverse("clerk:export_csv", args=[office.slug, day.isoformat()]),
        walk_in_url=reverse("clerk:walk_in", args=[office.slug, day.isoformat()]),
        block_url=reverse("clerk:block", args=[office.slug]) + f"?day={day.isoformat()}",
        closures_url=reverse("clerk:closures", args=[office.slug]),
        language_next=schedule_url(office, day),
    )
    return page(request, "clerk/schedule.html", context, status)


@require_GET
@staff_page
@with_office
def schedule(request, office: Office, day: str):
    parsed = parse_day(day)
    if parsed is None:
        return not_found(request, _("This is not a valid date."))
    if request.GET.get("print"):
        context = schedule_context(request, office, parsed, clock.now())
        return page(request, "clerk/schedule_print.html", context)
    return render_schedule(request, office, parsed)


@require_GET
@staff_page
@with_office
def schedule_fragment(request, office: Office, day: str):
    """The schedule's inner HTML, which clerk.js fetches every few seconds and swaps in."""
    parsed = parse_day(day)
    if parsed is None:
        return not_found(request, _("This is not a valid date."))
    context = schedule_context(request, office, parsed, clock.now())
    response = render(request, "clerk/_schedule.html", {"fmt": formats(), **context})
    # The script swaps in only what carries this header: never a login page after a timed-out session.
    response["X-Clerk-Fragment"] = "1"
    return response


def spreadsheet_safe(value) -> str:
    """A cell that a spreadsheet must not run as a formula (a name like "=HYPERLINK(…)")."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@require_GET
@staff_page
@with_office
def export_csv(request, office: Office, day: str):
    """The day's bookings for German Excel: UTF-8 with a byte order mark, semicolons."""
    parsed = parse_day(day)
    if parsed is None:
        return not_found(request, _("This is not a valid date."))
    schedule = day_schedule(office=office, day=parsed, now=clock.now())
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="termine-{office.slug}-{parsed.isoformat()}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            _("Time"),
            _("End"),
            _("Counter"),
            _("Reference"),
            _("Services"),
            _("Vehicles"),
            _("Name"),
            _("Status"),
            _("Channel"),
            _("Home administration"),
        ]
    )
    for a in sorted(schedule.appointments, key=lambda a: (a.start, a.counter.name)):
        writer.writerow(
            [
                spreadsheet_safe(v)
                for v in (
                    a.start.astimezone(BERLIN).strftime("%H:%M"),
                    a.end.astimezone(BERLIN).strftime("%H:%M"),
                    a.counter.name,
                    a.reference,
                    ", ".join(item.service.name for item in a.items.all()),
                    a.vehicles,
                    a.name,
                    a.get_status_display(),
                    a.get_channel_display(),
                    a.home_administration.name,
                )
            ]
        )
    return response


# --- walk-ins and phone bookings -------------------------------------------------------------

# The booking service's field names where the walk-in form names them differently.
FIELD_OF = {"start": "time", "services": "service"}


@require_POST
@staff_page
@with_office
def walk_in(request, office: Office, day: str):
    parsed = parse_day(day)
    if parsed is None:
        return not_found(request, _("This is not a valid date."))
    form = WalkInForm(request.POST, office=office)
    if not form.is_valid():
        return render_schedule(request, office, parsed, walk_in_form=form, status=400)
    data = form.cleaned_data
    try:
        appointment, _token = clerk.book_walk_in(
            user=request.user,
            office=office,
            start=local(parsed, data["time"]),
            services=list(data["service"]),
            vehicles=data["vehicles"],
            municipality=data["municipality"],
            name=data["name"],
            email=data["email"],
            phone=data["phone"],
            channel=data["channel"],
            language=data.get("language") or "de",
            now=clock.now(),
        )
    except PortalError as error:
        if error.code == ErrorCode.FORBIDDEN:
            return forbidden(request, str(error.message))
        add_errors(form, error, rename=FIELD_OF)
        return render_schedule(
            request,
            office,
            parsed,
            walk_in_form=form,
            alternatives=error.extra.get("alternatives", ()),
            status=409 if error.code == ErrorCode.SLOT_TAKEN else 400,
        )
    messages.success(
        request,
        _("Booked: %(reference)s at %(time)s, %(counter)s.")
        % {
            "reference": appointment.reference,
            "time": appointment.start.astimezone(BERLIN).strftime("%H:%M"),
            "counter": appointment.counter.name,
        },
    )
    return redirect("clerk:appointment", appointment.reference)


# --- one booking -----------------------------------------------------------------------------


def appointment_page(
    request, appointment: Appointment, *, problem: str = "", status: int = 200, note_form=None, cancel_form=None
):
    now = clock.now()
    appointment = Appointment.objects.select_related("office", "counter", "municipality", "home_administration").get(
        pk=appointment.pk
    )
    day = appointment.start.astimezone(BERLIN).date()
    context = {
        "appointment": appointment,
        "office": appointment.office,
        "services": [item.service for item in appointment.items.select_related("service")],
        "events": appointment.events.select_related("user").order_by("-at", "-id"),
        "problem": problem,
        "is_today": day == today(now),
        "can_undo": clerk.can_undo(appointment, now),
        "no_show_from": clerk.no_show_from(appointment),
        "no_show_due": now >= clerk.no_show_from(appointment),
        "note_form": note_form or NoteForm(initial={"note": appointment.note}),
        "outcomes": VisitOutcome.choices,
        "may_change": clerk.may_change_for_citizen(appointment, now),
        "cancel_form": cancel_form or CancelForm(),
        "may_follow_up": clerk.may_book_follow_up(appointment),
        "schedule_url": schedule_url(appointment.office, day),
        "language_next": reverse("clerk:appointment", args=[appointment.reference]),
    }
    return page(request, "clerk/appointment.html", context, status)


@require_GET
@staff_page
def appointment(request, reference: str):
    found, refusal = appointment_or_refusal(request, reference)
    if refusal:
        return refusal
    return appointment_page(request, found)


ACTIONS = {
    "checkin": (clerk.check_in, gettext_lazy("Checked in.")),
    "complete": (clerk.complete, gettext_lazy("Completed.")),
    "no-show": (clerk.mark_no_show, gettext_lazy("Marked as a no-show.")),
    "undo": (clerk.undo_last, gettext_lazy("The last change has been undone.")),
}


@require_POST
@staff_page
def act(request, reference: str, action: str):
    """Check-in, completion, no-show, undo: a POST, then back to where the clerk came from."""
    found, refusal = appointment_or_refusal(request, reference)
    if refusal:
        return refusal
    if action not in ACTIONS:
        return not_found(request)
    function, done = ACTIONS[action]
    before = found.status
    # A completion records how the visit ended (the outcome buttons); "completed" without one.
    extra = {"outcome": request.POST.get("outcome") or VisitOutcome.COMPLETED} if action == "complete" else {}
    try:
        changed = function(appointment=found, user=request.user, now=clock.now(), **extra)
    except PortalError as error:
        if error.code == ErrorCode.FORBIDDEN:
            return forbidden(request, str(error.message))
        status = 400 if error.code == ErrorCode.INVALID else 409
        return appointment_page(request, found, problem=str(error.message), status=status)
    if changed.status == before:
        messages.info(
            request,
            _("Nothing changed: the appointment is already “%(status)s”.") % {"status": changed.get_status_display()},
        )
    elif changed.outcome and changed.outcome != VisitOutcome.COMPLETED:
        messages.success(request, f"{changed.reference}: {done} {changed.get_outcome_display()}")
    else:
        messages.success(request, f"{changed.reference}: {done}")
    return HttpResponseRedirect(safe_next(request, reverse("clerk:appointment", args=[changed.reference])))


@require_POST
@staff_page
def note(request, reference: str):
    found, refusal = appointment_or_refusal(request, reference)
    if refusal:
        return refusal
    form = NoteForm(request.POST)
    if not form.is_valid():
        return appointment_page(
            request, found, problem=" ".join(form.errors.get("note", [])), status=400, note_form=form
        )
    try:
        clerk.set_note(appointment=found, user=request.user, note=form.cleaned_data["note"], now=clock.now())
    except PortalError as error:
        if error.code == ErrorCode.FORBIDDEN:
            return forbidden(request, str(error.message))
        return appointment_page(request, found, problem=str(error.message), status=400, note_form=form)
    messages.success(request, _("The note has been saved."))
    return redirect("clerk:appointment", found.reference)


# --- on the citizen's behalf: cancel, move, follow-up -----------------------------------------


@require_POST
@staff_page
def cancel(request, reference: str):
    """Cancel for a citizen who phoned or wrote; the mail (if there is an address) names the reason."""
    found, refusal = appointment_or_refusal(request, reference)
    if refusal:
        return refusal
    form = CancelForm(request.POST)
    if not form.is_valid():
        return appointment_page(request, found, problem=_("Please choose a reason."), status=400, cancel_form=form)
    try:
        cancelled = clerk.cancel_for_citizen(
            appointment=found,
            user=request.user,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["cancel_note"],
            now=clock.now(),
        )
    except PortalError as error:
        if error.code == ErrorCode.FORBIDDEN:
            return forbidden(request, str(error.message))
        add_errors(form, error, rename={"note": "cancel_note"})
        return appointment_page(request, found, problem=str(error.message), status=409, cancel_form=form)
    if cancelled.email:
        messages.success(request, _("The booking has been cancelled; the citizen gets an e-mail."))
    else:
        messages.success(
            request, _("The booking has been cancelled. There is no e-mail address: please tell the citizen.")
        )
    return redirect("clerk:appointment", cancelled.reference)


def move_page(request, appointment: Appointment, *, problem: str = "", alternatives=(), status: int = 200):
    """The free times the booking can move to, by day: the chosen day's times at each office."""
    now = clock.now()
    appointment = Appointment.objects.select_related("office", "counter", "municipality").get(pk=appointment.pk)
    day_form = MoveDayForm(request.GET or None)
    wanted = day_form.cleaned_data.get("day") if day_form.is_valid() else None
    try:
        slots = clerk.free_times(appointment=appointment, now=now)
    except PortalError as error:
        slots, problem = [], problem or str(error.message)
    by_day: dict[dt.date, list] = {}
    for slot in slots:
        by_day.setdefault(slot.start.astimezone(BERLIN).date(), []).append(slot)
    chosen = wanted if wanted in by_day else next(iter(by_day), None)
    groups: dict[int, dict] = {}
    for slot in by_day.get(chosen, []) if chosen else []:
        group = groups.setdefault(slot.office.pk, {"office": slot.office, "slots": []})
        group["slots"].append({"start": slot.start, "value": slot.start.isoformat()})
    this_url = reverse("clerk:move", args=[appointment.reference])
    days = [{"day": d, "count": len(v), "url": f"{this_url}?day={d.isoformat()}"} for d, v in by_day.items()]
    return page(
        request,
        "clerk/move.html",
        {
            "appointment": appointment,
            "office": appointment.office,
            "problem": problem,
            "alternatives": list(alternatives),
            "day_form": day_form,
            "wanted": wanted,
            "chosen_day": chosen,
            "days": days[:21],
            "groups": sorted(
                groups.values(), key=lambda g: (g["office"].pk != appointment.office_id, g["office"].name)
            ),
            "this_url": this_url,
            "appointment_url": reverse("clerk:appointment", args=[appointment.reference]),
            "language_next": this_url,
        },
        status,
    )


@require_http_methods(["GET", "POST"])
@staff_page
def move(request, reference: str):
    """Move for a citizen who phoned: one of the free times their own calendar would show, at the
    office or at a partner office the cooperation rules allow."""
    found, refusal = appointment_or_refusal(request, reference)
    if refusal:
        return refusal
    now = clock.now()
    if not clerk.may_change_for_citizen(found, now):
        messages.error(request, _("This booking can no longer be moved."))
        return redirect("clerk:appointment", found.reference)
    if request.method == "GET":
        return move_page(request, found)
    form = MoveForm(request.POST)
    if not form.is_valid():
        return move_page(request, found, problem=_("Please choose a free time."), status=400)
    old_office = found.office
    try:
        moved = clerk.move_for_citizen(
            appointment=found,
            user=request.user,
            office=form.cleaned_data["office"],
            start=form.cleaned_data["start"],
            now=now,
        )
    except PortalError as error:
        if error.code == ErrorCode.FORBIDDEN:
            return forbidden(request, str(error.message))
        return move_page(
            request,
            found,
            problem=_("%(problem)s The booking stays as it was.") % {"problem": error.message},
            alternatives=error.extra.get("alternatives", ()),
            status=409 if error.code == ErrorCode.SLOT_TAKEN else 400,
        )
    when = moved.start.astimezone(BERLIN)
    messages.success(
        request,
        _("Moved to %(day)s, %(time)s at the %(office)s.")
        % {"day": when.strftime("%d.%m.%Y"), "time": when.strftime("%H:%M"), "office": moved.office.name}
        + " "
        + (
            _("The citizen gets an e-mail.")
            if moved.email and moved.status == "confirmed"
            else _("Please tell the citizen.")
        ),
    )
    if clerk.may_act(request.user, moved.office_id):
        return redirect("clerk:appointment", moved.reference)
    # Moved to the partner office: its page is no longer this clerk's.
    return redirect(schedule_url(old_office, today(now)))


@require_http_methods(["GET", "POST"])
@staff_page
def follow_up(request, reference: str):
    """Book the new appointment after a visit with incomplete documents, pre-filled from it."""
    found, refusal = appointment_or_refusal(request, reference)
    if refusal:
        return refusal
    assert found is not None
    if not clerk.may_book_follow_up(found):
        return redirect("clerk:appointment", found.reference)
    now = clock.now()
    office = found.office
    if request.method == "POST":
        form = FollowUpForm(request.POST, office=office)
        if form.is_valid():
            data = form.cleaned_data
            try:
                booked, _token = clerk.book_follow_up(
                    of=found,
                    user=request.user,
                    start=local(data["day"], data["time"]),
                    services=list(data["service"]),
                    vehicles=data["vehicles"],
                    municipality=data["municipality"],
                    name=data["name"],
                    email=data["email"],
                    phone=data["phone"],
                    channel=data["channel"],
                    language=data.get("language") or "de",
                    now=now,
                )
            except PortalError as error:
                if error.code == ErrorCode.FORBIDDEN:
                    return forbidden(request, str(error.message))
                add_errors(form, error, rename=FIELD_OF)
                return follow_up_page(
                    request, found, form, alternatives=error.extra.get("alternatives", ()), status=409
                )
            messages.success(
                request,
                _("Follow-up appointment booked: %(reference)s on %(day)s at %(time)s.")
                % {
                    "reference": booked.reference,
                    "day": booked.start.astimezone(BERLIN).strftime("%d.%m.%Y"),
                    "time": booked.start.astimezone(BERLIN).strftime("%H:%M"),
                },
            )
            return redirect("clerk:appointment", booked.reference)
        return follow_up_page(request, found, form, status=400)
    suggested_day = parse_day(request.GET.get("day", ""))
    form = FollowUpForm(
        office=office,
        initial={
            "service": [item.service for item in found.items.select_related("service")],
            "vehicles": found.vehicles,
            "municipality": found.municipality,
            "name": found.name,
            "email": found.email,
            "phone": found.phone,
            "channel": "counter",
            "language": found.language,
            "day": suggested_day,
            "time": request.GET.get("time", "")[:5],
        },
    )
    return follow_up_page(request, found, form)


def follow_up_page(request, appointment: Appointment, form, *, alternatives=(), status: int = 200):
    now = clock.now()
    try:
        slots = clerk.free_times(appointment=appointment, now=now, offices=[appointment.office])[:12]
    except PortalError:
        slots = []  # concerns that cannot be booked online: the clerk types the time
    this_url = reverse("clerk:follow_up", args=[appointment.reference])
    suggestions = [
        {
            "start": slot.start,
            "url": f"{this_url}?day={slot.start.astimezone(BERLIN).date().isoformat()}"
            f"&time={slot.start.astimezone(BERLIN):%H:%M}",
        }
        for slot in slots
    ]
    return page(
        request,
        "clerk/follow_up.html",
        {
            "appointment": appointment,
            "office": appointment.office,
            "form": form,
            "suggestions": suggestions,
            "alternatives": list(alternatives),
            "appointment_url": reverse("clerk:appointment", args=[appointment.reference]),
            "language_next": this_url,
        },
        status,
    )


# --- finding a booking -----------------------------------------------------------------------


@require_GET
@staff_page
def search(request):
    """The reference typed in (any case, with or without the dash) or scanned by a hand scanner,
    which types the QR code's whole link."""
    form = ReferenceForm(request.GET or None)
    if not form.is_valid():
        return page(request, "clerk/search.html", {"form": form, "problem": ""}, 400 if request.GET else 200)
    try:
        found = clerk.find_by_reference(reference=form.cleaned_data["reference"], user=request.user)
    except PortalError as error:
        status = 403 if error.code == ErrorCode.FORBIDDEN else 404
        return page(request, "clerk/search.html", {"form": form, "problem": str(error.message)}, status)
    return redirect("clerk:appointment", found.reference)


@require_GET
@staff_page
def checkin_link(request, reference: str):
    """The QR code's link: the booking's page, whose first button checks the citizen in."""
    found, refusal = appointment_or_refusal(request, reference)
    if refusal:
        return refusal
    return redirect("clerk:appointment", found.reference)


# --- blocks -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_page
@with_office
def block(request, office: Office):
    """Block a counter for a time; then move or re-offer the bookings it hits and show the result."""
    now = clock.now()
    may_close_office = clerk.may_block(request.user, office, whole_office=True)
    if request.method == "GET":
        initial = {"day": parse_day(request.GET.get("day", "")) or today(now)}
        form = BlockForm(initial=initial, office=office, may_close_office=may_close_office)
        return page(request, "clerk/block.html", {"office": office, "form": form})

    form = BlockForm(request.POST, office=office, may_close_office=may_close_office)
    if not form.is_valid():
        return page(request, "clerk/block.html", {"office": office, "form": form}, 400)
    data = form.cleaned_data
    try:
        closure, outcomes = clerk.block(
            user=request.user,
            office=office,
            counter=form.chosen_counter(),
            day=data["day"],
            start_time=data.get("start_time"),
            end_time=data.get("end_time"),
            reason=data["reason"],
            now=now,
        )
    except PortalError as error:
        if error.code == ErrorCode.FORBIDDEN and not error.field:
            return forbidden(request, str(error.message))
        add_errors(form, error)
        return page(
            request,
            "clerk/block.html",
            {"office": office, "form": form},
            409 if error.code == ErrorCode.OVERLAP else 400,
        )
    return relocation_result(request, office, closure, outcomes)


def relocation_result(request, office: Office, closure: Closure, outcomes):
    groups = {
        key: [o for o in outcomes if o.result == key]
        for key in (Result.MOVED, Result.OFFERED, Result.OPEN, Result.RELEASED)
    }
    return page(
        request,
        "clerk/block_result.html",
        {
            "office": office,
            "closure": closure,
            "closure_text": clerk.describe_closure(closure),
            "groups": groups,
            "total": len(outcomes),
            "schedule_url": schedule_url(office, closure.start_date),
            "language_next": reverse("clerk:closures", args=[office.slug]),
        },
    )


@require_GET
@staff_page
@with_office
def closures(request, office: Office):
    """The office's blocks and closures from today on, also those an administrator entered in the
    admin, each with a button to move or re-offer the bookings it hits."""
    now = clock.now()
    rows = Closure.objects.filter(office=office, end_date__gte=today(now)).select_related("counter", "created_by")
    # Moving the bookings a closure hits is for whoever may block what it blocks.
    may_relocate = {whole: clerk.may_block(request.user, office, whole_office=whole) for whole in (False, True)}
    entries = [
        {"closure": c, "text": clerk.describe_closure(c), "may_relocate": may_relocate[c.counter_id is None]}
        for c in rows.order_by("start_date", "start_time", "counter__name")
    ]
    return page(
        request,
        "clerk/closures.html",
        {"office": office, "entries": entries, "block_url": reverse("clerk:block", args=[office.slug])},
    )


@require_POST
@staff_page
@with_office
def closure_relocate(request, office: Office, pk: int):
    closure = Closure.objects.filter(office=office, pk=pk).select_related("counter", "office").first()
    if closure is None:
        return not_found(request, _("This block does not exist (any more)."))
    try:
        outcomes = clerk.relocate(user=request.user, closure=closure, now=clock.now())
    except PortalError as error:
        return forbidden(request, str(error.message))
    return relocation_result(request, office, closure, outcomes)
