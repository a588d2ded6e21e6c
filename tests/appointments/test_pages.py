"""The citizen's pages, driven through HTTP like a browser without JavaScript: start → request →
calendar → hold → details → e-mail → confirm → manage → .ics → cancel, and moving a booking.

The clock (the `clock` fixture) stands at Tuesday, 1 December 2026, 07:00 in Berlin. With the demo's
lead time of two hours the earliest bookable start is 09:00, at both offices; the Frankenthal
office sorts first by name, so it holds the earliest slot.
"""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from appointments.domain import booking
from appointments.models import Appointment, Notification, Status
from appointments.outbox import notifications
from tests.conftest import berlin

NOW = berlin(2026, 12, 1, 7, 0)


# --- a tiny browser ---------------------------------------------------------------------------


class Page(HTMLParser):
    """What a test needs from a page: its forms (with hidden fields and submit buttons), links,
    labels, inputs, headings and the lang attribute."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.links: list[str] = []
        self.labels: set[str] = set()
        self.inputs: list[dict] = []
        self.h1: list[str] = []
        self.lang = None
        self.resources: list[str] = []
        self.landmarks: set[str] = set()
        self._in_h1 = False
        self._button = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        elif tag in ("main", "header", "footer", "nav"):
            self.landmarks.add(tag)
        elif tag == "form":
            self.forms.append(
                {"action": a.get("action", ""), "method": a.get("method", "get").lower(), "hidden": [], "buttons": []}
            )
        elif tag == "input":
            if a.get("type") == "hidden" and self.forms:
                self.forms[-1]["hidden"].append((a["name"], a.get("value", "")))
            elif a.get("type") != "hidden":
                self.inputs.append(a)
        elif tag == "select":
            self.inputs.append(a)
        elif tag == "button":
            self._button = {"name": a.get("name"), "value": a.get("value"), "text": ""}
            if self.forms:
                self.forms[-1]["buttons"].append(self._button)
        elif tag == "label" and a.get("for"):
            self.labels.add(a["for"])
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "h1":
            self._in_h1 = True
            self.h1.append("")
        if tag in ("script", "img", "iframe") and a.get("src"):
            self.resources.append(a["src"])
        if tag == "link" and a.get("href"):
            self.resources.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "h1":
            self._in_h1 = False
        elif tag == "button":
            self._button = None

    def handle_data(self, data):
        if self._in_h1:
            self.h1[-1] += data
        if self._button is not None:
            self._button["text"] += data

    def form_with_button(self, name: str) -> tuple[dict, dict]:
        for form in self.forms:
            for button in form["buttons"]:
                if button["name"] == name:
                    return form, button
        raise AssertionError(f"no form with a {name!r} button")

    def slot_buttons(self) -> list[tuple[dict, dict]]:
        return [(f, b) for f in self.forms for b in f["buttons"] if b["name"] == "start"]


def page_of(response) -> Page:
    return Page(response.content.decode())


def text(response) -> str:
    """The visible text, with whitespace collapsed."""
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def assert_accessible_basics(response):
    """What every page must have: a language, one h1, landmarks, a skip link, a label for each
    input, and nothing loaded from another host."""
    page = page_of(response)
    assert page.lang in ("de", "en")
    assert len(page.h1) == 1, page.h1
    assert {"main", "header", "footer"} <= page.landmarks
    assert "#main" in page.links
    for field in page.inputs:
        assert field.get("id") in page.labels, f"input without label: {field}"
    for resource in page.resources:
        assert resource.startswith("/static/"), resource
    return page


def submit(client, form: dict, button: dict | None = None, extra: dict | None = None, **headers):
    data: dict[str, list[str]] = {}
    for name, value in form["hidden"]:
        data.setdefault(name, []).append(value)
    if button and button["name"]:
        data[button["name"]] = [button["value"]]
    for name, value in (extra or {}).items():
        data[name] = [value]
    if form["method"] == "post":
        return client.post(form["action"], data, **headers)
    return client.get(form["action"], data, **headers)


def token_from(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


# --- fixtures ---------------------------------------------------------------------------------


def calendar_url(**params) -> str:
    query = {"service": "umschreibung", "vehicles": "1", "municipality": "frankenthal-pfalz", **params}
    return (
        reverse("appointments:calendar")
        + "?"
        + "&".join(
            f"{k}={v}" for k, values in query.items() for v in (values if isinstance(values, list) else [values])
        )
    )


def hold_earliest(client, **headers):
    """From the calendar, reserve the earliest time; returns the details page response."""
    calendar = client.get(calendar_url(), **headers)
    assert calendar.status_code == 200
    form, button = page_of(calendar).form_with_button("start")  # the first one is the earliest slot
    response = submit(client, form, button, **headers)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def fill_details(client, details_url: str, **headers):
    return client.post(
        details_url,
        {"name": "Erika Mustermann", "email": "erika@example.org", "phone": "06233 12345", "privacy_consent": "on"},
        **headers,
    )


def opt_in_link(appointment: Appointment) -> str:
    """The confirm link of the double-opt-in e-mail."""
    notifications.send_due(now=NOW)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [appointment.email]
    match = re.search(r"https?://\S+/bestaetigen/\?token=[\w-]+", message.body)
    assert match, message.body
    return match.group(0)


def confirmed_booking(client, **headers) -> tuple[Appointment, str]:
    """A booking made and confirmed through the pages; returns it and its manage token."""
    details = hold_earliest(client, **headers)
    submitted = fill_details(client, details["Location"], **headers)
    assert submitted.status_code == 302
    appointment = Appointment.objects.get()
    token = token_from(opt_in_link(appointment))
    client.post(reverse("appointments:confirm", args=[appointment.reference]), {"token": token}, **headers)
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED
    return appointment, token


def occupy_all_counters(office, start, services, municipality):
    """Other citizens take every counter of `office` at `start`."""
    for _ in range(office.counters.count()):
        booking.place_hold(
            office=office, start=start, services=services, vehicles=1, municipality=municipality, now=NOW
        )


# --- start and request ------------------------------------------------------------------------


def test_start_page_says_what_for_whom_and_what_to_bring(citizen):
    response = citizen.get(reverse("appointments:start"))
    assert response.status_code == 200
    page = assert_accessible_basics(response)
    assert page.lang == "de"
    content = text(response)
    assert "Bahnhofstraße 37" in content and "Hammstraße 20" in content
    assert "i-Kfz" in content
    assert reverse("appointments:search") in page.links
    assert reverse("appointments:privacy") in page.links


def test_start_page_in_english_with_the_accept_language_header(citizen):
    response = citizen.get(reverse("appointments:start"), HTTP_ACCEPT_LANGUAGE="en")
    page = assert_accessible_basics(response)
    assert page.lang == "en"
    assert "Book an appointment for your vehicle registration" in page.h1[0]
    assert "Residents of the Rhein-Pfalz-Kreis and of the town of Frankenthal (Pfalz)" in text(response)


def test_language_switch_is_a_post_form_to_set_language_and_sticks(citizen):
    start = citizen.get(reverse("appointments:start"))
    form, button = page_of(start).form_with_button("language")
    assert form["action"] == "/i18n/setlang/" and form["method"] == "post"
    assert button["value"] == "en"
    switched = submit(citizen, form, button)
    assert switched.status_code == 302 and switched["Location"] == "/"
    assert page_of(citizen.get("/")).lang == "en"


def test_search_form_has_labels_groups_and_all_municipalities_grouped(citizen):
    response = citizen.get(reverse("appointments:search"))
    assert response.status_code == 200
    assert_accessible_basics(response)
    html = response.content.decode()
    assert html.count("<fieldset") == 2 and html.count("<legend") == 2
    assert 'optgroup label="Kreisverwaltung Rhein-Pfalz-Kreis"' in html
    assert 'optgroup label="Stadtverwaltung Frankenthal (Pfalz)"' in html
    assert 'value="lambsheim"' in html and 'value="frankenthal-pfalz"' in html
    assert 'name="service" value="umschreibung"' in html


def test_a_postcode_of_one_municipality_leads_straight_to_the_calendar(citizen):
    response = citizen.get(
        reverse("appointments:search"), {"service": "umschreibung", "vehicles": "1", "postcode": "67227"}
    )
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query == {"service": ["umschreibung"], "vehicles": ["1"], "municipality": ["frankenthal-pfalz"]}


def test_a_postcode_alone_narrows_the_municipalities_without_complaints(citizen):
    response = citizen.get(reverse("appointments:search"), {"postcode": "67259", "lookup": "1", "vehicles": "1"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "error-summary" not in html
    options = re.findall(r'<option value="([a-z-]+)"', html)
    assert sorted(options) == ["beindersheim", "grossniedesheim", "heuchelheim-bei-frankenthal", "kleinniedesheim"]


def test_a_shared_postcode_asks_which_municipality(citizen):
    response = citizen.get(
        reverse("appointments:search"), {"service": "umschreibung", "vehicles": "1", "postcode": "67259"}
    )
    assert response.status_code == 400
    page = assert_accessible_basics(response)
    assert "#id_municipality" in page.links  # the error summary links to the select
    chosen = citizen.get(
        reverse("appointments:search"),
        {"service": "umschreibung", "vehicles": "1", "postcode": "67259", "municipality": "beindersheim"},
    )
    assert chosen.status_code == 302 and "municipality=beindersheim" in chosen["Location"]


@pytest.mark.parametrize("postcode", ["67229", "67059", "67346", "67454"])
def test_a_postcode_outside_both_areas_gets_a_kind_explanation_and_nothing_more(citizen, postcode):
    response = citizen.get(
        reverse("appointments:search"),
        {"service": "umschreibung", "vehicles": "1", "postcode": postcode},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    page = assert_accessible_basics(response)
    content = text(response)
    assert postcode in content
    assert "registration authority of your main residence is responsible" in content
    assert "i-Kfz" in content
    assert not page.slot_buttons()
    assert 'name="service"' not in response.content.decode()
    assert not any("kalender" in link for link in page.links)


def test_search_errors_are_summarised_and_linked_to_their_fields(citizen):
    response = citizen.get(
        reverse("appointments:search"), {"vehicles": "1", "postcode": "6722"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    page = assert_accessible_basics(response)
    assert "#id_service_0" in page.links and "#id_postcode" in page.links
    html = response.content.decode()
    assert 'id="id_postcode_error"' in html
    assert re.search(r'id="id_postcode"[^>]*aria-describedby="id_postcode_hint id_postcode_error"', html, re.S)
    assert "<title>Error:" in html


def test_too_many_vehicles_for_a_concern_is_an_error_on_the_vehicles(citizen):
    response = citizen.get(
        reverse("appointments:search"),
        {"service": "kennzeichenverlust", "vehicles": "2", "municipality": "lambsheim"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "#id_vehicles" in page_of(response).links
    assert "At most 1 vehicle can be handled" in text(response)


# --- calendar ---------------------------------------------------------------------------------


def test_calendar_shows_the_earliest_slot_days_times_and_the_checklist_in_german(citizen, demo):
    response = citizen.get(calendar_url())
    assert response.status_code == 200
    page = assert_accessible_basics(response)
    content = text(response)
    # German dates come from Django's own German locale, whatever our translations say.
    assert "Dienstag, 1. Dezember 2026, 09:00 Uhr" in content
    assert "Zulassungsstelle Frankenthal (Pfalz)" in content and "Hammstraße 20" in content
    assert "Zulassungsstelle Rhein-Pfalz-Kreis" in content and "Bahnhofstraße 37" in content
    # The checklist of the Umschreibung, in German.
    assert "Zulassungsbescheinigung Teil II (Fahrzeugbrief)" in content
    earliest_form, earliest = page.slot_buttons()[0]
    assert earliest["value"] == "2026-12-01T09:00:00+01:00"
    assert ("office", "frankenthal") in earliest_form["hidden"]
    assert earliest_form["action"] == reverse("appointments:hold")
    # Day links keep the request and add the day.
    assert any("date=2026-12-02" in link and "municipality=frankenthal-pfalz" in link for link in page.links)
    # Nothing before the lead time.
    assert not any(b["value"] < "2026-12-01T09:00" for _, b in page.slot_buttons())


def test_calendar_in_english(citizen):
    response = citizen.get(calendar_url(), HTTP_ACCEPT_LANGUAGE="en")
    assert page_of(response).lang == "en"
    content = text(response)
    assert "Choose a time" in content
    assert "Tuesday, 1 December 2026, 09:00" in content
    assert "Registration certificate part II (Fahrzeugbrief)" in content


def test_calendar_filters_by_office_and_shows_a_chosen_day(citizen):
    response = citizen.get(calendar_url(office="schifferstadt", date="2026-12-03"))
    assert response.status_code == 200
    page = page_of(response)
    buttons = page.slot_buttons()
    assert buttons
    assert all(("office", "schifferstadt") in form["hidden"] for form, _ in buttons)
    day_buttons = [b["value"] for form, b in buttons[1:]]  # the first is the earliest slot
    assert day_buttons and all(value.startswith("2026-12-03") for value in day_buttons)
    # Thursday afternoon hours of Schifferstadt (13:30–18:00).
    assert "2026-12-03T17:45:00+01:00" in day_buttons
    assert "Donnerstag, 3. Dezember 2026" in text(response)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "service=unknown&vehicles=1&municipality=lambsheim",
        "service=umschreibung&vehicles=abc&municipality=lambsheim",
        "service=umschreibung&vehicles=0&municipality=lambsheim",
        "service=umschreibung&vehicles=99&municipality=lambsheim",
        "service=umschreibung&vehicles=1&municipality=ludwigshafen",
        "service=umschreibung&vehicles=1",
        "service=umschreibung&vehicles=1&municipality=lambsheim&office=nowhere",
        "service=umschreibung&service=umschreibung%00&vehicles=1&municipality=lambsheim",
        "service=" + "x" * 3000 + "&vehicles=1.5&municipality=%ff",
        "service=%00&vehicles=%00&municipality=%00&office=%00&date=%00",
    ],
)
def test_bad_calendar_queries_show_the_request_form_with_errors(citizen, query):
    response = citizen.get(reverse("appointments:calendar") + "?" + query)
    assert response.status_code == 400
    page = page_of(response)
    assert "error-summary" in response.content.decode()
    assert any(i.get("name") == "municipality" for i in page.inputs)  # the request form again
    assert not page.slot_buttons()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"service": "umschreibung", "vehicles": "1", "municipality": "lambsheim", "office": "frankenthal"},
        {
            "service": "umschreibung",
            "vehicles": "1",
            "municipality": "lambsheim",
            "office": "frankenthal",
            "start": "tomorrow",
        },
        {
            "service": "umschreibung",
            "vehicles": "1",
            "municipality": "lambsheim",
            "office": "frankenthal",
            "start": "2026-12-01T09:00:00",
        },  # no UTC offset
        {"service": "nope", "vehicles": "x", "municipality": "y", "office": "z", "start": "2026-12-01T09:00:00+01:00"},
    ],
)
def test_bad_hold_posts_are_form_errors_not_500(citizen, data):
    response = citizen.post(reverse("appointments:hold"), data)
    assert response.status_code == 400
    assert Appointment.objects.count() == 0


@pytest.mark.parametrize(
    "start",
    [
        "2026-12-01T07:30:00+01:00",  # before the lead time
        "2026-12-01T09:03:00+01:00",  # off the grid
        "2026-12-01T19:00:00+01:00",  # closed
        "2027-06-01T09:00:00+02:00",  # beyond the horizon
    ],
)
def test_holding_an_unbookable_time_shows_the_calendar_with_the_reason(citizen, start):
    response = citizen.post(
        reverse("appointments:hold"),
        {
            "service": "umschreibung",
            "vehicles": "1",
            "municipality": "frankenthal-pfalz",
            "office": "frankenthal",
            "start": start,
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert page_of(response).slot_buttons()  # the calendar to choose again
    assert Appointment.objects.count() == 0


def test_search_and_calendar_never_fail_on_odd_input(citizen):
    for query in [
        "postcode=%00",
        "postcode=abcde&lookup=1",
        "municipality=&postcode=",
        "vehicles=-1&lookup=1",
        "service=a&service=b&vehicles=1e9&municipality=lambsheim",
    ]:
        response = citizen.get(reverse("appointments:search") + "?" + query)
        assert response.status_code in (200, 400), query


# --- the whole journey ------------------------------------------------------------------------


def test_the_whole_journey_in_german(citizen, demo):
    # start → request form
    start = citizen.get(reverse("appointments:start"))
    assert reverse("appointments:search") in page_of(start).links
    request_form = citizen.get(reverse("appointments:search"))
    form, _ = page_of(request_form).form_with_button(None)
    assert form["action"] == reverse("appointments:search")
    calendar_redirect = citizen.get(form["action"], {"service": "umschreibung", "vehicles": "1", "postcode": "67227"})
    assert calendar_redirect.status_code == 302

    # calendar → hold the earliest slot
    calendar = citizen.get(calendar_redirect["Location"])
    assert calendar.status_code == 200
    form, button = page_of(calendar).form_with_button("start")
    held = submit(citizen, form, button)
    assert held.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.status == Status.HELD
    assert appointment.office == demo.frankenthal
    assert appointment.municipality == demo.frankenthal_citizen_home
    assert appointment.language == "de"
    assert held["Location"] == reverse("appointments:details", args=[appointment.reference])

    # details: the held slot, until when, the checklist
    details = citizen.get(held["Location"])
    assert details.status_code == 200
    assert_accessible_basics(details)
    content = text(details)
    assert "Dienstag, 1. Dezember 2026, 09:00 Uhr" in content
    assert "07:10" in content  # reserved for ten minutes from 07:00
    assert "Hammstraße 20" in content
    assert "eVB-Nummer" in content
    assert reverse("appointments:privacy") in page_of(details).links

    submitted = fill_details(citizen, held["Location"])
    assert submitted.status_code == 302
    assert submitted["Location"] == reverse("appointments:submitted", args=[appointment.reference])
    page = citizen.get(submitted["Location"])
    assert page.status_code == 200 and "erika@example.org" in text(page)
    appointment.refresh_from_db()
    assert appointment.status == Status.UNCONFIRMED and appointment.name == "Erika Mustermann"

    # the e-mail: its link opens the confirm page
    link = opt_in_link(appointment)
    token = token_from(link)
    assert Notification.objects.get(kind=Notification.Kind.OPT_IN).state == Notification.State.SENT
    confirm_page = citizen.get(link[link.index("/termin/") :])
    assert confirm_page.status_code == 200
    appointment.refresh_from_db()
    assert appointment.status == Status.UNCONFIRMED, "a GET (a mail scanner) must not confirm"
    form, button = page_of(confirm_page).forms[-1], None
    assert ("token", token) in form["hidden"] and form["method"] == "post"
    confirmed = submit(citizen, form)
    assert confirmed.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED
    assert Notification.objects.filter(kind=Notification.Kind.CONFIRMATION).count() == 1

    confirmed_page = citizen.get(confirmed["Location"])
    assert confirmed_page.status_code == 200
    links = page_of(confirmed_page).links
    ics_url = reverse("appointments:ics", args=[appointment.reference]) + f"?token={token}"
    manage_url = reverse("appointments:manage", args=[appointment.reference]) + f"?token={token}"
    assert ics_url in links and manage_url in links
    assert "Hammstraße 20" in text(confirmed_page)

    # manage → .ics → cancel
    manage = citizen.get(manage_url)
    assert manage.status_code == 200
    assert_accessible_basics(manage)
    assert appointment.reference in text(manage)
    assert "Dienstag, 1. Dezember 2026, 09:00 Uhr" in text(manage)
    ics = citizen.get(ics_url)
    assert ics.status_code == 200 and ics["Content-Type"].startswith("text/calendar")
    assert b"DTSTART;TZID=Europe/Berlin:20261201T090000" in ics.content

    cancel_url = reverse("appointments:cancel", args=[appointment.reference]) + f"?token={token}"
    assert cancel_url in page_of(manage).links
    ask = citizen.get(cancel_url)
    assert ask.status_code == 200
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED, "asking is not cancelling"
    form, button = page_of(ask).forms[-1], None
    assert ("token", token) in form["hidden"]
    cancelled = submit(citizen, form)
    assert cancelled.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    after = citizen.get(cancelled["Location"])
    assert "status-cancelled" in after.content.decode()
    assert reverse("appointments:cancel", args=[appointment.reference]) not in " ".join(page_of(after).links)


def test_the_journey_in_english(citizen, demo):
    en = {"HTTP_ACCEPT_LANGUAGE": "en"}
    calendar = citizen.get(calendar_url(), **en)
    assert "Earliest free time" in text(calendar)
    form, button = page_of(calendar).form_with_button("start")
    held = submit(citizen, form, button, **en)
    appointment = Appointment.objects.get()
    assert appointment.language == "en"
    details = citizen.get(held["Location"], **en)
    content = text(details)
    assert page_of(details).lang == "en"
    assert "This time is reserved for you until 07:10" in content
    assert "Tuesday, 1 December 2026, 09:00" in content
    assert "eVB number" in content

    # Errors from the booking service appear on their fields.
    invalid = citizen.post(held["Location"], {"name": "", "email": "not-an-address", "privacy_consent": ""}, **en)
    assert invalid.status_code == 400
    page = assert_accessible_basics(invalid)
    assert {"#id_name", "#id_email", "#id_privacy_consent"} <= set(page.links)
    assert "Please enter a valid e-mail address." in text(invalid)
    assert re.search(r'id="id_email"[^>]*aria-invalid="true"', invalid.content.decode(), re.S)
    assert 'value="not-an-address"' in invalid.content.decode()

    fill_details(citizen, held["Location"], **en)
    submitted = citizen.get(reverse("appointments:submitted", args=[appointment.reference]), **en)
    assert "within 60 minutes" in text(submitted)
    appointment.refresh_from_db()
    link = opt_in_link(appointment)
    body = mail.outbox[0].body  # written in the language of the booking
    assert "Tuesday" in body and "December 2026" in body and appointment.reference in body
    confirm_page = citizen.get(link[link.index("/termin/") :], **en)
    assert "Confirm your appointment" in page_of(confirm_page).h1[0]
    confirmed = submit(citizen, page_of(confirm_page).forms[-1], **en)
    done = citizen.get(confirmed["Location"], **en)
    assert "Your appointment is confirmed" in page_of(done).h1[0]
    assert "Download the appointment as a calendar file (.ics)" in text(done)


def test_a_language_cookie_chooses_english(citizen):
    citizen.cookies["django_language"] = "en"
    response = citizen.get(calendar_url())
    assert page_of(response).lang == "en"
    assert "Tuesday, 1 December 2026, 09:00" in text(response)


def test_a_double_submit_books_once_and_sends_one_e_mail(citizen):
    held = hold_earliest(citizen)
    first = fill_details(citizen, held["Location"])
    second = fill_details(citizen, held["Location"])
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Appointment.objects.count() == 1
    assert Notification.objects.filter(kind=Notification.Kind.OPT_IN).count() == 1
    assert notifications.send_due(now=NOW) == 1
    assert len(mail.outbox) == 1


def test_an_expired_hold_says_so_and_offers_the_calendar(citizen, clock):
    held = hold_earliest(citizen, HTTP_ACCEPT_LANGUAGE="en")
    clock.now = NOW + dt.timedelta(minutes=11)
    response = citizen.get(held["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "Your reservation has run out" in page_of(response).h1[0]
    assert any(
        link.startswith(reverse("appointments:calendar") + "?service=umschreibung") for link in page_of(response).links
    )
    posted = fill_details(citizen, held["Location"], HTTP_ACCEPT_LANGUAGE="en")
    assert "Your reservation has run out" in page_of(posted).h1[0]
    assert not Notification.objects.exists()
    assert Appointment.objects.get().status == Status.HELD


def test_a_hold_belongs_to_the_browser_session_that_made_it(citizen):
    """Another browser gets the answer of an unknown reference (404), not a hint that it exists."""
    held = hold_earliest(citizen)
    stranger = Client()
    assert stranger.get(held["Location"]).status_code == 404
    assert fill_details(stranger, held["Location"]).status_code == 404
    assert Appointment.objects.get().status == Status.HELD


def test_a_slot_taken_meanwhile_shows_the_calendar_with_alternatives(citizen, demo):
    calendar = citizen.get(calendar_url(), HTTP_ACCEPT_LANGUAGE="en")
    form, button = page_of(calendar).form_with_button("start")
    occupy_all_counters(demo.frankenthal, berlin(2026, 12, 1, 9, 0), [demo.umschreibung], demo.frankenthal_citizen_home)
    response = submit(citizen, form, button, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409
    content = text(response)
    assert "This time has just been taken" in content
    assert "Free times close to the one you chose" in content
    alternatives = [b for f, b in page_of(response).slot_buttons()]
    assert alternatives
    # The alternative at the same minute in Schifferstadt is offered; Frankenthal 09:00 is not.
    assert "2026-12-01T09:00:00+01:00" in [b["value"] for b in alternatives]
    # The language switch of this POST result leads back to the calendar, not to the POST-only URL.
    language_form, _ = page_of(response).form_with_button("language")
    assert dict(language_form["hidden"])["next"].startswith(reverse("appointments:calendar") + "?service=umschreibung")
    # Choosing an alternative works.
    alt_form, alt_button = page_of(response).slot_buttons()[0]
    assert submit(citizen, alt_form, alt_button).status_code == 302
    assert Appointment.objects.filter(status=Status.HELD).count() == demo.frankenthal.counters.count() + 1


# --- links from the e-mails -------------------------------------------------------------------


def test_wrong_token_and_unknown_reference_are_both_404(citizen):
    """Alike, so that the pages do not tell which references exist."""
    appointment, token = confirmed_booking(citizen)
    reference = appointment.reference
    for name in ("confirm", "manage", "ics", "cancel", "reschedule"):
        url = reverse(f"appointments:{name}", args=[reference])
        assert citizen.get(url + "?token=wrong").status_code == 404, name
        assert citizen.get(url).status_code == 404, name
        assert citizen.get(reverse(f"appointments:{name}", args=["RP-NOPE99"]) + f"?token={token}").status_code == 404
    for name in ("confirm", "cancel", "reschedule"):
        url = reverse(f"appointments:{name}", args=[reference])
        assert citizen.post(url, {"token": "wrong"}).status_code == 404, name
    forbidden = citizen.get(
        reverse("appointments:manage", args=[reference]) + "?token=wrong", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert "Booking not found" in page_of(forbidden).h1[0]
    assert_accessible_basics(forbidden)
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED
    assert citizen.get(reverse("appointments:details", args=["FT-NOPE99"])).status_code == 404


@pytest.mark.parametrize(
    "path", ["%00/", "RP-%00/angaben/", "%00/termin.ics", "FT-%00/bestaetigen/", "x%00/verschieben/", "%00/stornieren/"]
)
def test_garbage_references_are_404_on_any_database(citizen, path):
    assert citizen.get("/termin/" + path + "?token=%00").status_code == 404


def test_a_confirm_link_after_the_deadline_explains_and_confirms_nothing(citizen, clock):
    held = hold_earliest(citizen, HTTP_ACCEPT_LANGUAGE="en")
    fill_details(citizen, held["Location"])
    appointment = Appointment.objects.get()
    link = opt_in_link(appointment)
    clock.now = NOW + dt.timedelta(minutes=61)
    page = citizen.get(link[link.index("/termin/") :], HTTP_ACCEPT_LANGUAGE="en")
    assert "The time to confirm has run out" in page_of(page).h1[0]
    posted = citizen.post(
        reverse("appointments:confirm", args=[appointment.reference]),
        {"token": token_from(link)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert posted.status_code == 409
    appointment.refresh_from_db()
    assert appointment.status == Status.UNCONFIRMED


def test_confirming_twice_is_harmless(citizen):
    appointment, token = confirmed_booking(citizen)
    again = citizen.post(reverse("appointments:confirm", args=[appointment.reference]), {"token": token})
    assert again.status_code == 302
    assert Notification.objects.filter(kind=Notification.Kind.CONFIRMATION).count() == 1


def test_rescheduling_through_the_pages(citizen, demo):
    appointment, token = confirmed_booking(citizen, HTTP_ACCEPT_LANGUAGE="en")
    manage = citizen.get(reverse("appointments:manage", args=[appointment.reference]) + f"?token={token}")
    reschedule_url = reverse("appointments:reschedule", args=[appointment.reference]) + f"?token={token}"
    assert reschedule_url in page_of(manage).links

    calendar = citizen.get(reschedule_url + "&office=schifferstadt&date=2026-12-03", HTTP_ACCEPT_LANGUAGE="en")
    assert calendar.status_code == 200
    assert "Move your appointment" in page_of(calendar).h1[0]
    assert "Tuesday, 1 December 2026, 09:00" in text(calendar)  # the current time is shown
    buttons = page_of(calendar).slot_buttons()
    form, button = next((f, b) for f, b in buttons if b["value"] == "2026-12-03T10:00:00+01:00")
    assert ("token", token) in form["hidden"] and ("office", "schifferstadt") in form["hidden"]
    question = submit(citizen, form, button)
    assert question.status_code == 200  # "move from … to …?": nothing moved yet
    assert not Notification.objects.filter(kind=Notification.Kind.RESCHEDULE).exists()
    moved = submit(citizen, *page_of(question).form_with_button("confirmed"))
    assert moved.status_code == 302
    appointment.refresh_from_db()
    assert appointment.office == demo.schifferstadt
    assert appointment.start == berlin(2026, 12, 3, 10, 0)
    assert appointment.status == Status.CONFIRMED
    assert Notification.objects.filter(kind=Notification.Kind.RESCHEDULE).count() == 1
    after = citizen.get(moved["Location"])
    assert "Donnerstag, 3. Dezember 2026, 10:00 Uhr" in text(after)
    assert "Bahnhofstraße 37" in text(after)


def test_rescheduling_to_a_time_just_taken_keeps_the_old_time(citizen, demo):
    appointment, token = confirmed_booking(citizen)
    calendar = citizen.get(
        reverse("appointments:reschedule", args=[appointment.reference]) + f"?token={token}&office=frankenthal"
        "&date=2026-12-02",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    form, button = next(
        (f, b) for f, b in page_of(calendar).slot_buttons() if b["value"] == "2026-12-02T10:00:00+01:00"
    )
    question = submit(citizen, form, button, HTTP_ACCEPT_LANGUAGE="en")
    occupy_all_counters(demo.frankenthal, berlin(2026, 12, 2, 10, 0), [demo.umschreibung], demo.lambsheim_citizen_home)
    response = submit(citizen, *page_of(question).form_with_button("confirmed"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409
    content = text(response)
    assert "This time has just been taken" in content and "Your appointment stays as it was" in content
    appointment.refresh_from_db()
    assert appointment.start == berlin(2026, 12, 1, 9, 0) and appointment.office == demo.frankenthal
    assert not Notification.objects.filter(kind=Notification.Kind.RESCHEDULE).exists()
    assert [b for f, b in page_of(response).slot_buttons()]  # alternatives and the calendar again
    language_form, _ = page_of(response).form_with_button("language")
    assert dict(language_form["hidden"])["next"] == (
        reverse("appointments:reschedule", args=[appointment.reference]) + f"?token={token}"
    )


def test_bad_reschedule_input_is_an_error_not_500(citizen):
    appointment, token = confirmed_booking(citizen)
    url = reverse("appointments:reschedule", args=[appointment.reference])
    assert citizen.get(url + f"?token={token}&date=yesterday").status_code == 200  # the earliest day instead
    assert citizen.get(url + f"?token={token}&office=nowhere").status_code == 400
    for data in (
        {"token": token},
        {"token": token, "office": "frankenthal", "start": "noon"},
        {"token": token, "office": "frankenthal", "start": "2026-12-01T03:00:00+01:00"},
    ):
        assert citizen.post(url, data).status_code == 400
    appointment.refresh_from_db()
    assert appointment.start == berlin(2026, 12, 1, 9, 0)


def test_a_cancelled_booking_can_no_longer_be_moved_or_cancelled_again(citizen):
    appointment, token = confirmed_booking(citizen)
    cancel_url = reverse("appointments:cancel", args=[appointment.reference])
    assert citizen.post(cancel_url, {"token": token}).status_code == 302
    assert citizen.post(cancel_url, {"token": token}).status_code == 302  # idempotent
    moving = citizen.get(reverse("appointments:reschedule", args=[appointment.reference]) + f"?token={token}")
    assert moving.status_code == 302
    ics = citizen.get(reverse("appointments:ics", args=[appointment.reference]) + f"?token={token}")
    assert b"STATUS:CANCELLED" in ics.content
    assert Notification.objects.filter(kind=Notification.Kind.CANCELLATION).count() == 1


def test_privacy_notice_names_both_administrations(citizen):
    response = citizen.get(reverse("appointments:privacy"))
    assert response.status_code == 200
    assert_accessible_basics(response)
    content = text(response)
    assert "Kreisverwaltung Rhein-Pfalz-Kreis" in content and "Stadtverwaltung Frankenthal (Pfalz)" in content


def test_picking_another_time_gives_the_first_hold_back(citizen):
    """A citizen who goes back and picks another time holds one slot, not two."""
    first = hold_earliest(citizen)
    calendar = citizen.get(calendar_url())
    buttons = page_of(calendar).slot_buttons()
    form, button = buttons[1]
    second = submit(citizen, form, button)
    assert second.status_code == 302 and second["Location"] != first["Location"]
    statuses = sorted(Appointment.objects.values_list("status", flat=True))
    assert statuses == [Status.EXPIRED, Status.HELD]
