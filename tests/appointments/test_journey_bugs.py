"""The bugs a walkthrough of the citizen's journey found (issue 15), each as the citizen meets it:
through the pages (Django's test client, a browser without JavaScript) or the service functions.

The clock stands at Tuesday, 1 December 2026, 07:00 in Berlin (the `clock` fixture).
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from appointments.domain import booking
from appointments.domain.availability import AvailabilityError, check_request
from appointments.domain.relocation import Result, relocate_after_closure
from appointments.models import Appointment, Notification, Status
from appointments.outbox import notifications
from appointments.web.forms import SearchForm
from offices.hours import BERLIN
from offices.models import Closure, Service
from tests.appointments.test_pages import (
    calendar_url,
    confirmed_booking,
    fill_details,
    hold_earliest,
    occupy_all_counters,
    page_of,
    submit,
    text,
)
from tests.conftest import berlin

NOW = berlin(2026, 12, 1, 7, 0)
URL = re.compile(r"https?://[^\s\"<>]+")

# --- 1: changing the request ------------------------------------------------------------------


def test_change_your_request_opens_the_search_form_filled_in(citizen):
    """ "Anfrage ändern" on the calendar leads to the request form as it was filled in, not back to
    the calendar."""
    calendar = citizen.get(calendar_url(vehicles="2"))
    change = next(link for link in page_of(calendar).links if link.startswith(reverse("appointments:search")))
    response = citizen.get(change)
    assert response.status_code == 200
    html = response.content.decode()
    checked = [i.get("value") for i in page_of(response).inputs if i.get("name") == "service" and "checked" in i]
    assert checked == ["umschreibung"]
    assert '<option value="2" selected>' in html
    assert '<option value="frankenthal-pfalz" selected>' in html
    assert "error-summary" not in html
    # Sending the form again leads to the calendar (no "change" parameter in the form).
    assert "change" not in {i.get("name") for i in page_of(response).inputs}


def test_wrong_postcode_link_keeps_the_ticked_concerns(citizen):
    search = reverse("appointments:search")
    outside = citizen.get(search + "?service=umschreibung&service=ausserbetriebsetzung&vehicles=1&postcode=67059")
    assert "67059" in text(outside)
    retry = next(link for link in page_of(outside).links if link.startswith(search + "?"))
    form = citizen.get(retry)
    assert form.status_code == 200
    html = form.content.decode()
    for slug in ("umschreibung", "ausserbetriebsetzung"):
        assert f'value="{slug}"' in html
    checked = [i.get("value") for i in page_of(form).inputs if i.get("name") == "service" and "checked" in i]
    assert sorted(checked) == ["ausserbetriebsetzung", "umschreibung"]
    assert 'name="postcode"' in html and 'value="67059"' not in html


# --- 2: moving a booking ----------------------------------------------------------------------


def own_time_buttons(response, appointment) -> list:
    value = appointment.start.astimezone(BERLIN).isoformat()
    return [
        (f, b)
        for f, b in page_of(response).slot_buttons()
        if b["value"] == value and ("office", "frankenthal") in f["hidden"]
    ]


def test_moving_does_not_offer_the_booking_s_own_time(citizen):
    """The booking (Frankenthal, Tuesday 09:00) is not offered as the earliest free time, although
    another counter is free then."""
    appointment, token = confirmed_booking(citizen)
    assert appointment.office.slug == "frankenthal" and appointment.start == berlin(2026, 12, 1, 9, 0)
    url = reverse("appointments:reschedule", args=[appointment.reference]) + f"?token={token}"
    for query in ("", "&office=frankenthal&date=2026-12-01"):
        response = citizen.get(url + query)
        assert response.status_code == 200
        assert not own_time_buttons(response, appointment), query


def test_a_move_asks_before_it_moves(citizen, demo):
    """Choosing a time leads to "move from … to …?"; only "yes" moves the booking and sends the mail."""
    appointment, token = confirmed_booking(citizen)
    calendar = citizen.get(
        reverse("appointments:reschedule", args=[appointment.reference])
        + f"?token={token}&office=schifferstadt&date=2026-12-04"
    )
    form, button = next(
        (f, b) for f, b in page_of(calendar).slot_buttons() if b["value"] == "2026-12-04T09:15:00+01:00"
    )
    question = submit(citizen, form, button)
    assert question.status_code == 200
    assert "Termin verschieben?" in page_of(question).h1[0]
    assert "von Dienstag, 1. Dezember 2026, 09:00 Uhr auf Freitag, 4. Dezember 2026, 09:15 Uhr verschieben?" in text(
        question
    )
    appointment.refresh_from_db()
    assert appointment.start == berlin(2026, 12, 1, 9, 0)
    assert not Notification.objects.filter(kind=Notification.Kind.RESCHEDULE).exists()
    # "No, choose another time" leads back to the calendar of that day.
    assert any("date=2026-12-04" in link for link in page_of(question).links)

    moved = submit(citizen, *page_of(question).form_with_button("confirmed"))
    assert moved.status_code == 302
    appointment.refresh_from_db()
    assert appointment.office == demo.schifferstadt and appointment.start == berlin(2026, 12, 4, 9, 15)
    assert Notification.objects.filter(kind=Notification.Kind.RESCHEDULE).count() == 1


def test_the_question_refuses_the_booking_s_own_time_and_times_taken(citizen, demo):
    appointment, token = confirmed_booking(citizen, HTTP_ACCEPT_LANGUAGE="en")
    url = reverse("appointments:reschedule", args=[appointment.reference])
    own = citizen.post(
        url, {"token": token, "office": "frankenthal", "start": "2026-12-01T09:00:00+01:00"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert own.status_code == 400
    assert "already at this time" in text(own)
    occupy_all_counters(
        demo.schifferstadt, berlin(2026, 12, 2, 10, 0), [demo.umschreibung], demo.lambsheim_citizen_home
    )
    taken = citizen.post(
        url,
        {"token": token, "office": "schifferstadt", "start": "2026-12-02T10:00:00+01:00"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert taken.status_code == 409
    assert "This time has just been taken" in text(taken)
    assert page_of(taken).slot_buttons()


# --- 4: after a counter block -----------------------------------------------------------------


def offer_after_a_block(citizen, demo):
    """The citizen's booking (Frankenthal, Tuesday 09:00) sits on a counter that is then blocked,
    with every other counter taken at 09:00: the citizen is e-mailed other times."""
    appointment, _token = confirmed_booking(citizen)
    for _ in range(demo.frankenthal.counters.count() - 1):
        booking.place_hold(
            office=demo.frankenthal,
            start=appointment.start,
            services=[demo.umschreibung],
            vehicles=1,
            municipality=demo.lambsheim_citizen_home,
            now=NOW,
        )
    closure = Closure.objects.create(
        office=demo.frankenthal,
        counter=appointment.counter,
        start_date=dt.date(2026, 12, 1),
        end_date=dt.date(2026, 12, 1),
        start_time=dt.time(8, 30),
        end_time=dt.time(10),
        reason="Technik",
    )
    [outcome] = relocate_after_closure(closure=closure, now=NOW, user=None)
    assert outcome.result == Result.OFFERED
    mail.outbox.clear()
    notifications.send_due(now=NOW)
    [message] = [m for m in mail.outbox if "/verschieben/?" in m.body]
    appointment.refresh_from_db()
    return appointment, message


def test_after_a_block_the_manage_page_shows_the_pending_offer(citizen, demo, portal):
    _appointment, message = offer_after_a_block(citizen, demo)
    manage = next(u for u in URL.findall(message.body) if "/verschieben/" not in u and "token=" in u)
    page = citizen.get(manage[manage.index("/termin/") :])
    assert page.status_code == 200
    assert "Bitte wählen Sie einen neuen Termin." in text(page)
    assert any("/verschieben/" in link for link in page_of(page).links)


def test_each_offered_time_asks_to_move_to_exactly_that_time(citizen, demo, portal):
    appointment, message = offer_after_a_block(citizen, demo)
    offered = [u for u in URL.findall(message.body) if "/verschieben/" in u]
    assert len(offered) >= 2
    url = offered[1]
    start = dt.datetime.fromisoformat(parse_qs(urlsplit(url).query)["start"][0])
    office = parse_qs(urlsplit(url).query)["office"][0]

    question = citizen.get(url[url.index("/termin/") :])
    assert question.status_code == 200
    assert "Termin verschieben?" in page_of(question).h1[0]
    form, button = page_of(question).form_with_button("confirmed")
    assert ("start", start.isoformat()) in form["hidden"] and ("office", office) in form["hidden"]
    moved = submit(citizen, form, button)
    assert moved.status_code == 302
    appointment.refresh_from_db()
    assert appointment.start == start and appointment.office.slug == office
    assert appointment.relocation_offered_at is None
    after = citizen.get(moved["Location"])
    assert "Bitte wählen Sie einen neuen Termin." not in text(after)


# --- 5: a day outside the calendar ------------------------------------------------------------


@pytest.mark.parametrize(
    ("date", "notice", "shown"),
    [
        ("2025-01-01", "Der Tag im Link ist vorbei.", "Dienstag, 1. Dezember 2026"),
        ("2026-11-30", "Der Tag im Link ist vorbei.", "Dienstag, 1. Dezember 2026"),
        ("2026-13-45", "Der Tag im Link ist kein gültiges Datum.", "Dienstag, 1. Dezember 2026"),
        ("yesterday", "Der Tag im Link ist kein gültiges Datum.", "Dienstag, 1. Dezember 2026"),
        ("%00", "Der Tag im Link ist kein gültiges Datum.", "Dienstag, 1. Dezember 2026"),
        ("2030-01-01", "Termine können bis", ""),
    ],
)
def test_a_day_outside_the_calendar_shows_the_nearest_bookable_day_and_says_so(citizen, date, notice, shown):
    response = citizen.get(calendar_url(date=date))
    assert response.status_code == 200
    content = text(response)
    assert notice in content
    assert shown in content
    assert "Bitte wählen Sie einen Tag im Kalender aus." not in content
    assert page_of(response).slot_buttons()  # a calendar to choose from, not the request form


def test_a_day_beyond_the_horizon_shows_the_last_bookable_day(citizen, demo):
    last = NOW.date() + dt.timedelta(
        days=max(demo.frankenthal.booking_horizon_days, demo.schifferstadt.booking_horizon_days)
    )
    response = citizen.get(calendar_url(date="2030-01-01", office="frankenthal"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert f"Appointments can be booked up to {last.day} " in text(response)


def test_the_move_calendar_clamps_a_day_outside_it_too(citizen):
    appointment, token = confirmed_booking(citizen)
    url = reverse("appointments:reschedule", args=[appointment.reference]) + f"?token={token}&date=2020-02-02"
    response = citizen.get(url)
    assert response.status_code == 200
    assert "Der Tag im Link ist vorbei." in text(response)
    assert page_of(response).slot_buttons()


# --- 6: "just taken" and a GET of the hold URL ------------------------------------------------


def current_filter(response) -> str:
    match = re.search(r'<a href="([^"]+)" aria-current="true">', response.content.decode())
    return match.group(1) if match else ""


def test_just_taken_keeps_the_office_filter(citizen, demo):
    calendar = citizen.get(calendar_url(office="frankenthal"))
    assert "office=frankenthal" in current_filter(calendar)
    form, button = page_of(calendar).form_with_button("start")
    occupy_all_counters(demo.frankenthal, berlin(2026, 12, 1, 9, 0), [demo.umschreibung], demo.frankenthal_citizen_home)
    response = submit(citizen, form, button)
    assert response.status_code == 409
    assert "office=frankenthal" in current_filter(response)
    assert "Dieser Termin wurde gerade vergeben." in text(response)


def test_a_get_of_the_hold_url_leads_to_the_calendar(citizen):
    hold = reverse("appointments:hold")
    response = citizen.get(hold + "?service=umschreibung&vehicles=1&municipality=frankenthal-pfalz")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("appointments:calendar") + "?service=umschreibung")
    assert citizen.get(response["Location"]).status_code == 200
    bare = citizen.get(hold)
    assert bare.status_code == 302 and bare["Location"] == reverse("appointments:search")


# --- 3: e-mails in the booking's language -----------------------------------------------------


def booked_by_phone(demo, *, language: str):
    appointment, _token = booking.book_in_office(
        office=demo.frankenthal,
        start=berlin(2026, 12, 3, 10, 0),
        services=[demo.umschreibung],
        vehicles=1,
        municipality=demo.frankenthal_citizen_home,
        name="Erika Mustermann",
        email="erika@example.org",
        channel="phone",
        language=language,
        now=NOW,
    )
    mail.outbox.clear()
    notifications.send_due(now=NOW)
    [message] = [m for m in mail.outbox if "confirm" in m.subject or "bestätigt" in m.subject]
    return appointment, message


def test_english_mails_use_english_dates_and_no_german_directions(demo, clock, portal):
    demo.frankenthal.directions = "Eingang über den Hof, barrierefrei."
    demo.frankenthal.save()
    appointment, message = booked_by_phone(demo, language="en")
    assert message.subject == f"Appointment {appointment.reference} confirmed: 3 Dec 2026, 10:00"
    html = message.alternatives[0][0]
    for body in (message.body, html):
        assert "Thursday, 3 December 2026" in body
        assert "3. December" not in body
        assert "Eingang über den Hof" not in body


def test_german_mails_keep_german_dates_directions_and_uhr(demo, clock, portal):
    demo.frankenthal.directions = "Eingang über den Hof, barrierefrei."
    demo.frankenthal.save()
    appointment, message = booked_by_phone(demo, language="de")
    assert message.subject == f"Termin {appointment.reference} bestätigt: 03.12.2026, 10:00 Uhr"
    assert "Donnerstag, 3. Dezember 2026" in message.body
    assert "Eingang über den Hof" in message.body


# --- 9: senders and answers -------------------------------------------------------------------


def test_the_sender_is_quoted_and_answers_reach_the_office(demo, clock, portal):
    _appointment, message = booked_by_phone(demo, language="de")
    sent = message.message()
    assert sent["From"].startswith('"Kfz-Zulassung Rhein-Pfalz-Kreis und Stadt Frankenthal (Pfalz)" <')
    assert message.reply_to == [demo.frankenthal.email]
    for body in (message.body, message.alternatives[0][0]):
        assert "Bitte antworten Sie nicht darauf." not in body
        assert "Sie können auf diese E-Mail antworten" in body


def test_without_an_office_address_the_mail_says_not_to_reply(demo, clock, portal):
    demo.frankenthal.email = ""
    demo.frankenthal.save()
    _appointment, message = booked_by_phone(demo, language="en")
    assert not message.reply_to
    assert "Please do not reply to it." in message.body


# --- 8: wording -------------------------------------------------------------------------------


def test_one_vehicle_is_singular(demo):
    demo.neuzulassung.max_vehicles = 1
    with pytest.raises(AvailabilityError) as error, translation.override("de"):
        check_request(services=[demo.neuzulassung], vehicles=2, municipality=demo.frankenthal_citizen_home)
    with translation.override("de"):
        assert "höchstens 1 Fahrzeug " in str(error.value.message)
    Service.objects.filter(bookable_online=True).update(max_vehicles=1)
    with translation.override("de"):
        form = SearchForm({"service": ["umschreibung"], "vehicles": "2", "municipality": "lambsheim"})
        assert not form.is_valid()
        assert form.errors["vehicles"] == ["In einem Termin kann höchstens 1 Fahrzeug online gebucht werden."]
        assert form.fields["vehicles"].help_text == "Bis zu 1 Fahrzeug in einem Termin."


def test_the_english_description_of_a_change_of_keeper(citizen):
    page = citizen.get(reverse("appointments:search"), HTTP_ACCEPT_LANGUAGE="en")
    assert "still registered to its previous keeper" in text(page)
    assert "still registered to its new keeper" not in text(page)


def test_an_empty_e_mail_address_is_asked_for_not_called_invalid(demo):
    with pytest.raises(booking.BookingError) as empty, translation.override("de"):
        booking.clean_contact(name="Erika Mustermann", email="", phone="", privacy_consent=True)
    with pytest.raises(booking.BookingError) as wrong, translation.override("de"):
        booking.clean_contact(name="Erika Mustermann", email="erika", phone="", privacy_consent=True)
    with translation.override("de"):
        assert [str(m) for m in empty.value.extra["errors"]["email"]] == ["Bitte geben Sie Ihre E-Mail-Adresse ein."]
        assert [str(m) for m in wrong.value.extra["errors"]["email"]] == [
            "Bitte geben Sie eine gültige E-Mail-Adresse ein."
        ]


def test_the_cancellation_mail_says_uhr(demo, clock, portal):
    appointment, _message = booked_by_phone(demo, language="de")
    appointment.refresh_from_db()
    mail.outbox.clear()
    message = notifications.build_message(
        Notification(appointment=appointment, kind=Notification.Kind.CANCELLATION, due_at=NOW, payload={})
    )
    assert "Uhrzeit: 10:00 Uhr" in message.body
    assert "10:00 Uhr" in message.alternatives[0][0]


def test_municipalities_read_postcode_first_in_german_order(citizen):
    page = citizen.get(reverse("appointments:search"))
    html = page.content.decode()
    assert "67227 Frankenthal (Pfalz)" in html and "Frankenthal (Pfalz) (67227)" not in html
    options = re.findall(r'<option value="[^"]+"[^>]*>\d{5} ([^<]+)</option>', html)
    assert options.index("Heßheim") < options.index("Heuchelheim bei Frankenthal")


def test_new_references_name_no_office_and_old_ones_keep_working(citizen, demo):
    appointment, token = confirmed_booking(citizen)
    assert re.fullmatch(r"[A-Z2-9]{3}-[A-Z2-9]{4}", appointment.reference)
    Appointment.objects.filter(pk=appointment.pk).update(reference="FT-ABC234")
    manage = citizen.get(reverse("appointments:manage", args=["FT-ABC234"]) + f"?token={token}")
    assert manage.status_code == 200


# --- 7: the submit limit and a hold that ran out ----------------------------------------------


def test_forms_sent_back_for_errors_do_not_count_against_the_submit_limit(citizen, settings):
    settings.RATE_LIMIT_SUBMIT = "2/h"
    cache.clear()  # no counts of earlier tests
    held = hold_earliest(citizen)
    for _ in range(4):
        sent_back = citizen.post(held["Location"], {"name": "Erika Mustermann", "email": "", "privacy_consent": "on"})
        assert sent_back.status_code == 400
        assert "Bitte geben Sie Ihre E-Mail-Adresse ein." in text(sent_back)
    assert fill_details(citizen, held["Location"]).status_code == 302


def test_the_submit_limit_is_checked_before_a_time_is_held(citizen, settings):
    settings.RATE_LIMIT_SUBMIT = "1/h"
    cache.clear()
    held = hold_earliest(citizen)
    assert fill_details(citizen, held["Location"]).status_code == 302  # the one submit allowed
    calendar = citizen.get(calendar_url())
    form, button = page_of(calendar).form_with_button("start")
    refused = submit(citizen, form, button)
    assert refused.status_code == 429
    assert Appointment.objects.filter(status=Status.HELD).count() == 0  # nothing held to type in vain


def test_an_expired_hold_keeps_what_was_typed_and_offers_the_same_time(citizen, clock):
    calendar = citizen.get(calendar_url(date="2026-12-02"))
    form, button = next((f, b) for f, b in page_of(calendar).slot_buttons() if b["value"].startswith("2026-12-02"))
    held = submit(citizen, form, button)
    first = Appointment.objects.get()
    clock.now = NOW + dt.timedelta(minutes=11)
    expired = citizen.post(
        held["Location"], {"name": "Erika Mustermann", "email": "erika@example.org", "privacy_consent": "on"}
    )
    assert expired.status_code == 200
    assert "Ihre Reservierung ist abgelaufen" in page_of(expired).h1[0]
    assert "Wir haben Ihre Eingaben behalten" in text(expired)
    form, button = page_of(expired).form_with_button("start")
    assert button["value"] == first.start.astimezone(BERLIN).isoformat()
    again = submit(citizen, form, button)
    assert again.status_code == 302
    details = citizen.get(again["Location"])
    assert details.status_code == 200
    values = {i.get("name"): i.get("value") for i in page_of(details).inputs}
    assert values["name"] == "Erika Mustermann" and values["email"] == "erika@example.org"
    assert Appointment.objects.filter(status=Status.HELD).exclude(pk=first.pk).get().start == first.start


# --- small things -----------------------------------------------------------------------------


def test_the_details_page_shows_vehicles_and_duration_and_a_way_back(citizen):
    calendar = citizen.get(calendar_url(vehicles="2"))
    form, button = page_of(calendar).form_with_button("start")
    held = submit(citizen, form, button)
    details = citizen.get(held["Location"])
    content = text(details)
    assert "Ihr Termin dauert etwa 30 Minuten." in content
    assert "2 Fahrzeuge" in content
    back = reverse("appointments:calendar") + "?service=umschreibung&vehicles=2&municipality=frankenthal-pfalz"
    assert back in page_of(details).links
