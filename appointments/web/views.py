"""The citizen's pages: find a time, hold it, give contact data, confirm, manage, cancel, move.

Thin: parse the request, call availability/booking, render. Everything works without JavaScript.
A client can send anything: bad input becomes a form error (400), a wrong secret a 403 page, an
unknown reference a 404 page, never a 500.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import replace
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from appointments.domain import booking, occupancy, office_info, picker
from appointments.domain.availability import SlotRequest, candidate_offices, day_overview, duration_minutes, find_slots
from appointments.errors import ErrorCode, PortalError
from appointments.models import Appointment, Status
from appointments.outbox.ics import appointment_ics
from appointments.outbox.notifications import documents_for, documents_of
from appointments.security import captcha
from appointments.security.hoarding import Client, check_search_rate
from appointments.security.limits import RateLimited, check_rate, client_address, record_blocked
from appointments.ui import conditional, guards
from appointments.web.forms import (
    CalendarForm,
    CaptchaQuestionForm,
    ContactForm,
    HoldForm,
    SearchForm,
    SlotForm,
    online_services,
)
from ikz_portal import clock
from ikz_portal.clock import local_date, today
from offices import config
from offices.hours import BERLIN
from offices.models import Administration, Municipality, Office

# How many held references one browser session remembers (older ones are forgotten).
SESSION_HOLDS = 10
# The query parameter that opens the request form filled in, to change it (not to send it).
CHANGE = "change"
# The field of the calendar's time forms with the office filter in force (its slug).
FILTER = "filter"
# The session key of the contact details typed for a hold that ran out, for the next hold's form.
CONTACT_DRAFT = "contact_draft"


# --- helpers --------------------------------------------------------------------------------


def formats() -> dict[str, str]:
    """Date formats of the active language: "Dienstag, 1. Dezember 2026, 08:00 Uhr" in German."""
    if (translation.get_language() or "de").startswith("de"):
        return {"long": r"l, j. F Y, H:i \U\h\r", "day": "l, j. F Y", "short_day": "D, j. M", "time": "H:i"}
    return {"long": "l, j F Y, H:i", "day": "l, j F Y", "short_day": "D, j M", "time": "H:i"}


def page(request, template: str, context: dict | None = None, status: int = 200):
    return render(request, template, {"fmt": formats(), **(context or {})}, status=status)


def error_page(request, status: int, title: str, message: str, *, link: tuple[str, str] | None = None):
    return page(request, "appointments/error.html", {"title": title, "message": message, "link": link}, status)


def rate_limited_page(request, error: RateLimited):
    minutes = max(1, round(error.retry_after / 60))
    response = error_page(
        request,
        429,
        _("Too many requests"),
        _("You have sent many requests in a short time. Please wait about %(minutes)s minutes and try again.")
        % {"minutes": minutes},
        link=(reverse("appointments:start"), _("Go to the start page")),
    )
    response["Retry-After"] = str(error.retry_after)
    return response


def booking_error_page(request, error: PortalError):
    """The pages for "no such booking" and "this link is not valid"."""
    if error.code == ErrorCode.NOT_FOUND:
        return error_page(
            request,
            404,
            _("Booking not found"),
            _(
                "There is no booking with this reference, or the link is incomplete. Please use the complete "
                "link from your most recent e-mail."
            ),
            link=(reverse("appointments:start"), _("Book an appointment")),
        )
    return error_page(
        request,
        403,
        _("This link is not valid"),
        _(
            "This link does not belong to this booking, or it is incomplete. Please use the complete "
            "link from your most recent e-mail."
        ),
        link=(reverse("appointments:start"), _("Go to the start page")),
    )


def query_url(name: str, items: list[tuple[str, str]], **kwargs) -> str:
    return reverse(name, kwargs=kwargs or None) + "?" + urlencode(items)


def request_items(services, vehicles: int, municipality: Municipality) -> list[tuple[str, str]]:
    """The query parameters of a calendar for this request."""
    return [*(("service", s.slug) for s in services), ("vehicles", str(vehicles)), ("municipality", municipality.slug)]


def horizon(now: dt.datetime) -> tuple[dt.date, dt.date]:
    days = max((o.booking_horizon_days for o in candidate_offices()), default=0)
    return today(now), today(now) + dt.timedelta(days=days)


def with_token(name: str, appointment: Appointment, token: str) -> str:
    return reverse(name, args=[appointment.reference]) + "?" + urlencode({"token": token})


def slot_value(slot) -> str:
    return slot.start.astimezone(BERLIN).isoformat()


# --- calendar ---------------------------------------------------------------------------------


def picker_formats() -> dict[str, str]:
    """The time picker's date formats: "Do., 3. Dezember" for a time's label, "3.12." in the day strip."""
    if (translation.get_language() or "de").startswith("de"):
        return {
            "label_day": r"D., j. F",
            "strip_day": "j.n.",
            "week_first": "j. F",
            "week_last": "j. F Y",
            "clock_suffix": " Uhr",
        }
    return {"label_day": "D, j F", "strip_day": "j M", "week_first": "j F", "week_last": "j F Y", "clock_suffix": ""}


def calendar_context(
    *,
    slots,
    free,
    link_items: list[tuple[str, str]],
    link_name: str,
    link_kwargs: dict | None = None,
    office: Office | None,
    day: dt.date | None,
    home_administration_id: int | None = None,
) -> dict:
    """The earliest slot, the week of the chosen day (each day with its free appointments), and the
    chosen day's times per office (the citizen's home office first) and part of the day, short list
    and all. Links keep `link_items` (the request or the token) and add the office filter and the day.
    `free` is availability.day_overview of the same request: the counts of free appointments (all
    counters), not of start times."""
    link_kwargs = link_kwargs or {}
    # The offices with free times, the one with the earliest first (then by name).
    firsts = sorted((f.first, f.office.name, f.office) for f in free if f.appointments > 0 and f.first is not None)
    offices = OrderedDict()
    for _first, _name, free_office in firsts:
        offices.setdefault(free_office.slug, free_office)
    if office is not None:
        offices.setdefault(office.slug, office)
        slots = [s for s in slots if s.office.id == office.id]
        free = [f for f in free if f.office.id == office.id]
    office_items = [("office", office.slug)] if office else []

    def day_url(d: dt.date) -> str:
        return query_url(link_name, link_items + office_items + [("date", d.isoformat())], **link_kwargs)

    counts = picker.day_counts(free)
    free_days = list(counts)
    chosen = day if day is not None else next(iter(free_days), None)
    week = []
    previous_week = next_week = None
    if chosen is not None:
        # Monday to Friday always; Saturday and Sunday only when they have free times.
        week = [
            {"date": d, "count": counts.get(d, 0), "url": day_url(d) if d in counts else "", "current": d == chosen}
            for d in picker.week_of(chosen)
            if d.weekday() < 5 or d in counts
        ]
        previous_week, next_week = picker.neighbour_weeks(free_days, chosen)

    fmt = picker_formats()
    groups = []
    if chosen is not None:
        label_day = date_format(chosen, fmt["label_day"])
        overview = picker.day_overview(slots, day=chosen, home_administration_id=home_administration_id, free=free)
        # Each office's card: its hours today and in the week, closures, how to get there.
        infos = office_info.offices_info(offices=[o.office for o in overview], now=clock.now())
        for office_day in overview:
            groups.append(
                {
                    "office": office_day.office,
                    "info": infos.get(office_day.office.id),
                    "home": office_day.home,
                    "appointments": office_day.appointments,
                    # What a screen reader says of each time button: "Do., 3. Dezember, 09:15 Uhr, <office>".
                    "label_before": f"{label_day}, ",
                    "label_after": f"{fmt['clock_suffix']}, {office_day.office.name}",
                    "parts": [
                        {
                            "name": part.name,
                            "short": [{"slot": s, "value": slot_value(s)} for s in part.short],
                            "all": [{"slot": s, "value": slot_value(s)} for s in part.starts] if part.has_more else [],
                        }
                        for part in office_day.parts
                    ],
                }
            )

    # At the same earliest time, the citizen's home office first.
    earliest = min(slots, key=lambda s: (s.start, s.office.administration_id != home_administration_id), default=None)
    return {
        "earliest": earliest,
        "has_free_days": bool(counts),
        "days": week,
        "week_first": week[0]["date"] if week else None,
        "week_last": picker.week_of(chosen)[-1] if chosen else None,
        "previous_week_url": day_url(previous_week) + "#days" if previous_week else "",
        "next_week_url": day_url(next_week) + "#days" if next_week else "",
        "picker_fmt": fmt,
        "chosen_day": chosen,
        "chosen_day_count": counts.get(chosen, 0) if chosen else 0,
        "day_groups": groups,
        "office_filters": [
            {
                "label": _("All offices"),
                "url": query_url(link_name, link_items, **link_kwargs),
                "current": office is None,
            },
            *(
                {
                    # The town: short enough for a phone, under the heading "Office".
                    "label": o.city,
                    "url": query_url(link_name, [*link_items, ("office", o.slug)], **link_kwargs),
                    "current": office is not None and o.id == office.id,
                }
                for o in offices.values()
            ),
        ],
        "filter_office": office,
    }


def page_slots(search: SlotRequest, free, *, office, day, now, drop=None) -> list:
    """The start times a calendar page shows: those of the chosen day and of the earliest day with a
    free time (for "next free time"), not of the whole horizon: the day strip comes from `free`
    (availability.day_overview). `drop`: a start the page must not offer (the booking's own time)."""
    counts = picker.day_counts(f for f in free if office is None or f.office.id == office.id)

    def of_day(d: dt.date) -> list:
        found = find_slots(request=replace(search, date_from=d, date_to=d), now=now)
        return [s for s in found if (office is None or s.office.id == office.id) and not (drop and drop(s))]

    slots: list = []
    fetched: set[dt.date] = set()
    for d in counts:
        fetched.add(d)
        slots = of_day(d)
        if slots:
            break
    chosen = day if day is not None else next(iter(counts), None)
    if chosen is not None and chosen not in fetched:
        slots += of_day(chosen)
    return slots


def with_slot_values(context: dict) -> dict:
    """Attach the value each time button sends (templates cannot call functions)."""
    if context.get("earliest"):
        context["earliest_value"] = slot_value(context["earliest"])
    context["alternatives"] = [{"slot": s, "value": slot_value(s)} for s in context.get("alternatives", [])]
    return context


def render_booking_calendar(
    request,
    *,
    services,
    vehicles,
    municipality,
    office=None,
    day=None,
    now,
    message: str = "",
    alternatives=(),
    status: int = 200,
):
    first, last = horizon(now)
    search = SlotRequest(
        services=tuple(services), vehicles=vehicles, municipality=municipality, date_from=first, date_to=last
    )
    free = day_overview(request=search, now=now)
    items = request_items(services, vehicles, municipality)
    context = calendar_context(
        slots=page_slots(search, free, office=office, day=day, now=now),
        free=free,
        link_items=items,
        link_name="appointments:calendar",
        office=office,
        day=day,
        home_administration_id=municipality.administration_id,
    )
    context.update(
        # After a POST (hold) the language switch must lead back to a page that can be fetched.
        language_next=query_url("appointments:calendar", items + ([("date", day.isoformat())] if day else [])),
        mode="book",
        action=reverse("appointments:hold"),
        # The office filter travels with the chosen time, so that "just taken" keeps it.
        hidden=items + ([(FILTER, office.slug)] if office else []),
        services=services,
        vehicles=vehicles,
        municipality=municipality,
        minutes=duration_minutes(services, vehicles),
        documents=documents_of(services),
        message=message,
        alternatives=list(alternatives),
        change_url=query_url("appointments:search", [*items, (CHANGE, "1")]),
        captcha={"challenge_url": reverse("appointments:captcha_challenge")} if captcha.enabled() else None,
    )
    return page(request, "appointments/calendar.html", with_slot_values(context), status)


# --- the journey ------------------------------------------------------------------------------


@require_GET
def start(request):
    offices = Office.objects.filter(is_active=True).select_related("administration")
    return page(request, "appointments/start.html", {"offices": offices, "services": online_services()})


# --- information pages (the footer links to them; text only, in the templates) -----------------


@require_GET
def privacy(request):
    return page(
        request,
        "appointments/privacy.html",
        {
            "administrations": Administration.objects.all(),
            "retention_days": settings.RETENTION_DAYS,
            "unconfirmed_minutes": settings.UNCONFIRMED_MINUTES,
        },
    )


@require_GET
def accessibility(request):
    """Erklärung zur Barrierefreiheit (BITV 2.0, Landesinklusionsgesetz Rheinland-Pfalz)."""
    return page(request, "appointments/accessibility.html", {"captcha_wait_seconds": captcha.wait_seconds()})


@require_GET
def easy_read(request):
    """The booking in Leichte Sprache (German) and in plain language (English)."""
    return page(
        request,
        "appointments/easy_read.html",
        {"hold_minutes": settings.HOLD_MINUTES, "unconfirmed_minutes": settings.UNCONFIRMED_MINUTES},
    )


@require_GET
def imprint(request):
    return page(request, "appointments/imprint.html")


@require_GET
def locations(request):
    """Both offices with their hours, closures, contact and how to get there: from the
    configuration in memory (no input, one query to check its version)."""
    now = clock.now()
    offices = config.current(now=now).active_offices
    infos = office_info.offices_info(offices=offices, now=now)
    return page(request, "appointments/locations.html", {"cards": [infos[o.id] for o in offices if o.id in infos]})


@require_GET
def search(request):
    """The request form. A postcode pre-fills the municipality: with the "find" button (or Enter in
    the postcode field) it narrows the select to its municipalities; outside both areas the citizen
    gets the explanation of who is responsible instead, and nothing more."""
    if not any(key in request.GET for key in ("service", "vehicles", "postcode", "municipality")):
        return page(request, "appointments/search.html", {"form": SearchForm(initial={"vehicles": 1})})

    form = SearchForm(request.GET)
    form.is_valid()
    if CHANGE in request.GET:
        # "Change your request" (calendar) and "wrong postcode?": the form as it was filled in, to
        # edit; nothing is checked before the citizen sends it again.
        for field in list(form.errors):
            del form.errors[field]
        return page(request, "appointments/search.html", {"form": form})
    postcode, chosen = form.cleaned_data.get("postcode"), form.cleaned_data.get("municipality")
    municipality = chosen
    if postcode:
        matches = list(Municipality.objects.filter(postcode=postcode).select_related("administration"))
        if not matches:
            # Back to the form with the concerns and vehicles kept, the postcode to type again.
            kept = [(key, value) for key in ("service", "vehicles") for value in request.GET.getlist(key)]
            retry_url = query_url("appointments:search", [*kept, (CHANGE, "1")])
            return page(request, "appointments/outside_area.html", {"postcode": postcode, "retry_url": retry_url})
        form.narrowed = matches
        if chosen not in matches:
            municipality = matches[0] if chosen is None and len(matches) == 1 else None
            form.preselect = matches[0].slug if len(matches) == 1 else ""

    if "lookup" in request.GET:
        # Only the postcode step: no complaints about the fields the citizen has not reached yet.
        for field in [f for f in form.errors if f != "postcode"]:
            del form.errors[field]
        return page(request, "appointments/search.html", {"form": form})

    if municipality is None and not form.has_error("municipality"):
        if chosen is not None:
            message = _("The municipality you chose does not have the postcode %(postcode)s. Please check both.")
        elif postcode:
            message = _("Several municipalities have the postcode %(postcode)s. Please choose yours.")
        else:
            message = _("Please enter your postcode or choose your municipality.")
        form.add_error("municipality", message % {"postcode": postcode})
    if form.errors:
        return page(request, "appointments/search.html", {"form": form}, 400)
    items = request_items(form.cleaned_data["service"], form.cleaned_data["vehicles"], municipality)
    return redirect(reverse("appointments:calendar") + "?" + urlencode(items))


@require_GET
@config.one_reading()  # the configuration and the occupancy numbers read once, for the tag and the page
def calendar(request):
    try:
        check_search_rate(request)  # a calendar searches the whole horizon: the most expensive page
    except RateLimited as error:
        return rate_limited_page(request, error)
    now = clock.now()
    first, last = horizon(now)
    form = CalendarForm(request.GET, first_day=first, last_day=last)
    if not form.is_valid():
        return page(request, "appointments/search.html", {"form": form}, 400)
    data = form.cleaned_data
    # ETag and 304 as for the API's search: the page shows the search of the whole horizon, and
    # depends besides on the language, the query, the captcha and the CSRF secret of its forms.
    search_tag = occupancy.search_tag(
        request=SlotRequest(
            services=tuple(data["service"]),
            vehicles=data["vehicles"],
            municipality=data["municipality"],
            date_from=first,
            date_to=last,
        ),
        now=now,
        kind="calendar",
    )
    unchanged = conditional.not_modified(request, conditional.page_search_tag(request, search_tag))
    if unchanged is not None:
        return unchanged
    response = render_booking_calendar(
        request,
        services=list(data["service"]),
        vehicles=data["vehicles"],
        municipality=data["municipality"],
        office=data.get("office"),
        day=data.get("date"),
        now=now,
        message=form.date_notice,
    )
    # After rendering: a first visit's page made the CSRF cookie that its next request sends.
    return conditional.mark(response, conditional.page_search_tag(request, search_tag))


@never_cache
@require_GET
def captcha_challenge(request):
    """A fresh proof-of-work challenge for the widget of the calendar's slot forms."""
    return JsonResponse(captcha.new_challenge())


def captcha_refusal(request, data: dict, now: dt.datetime) -> HttpResponse | None:
    """None when the request passes the captcha; else the page to answer with.

    With JavaScript, the widget sends the solved challenge as `altcha`. Without it, the slot form
    sends the flag of its <noscript> block, and the citizen is asked a small question about the
    chosen time first; the answer comes back here with the same fields. A missing or wrong
    solution re-renders the calendar with a message (400) and is counted as a refused attempt.
    An answer sent before the question's wait is over gets the same question back with what was
    typed and the seconds left; it is not checked, so sending early teaches a program nothing."""
    post = request.POST
    services = list(data["service"])
    if post.get("captcha_question") and not post.get("altcha"):
        question = captcha.read_question(post["captcha_question"])
        answer = post.get("captcha_answer", "")
        if question is not None and (remaining := captcha.seconds_to_wait(question)):
            return captcha_question_page(
                request,
                data,
                question=question,
                answer=answer,
                status=400,
                error=ngettext(
                    "Please wait %(seconds)s more second, then send your answer again. Your answer has been kept.",
                    "Please wait %(seconds)s more seconds, then send your answer again. Your answer has been kept.",
                    remaining,
                )
                % {"seconds": remaining},
            )
        if question is not None:
            # Answers without JavaScript have a budget of their own, lower than the holds': waiting
            # costs a program nothing per se when it waits for many questions at once.
            try:
                check_rate("nojs", client_address(request), settings.RATE_LIMIT_NOJS)
            except RateLimited as error:
                return rate_limited_page(request, error)
        try:
            guards.check_captcha_answer(post["captcha_question"], answer)
        except PortalError:
            return captcha_question_page(
                request, data, error=_("That was not the right answer. Please answer this new question."), status=400
            )
        return None
    if post.get("captcha_nojs") and not post.get("altcha"):
        return captcha_question_page(request, data)
    try:
        guards.check_captcha(post.get("altcha"))
    except PortalError:
        return render_booking_calendar(
            request,
            services=services,
            vehicles=data["vehicles"],
            municipality=data["municipality"],
            office=office_filter(request),
            day=local_date(data["start"]) if within_horizon(data["start"], now) else None,
            now=now,
            message=_(
                "The automatic check that protects the appointments from programs did not succeed. "
                "Please choose your time again; your browser then repeats the check."
            ),
            status=400,
        )
    return None


def office_filter(request) -> Office | None:
    """The office filter that the calendar's time forms send along (FILTER), when it names an office."""
    slug = request.POST.get(FILTER, "")[:50].replace("\x00", "")
    return Office.objects.filter(is_active=True, slug=slug).first() if slug else None


def captcha_question_page(
    request, data: dict, *, question: dict | None = None, answer: str = "", error: str = "", status: int = 200
):
    """The question for a browser without JavaScript. Its form sends the request, the office filter
    and the chosen time again; "choose another time" leads to the calendar of that request, filter
    and day."""
    services = list(data["service"])
    items = request_items(services, data["vehicles"], data["municipality"])
    filtered = office_filter(request)
    filter_items = [("office", filtered.slug)] if filtered else []
    calendar_url = query_url(
        "appointments:calendar", items + filter_items + [("date", local_date(data["start"]).isoformat())]
    )
    question = question or captcha.new_question()
    form = CaptchaQuestionForm(
        {"captcha_answer": answer[:3]} if error else None,
        question=question,
        wait_seconds=captcha.wait_seconds(),
        error=error,
    )
    return page(
        request,
        "appointments/captcha_question.html",
        {
            "form": form,
            "question": question,
            "hidden": items + ([(FILTER, filtered.slug)] if filtered else []),
            "office": data["office"],
            "services": services,
            "start": data["start"],
            "start_value": data["start"].astimezone(BERLIN).isoformat(),
            "back_url": calendar_url,
            "language_next": calendar_url,
        },
        status,
    )


@require_http_methods(["GET", "POST"])
def hold(request):
    """Hold the chosen time for a few minutes; only this browser session knows the hold's secret.
    A GET (a reloaded or bookmarked result of the POST) leads to the calendar of the request."""
    if request.method == "GET":
        items = [(key, value) for key in ("service", "vehicles", "municipality") for value in request.GET.getlist(key)]
        if not items:
            return redirect("appointments:search")
        return redirect(query_url("appointments:calendar", items))
    now = clock.now()
    form = HoldForm(request.POST)
    if not form.is_valid():
        return page(request, "appointments/search.html", {"form": form}, 400)
    data = form.cleaned_data
    services = list(data["service"])
    if captcha.enabled():
        refusal = captcha_refusal(request, data, now)
        if refusal is not None:
            return refusal
    try:
        check_rate("hold", client_address(request), settings.RATE_LIMIT_HOLD)
        # The submit limit too, before the citizen types their details for a time held in vain.
        check_rate("submit", client_address(request), settings.RATE_LIMIT_SUBMIT, count=False)
    except RateLimited as error:
        return rate_limited_page(request, error)
    try:
        appointment, token = booking.place_hold(
            office=data["office"],
            start=data["start"],
            services=services,
            vehicles=data["vehicles"],
            municipality=data["municipality"],
            now=now,
            language=translation.get_language() or "de",
            client=Client.of(request),
        )
    except PortalError as error:
        # "Just taken" (with the nearest alternatives), a time that is not bookable (any more), or
        # too many times held unconfirmed from this connection (the hoarding budget: 429).
        response = render_booking_calendar(
            request,
            services=services,
            vehicles=data["vehicles"],
            municipality=data["municipality"],
            office=office_filter(request),
            day=local_date(data["start"]) if within_horizon(data["start"], now) else None,
            now=now,
            message=str(error.message),
            alternatives=error.extra.get("alternatives", ()),
            status=409 if error.code == ErrorCode.SLOT_TAKEN else 429 if isinstance(error, RateLimited) else 400,
        )
        if isinstance(error, RateLimited):
            response["Retry-After"] = str(error.retry_after)
        return response
    holds = request.session.get("holds", {})
    # One time per person: an earlier hold of this session that was never submitted goes back.
    booking.release_holds(holds)
    holds[appointment.reference] = token
    request.session["holds"] = dict(list(holds.items())[-SESSION_HOLDS:])
    return redirect("appointments:details", appointment.reference)


def within_horizon(moment: dt.datetime, now: dt.datetime) -> bool:
    first, last = horizon(now)
    return first <= local_date(moment) <= last


def held(request, reference: str) -> tuple[Appointment | None, str, HttpResponse | None]:
    """The hold behind a reference, when this browser session made it. Another session's hold and
    an unknown reference answer alike: the page must not tell which references exist."""
    found = guards.session_hold(request, reference)
    if found is None:
        return (
            None,
            "",
            error_page(
                request,
                404,
                _("Reservation not found"),
                _(
                    "This browser holds no reservation with this reference: it was made in another browser, or "
                    "your session has ended. Please choose a time again."
                ),
                link=(reverse("appointments:search"), _("Find an appointment")),
            ),
        )
    appointment, token = found
    return appointment, token, None


def appointment_context(appointment: Appointment) -> dict:
    items = list(appointment.items.select_related("service"))
    return {
        "appointment": appointment,
        "office": appointment.office,
        "services": [item.service for item in items],
        "documents": documents_for(appointment),
    }


def restart_url(appointment: Appointment, context: dict) -> str:
    """The calendar for the same request, to choose a time again."""
    return (
        reverse("appointments:calendar")
        + "?"
        + urlencode(request_items(context["services"], appointment.vehicles, appointment.municipality))
    )


def expired_page(request, appointment: Appointment, context: dict, *, typed: dict | None = None):
    """The hold ran out. What the citizen typed is kept for their next hold (in the session), and
    the same time is offered again when it is still free."""
    if typed:
        request.session[CONTACT_DRAFT] = {key: str(typed.get(key) or "")[:300] for key in ("name", "email", "phone")}
    extra = {"restart_url": restart_url(appointment, context), "kept": bool(typed)}
    try:
        booking.check_hold_again(appointment=appointment, now=clock.now())
    except PortalError:
        pass
    else:
        extra.update(
            same_time_action=reverse("appointments:hold"),
            hidden=request_items(context["services"], appointment.vehicles, appointment.municipality),
            start_value=appointment.start.astimezone(BERLIN).isoformat(),
            captcha={"challenge_url": reverse("appointments:captcha_challenge")} if captcha.enabled() else None,
        )
    return page(request, "appointments/expired.html", {**context, **extra})


@never_cache
@require_http_methods(["GET", "POST"])
def details(request, reference: str):
    """Contact data for a held time; submitting sends the double-opt-in e-mail."""
    appointment, token, refusal = held(request, reference)
    if refusal:
        return refusal
    now = clock.now()
    context = appointment_context(appointment)
    context["back_url"] = restart_url(appointment, context)
    if appointment.status not in (Status.HELD, Status.EXPIRED):
        # Submitted already (for instance in another tab): nothing more to enter.
        return redirect("appointments:submitted", appointment.reference)
    if appointment.is_expired(now):
        return expired_page(request, appointment, context, typed=request.POST if request.method == "POST" else None)

    if request.method == "POST":
        form = ContactForm(request.POST)
    else:
        # What was typed for a hold that ran out, for this one.
        form = ContactForm(initial=request.session.pop(CONTACT_DRAFT, None) or {})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data.get("website"):
            # The honeypot: a field people never see, which form-filling bots fill in.
            record_blocked("honeypot")
            form.add_error(None, _("Your request could not be processed. Please try again."))
            return page(request, "appointments/details.html", {**context, "form": form}, 400)
        try:
            # Input errors first: a form sent back for a typo does not count against the limit.
            booking.clean_contact(
                name=data["name"], email=data["email"], phone=data["phone"], privacy_consent=data["privacy_consent"]
            )
        except PortalError as error:
            add_contact_errors(form, error)
            return page(request, "appointments/details.html", {**context, "form": form}, 400)
        try:
            check_rate("submit", client_address(request), settings.RATE_LIMIT_SUBMIT)
            guards.check_email_rate(data["email"])
        except RateLimited as error:
            return rate_limited_page(request, error)
        try:
            booking.submit_booking(
                appointment=appointment,
                hold_token=token,
                name=data["name"],
                email=data["email"],
                phone=data["phone"],
                privacy_consent=data["privacy_consent"],
                now=now,
            )
        except PortalError as error:
            if error.code == ErrorCode.ALREADY_SUBMITTED:
                return redirect("appointments:submitted", appointment.reference)
            if error.code == ErrorCode.EXPIRED:
                return expired_page(request, appointment, context, typed=request.POST)
            if error.code != ErrorCode.INVALID:
                return booking_error_page(request, error)
            add_contact_errors(form, error)
            return page(request, "appointments/details.html", {**context, "form": form}, 400)
        return redirect("appointments:submitted", appointment.reference)
    return page(request, "appointments/details.html", {**context, "form": form})


def add_contact_errors(form: ContactForm, error: PortalError) -> None:
    for field, field_errors in error.extra.get("errors", {}).items():
        for message in field_errors:
            form.add_error(field if field in form.fields else None, str(message))


@never_cache
@require_GET
def submitted(request, reference: str):
    appointment, _token, refusal = held(request, reference)
    if refusal:
        return refusal
    if appointment.status == Status.HELD:
        return redirect("appointments:details", appointment.reference)
    context = appointment_context(appointment)
    context["office_info"] = office_info.info_for(appointment.office, now=clock.now())
    return page(request, "appointments/submitted.html", {**context, "confirm_minutes": settings.UNCONFIRMED_MINUTES})


def token_of(request) -> str:
    return (request.POST.get("token") if request.method == "POST" else request.GET.get("token")) or ""


def booking_from_link(request, reference: str) -> tuple[Appointment | None, str, HttpResponse | None]:
    token = token_of(request)
    try:
        appointment = guards.find_booking(request, reference=reference, token=token)
    except RateLimited as error:
        return None, token, rate_limited_page(request, error)
    except PortalError as error:
        return None, token, booking_error_page(request, error)
    return appointment, token, None


def manage_links(appointment: Appointment, token: str, now: dt.datetime) -> dict:
    return {
        "token": token,
        "changeable": appointment.is_changeable(now),
        "manage_url": with_token("appointments:manage", appointment, token),
        "ics_url": with_token("appointments:ics", appointment, token),
        "cancel_url": with_token("appointments:cancel", appointment, token),
        "reschedule_url": with_token("appointments:reschedule", appointment, token),
        "confirm_url": reverse("appointments:confirm", args=[appointment.reference]),
    }


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request, reference: str):
    """The link of the double-opt-in e-mail. GET only shows the booking and a button: mail scanners
    that open links must not confirm anything. The POST confirms."""
    appointment, token, refusal = booking_from_link(request, reference)
    if refusal:
        return refusal
    now = clock.now()
    if request.method == "POST":
        try:
            guards.check_confirm_rate(request)
        except RateLimited as error:
            return rate_limited_page(request, error)
        try:
            booking.confirm_booking(appointment=appointment, token=token, now=now)
        except PortalError as error:
            if error.code == ErrorCode.BAD_TOKEN:
                return booking_error_page(request, error)
            appointment.refresh_from_db()
            context = {**appointment_context(appointment), **manage_links(appointment, token, now)}
            context["language_next"] = with_token("appointments:confirm", appointment, token)
            return page(request, "appointments/confirm.html", {**context, "problem": str(error.message)}, 409)
        messages.success(request, _("Thank you: your appointment is confirmed."))
        return HttpResponseRedirect(with_token("appointments:confirm", appointment, token))
    context = {**appointment_context(appointment), **manage_links(appointment, token, now)}
    context["expired"] = appointment.is_expired(now)
    context["restart_url"] = restart_url(appointment, context)
    context["office_info"] = office_info.info_for(appointment.office, now=now)
    return page(request, "appointments/confirm.html", context)


@never_cache
@require_GET
def manage(request, reference: str):
    appointment, token, refusal = booking_from_link(request, reference)
    if refusal:
        return refusal
    now = clock.now()
    context = {**appointment_context(appointment), **manage_links(appointment, token, now)}
    context["restart_url"] = restart_url(appointment, context)
    # A counter was blocked and the citizen was e-mailed other times: until they choose one, the
    # booking is not what it says ("confirmed" alone would be wrong).
    context["relocation_pending"] = bool(appointment.relocation_offered_at) and context["changeable"]
    context["office_info"] = office_info.info_for(appointment.office, now=now)
    return page(request, "appointments/manage.html", context)


@never_cache
@require_GET
def ics(request, reference: str):
    appointment, _token, refusal = booking_from_link(request, reference)
    if refusal:
        return refusal
    response = HttpResponse(
        appointment_ics(appointment, cancel=appointment.status == Status.CANCELLED),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="termin-{appointment.reference}.ics"'
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def cancel(request, reference: str):
    """GET asks "really cancel?"; the POST cancels."""
    appointment, token, refusal = booking_from_link(request, reference)
    if refusal:
        return refusal
    now = clock.now()
    if request.method == "POST":
        try:
            booking.cancel_booking(appointment=appointment, token=token, now=now)
        except PortalError as error:
            if error.code == ErrorCode.BAD_TOKEN:
                return booking_error_page(request, error)
            messages.error(request, str(error.message))
        else:
            messages.success(request, _("Your appointment has been cancelled. Thank you for letting us know."))
        return HttpResponseRedirect(with_token("appointments:manage", appointment, token))
    context = {**appointment_context(appointment), **manage_links(appointment, token, now)}
    if not context["changeable"]:
        return HttpResponseRedirect(context["manage_url"])
    return page(request, "appointments/cancel.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def reschedule(request, reference: str):
    """A calendar for the same concerns; choosing a time moves the booking, or keeps the old time."""
    appointment, token, refusal = booking_from_link(request, reference)
    if refusal:
        return refusal
    now = clock.now()
    base = {**appointment_context(appointment), **manage_links(appointment, token, now)}
    if not base["changeable"]:
        messages.error(request, _("This appointment can no longer be moved online."))
        return HttpResponseRedirect(base["manage_url"])

    message, alternatives, status, office, day = "", (), 200, None, None
    # A time chosen in the calendar (POST) or offered in an e-mail (GET with `start`) first gets
    # the question "move from … to …?"; only the POST of that page (`confirmed`) moves the booking.
    chosen = request.POST if request.method == "POST" else request.GET if "start" in request.GET else None
    if chosen is not None:
        form = SlotForm(chosen)
        if form.is_valid():
            try:
                if request.method == "POST" and chosen.get("confirmed"):
                    booking.reschedule_booking(
                        appointment=appointment,
                        token=token,
                        office=form.cleaned_data["office"],
                        start=form.cleaned_data["start"],
                        now=now,
                    )
                else:
                    booking.check_move(
                        appointment=appointment,
                        office=form.cleaned_data["office"],
                        start=form.cleaned_data["start"],
                        now=now,
                    )
                    return move_question(request, appointment, base, form.cleaned_data)
            except PortalError as error:
                if error.code == ErrorCode.BAD_TOKEN:
                    return booking_error_page(request, error)
                message = _("%(problem)s Your appointment stays as it was.") % {"problem": error.message}
                alternatives = error.extra.get("alternatives", ())
                status = 409 if error.code == ErrorCode.SLOT_TAKEN else 400
                if within_horizon(form.cleaned_data["start"], now):
                    day = local_date(form.cleaned_data["start"])
            else:
                messages.success(request, _("Your appointment has been moved."))
                return HttpResponseRedirect(base["manage_url"])
        else:
            message = " ".join(entry["message"] for entry in form.summary())
            status = 400
    else:
        first, last = horizon(now)
        form = CalendarForm(
            {"date": request.GET.get("date", ""), "office": request.GET.get("office", "")},
            first_day=first,
            last_day=last,
        )
        # Only the filter fields matter here: the request itself is the booking's.
        form.is_valid()
        if form.has_error("date") or form.has_error("office"):
            message = " ".join(str(e) for f in ("office", "date") for e in form.errors.get(f, []))
            status = 400
        else:
            office, day = form.cleaned_data.get("office"), form.cleaned_data.get("date")
            message = form.date_notice

    services = base["services"]
    first, last = horizon(now)
    search = SlotRequest(
        services=tuple(services),
        vehicles=appointment.vehicles,
        municipality=appointment.municipality,
        date_from=first,
        date_to=last,
    )
    free = day_overview(request=search, now=now)
    context = calendar_context(
        # The booking's own time may be free at another counter: it is no time to move to.
        slots=page_slots(
            search,
            free,
            office=office,
            day=day,
            now=now,
            drop=lambda s: s.office.pk == appointment.office_id and s.start == appointment.start,
        ),
        free=free,
        link_items=[("token", token)],
        link_name="appointments:reschedule",
        link_kwargs={"reference": appointment.reference},
        office=office,
        day=day,
        home_administration_id=appointment.municipality.administration_id,
    )
    context.update(
        base,
        mode="reschedule",
        language_next=base["reschedule_url"],
        action=reverse("appointments:reschedule", args=[appointment.reference]),
        hidden=[("token", token)],
        vehicles=appointment.vehicles,
        municipality=appointment.municipality,
        minutes=appointment.duration_minutes,
        message=message,
        alternatives=list(alternatives),
        change_url=base["manage_url"],
    )
    return page(request, "appointments/calendar.html", with_slot_values(context), status)


def move_question(request, appointment: Appointment, base: dict, chosen: dict):
    """ "Move your appointment from … to …?": the move happens only with the POST of this page."""
    office, start = chosen["office"], chosen["start"]
    start_value = start.astimezone(BERLIN).isoformat()
    question_url = query_url(
        "appointments:reschedule",
        [("token", base["token"]), ("office", office.slug), ("start", start_value)],
        reference=appointment.reference,
    )
    return page(
        request,
        "appointments/move_confirm.html",
        {
            **base,
            "new_office": office,
            "new_start": start,
            "new_start_value": start_value,
            # The language switch after the calendar's POST: this question again, by GET.
            "language_next": question_url,
            "calendar_url": query_url(
                "appointments:reschedule",
                [("token", base["token"]), ("office", office.slug), ("date", local_date(start).isoformat())],
                reference=appointment.reference,
            ),
        },
    )
