"""Offices as citizens need them (issue 15): opening hours derived from the configuration (the week,
today, the coming closures), phone, e-mail, public transport, parking and accessibility, on the
calendar's office groups, the pages after booking and in the confirmation e-mail; example data
marked as such.

The clock stands at Tuesday, 1 December 2026, 07:00 in Berlin (the `clock` fixture) unless a test
moves it.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core import mail
from django.urls import reverse
from django.utils import translation

from appointments.domain import booking
from appointments.domain.office_info import info_for, offices_info
from appointments.models import Appointment
from appointments.outbox import notifications
from offices import config
from offices.demo import seed_demo
from offices.models import Closure, HolidayOpening, Office, OpeningHours
from tests.appointments.test_pages import (
    assert_accessible_basics,
    calendar_url,
    confirmed_booking,
    fill_details,
    hold_earliest,
    text,
)
from tests.conftest import berlin

NOW = berlin(2026, 12, 1, 7, 0)


def week_of(info) -> list[tuple[str, str]]:
    return [(line.days_label, line.hours_label) for line in info.week]


def closures_of(info) -> list[tuple[dt.date, dt.date, str, str]]:
    return [(c.first, c.last, c.hours_label, c.name) for c in info.closures]


def office_card(html: str, office: Office) -> str:
    """The visible text of the calendar group of `office` (from its heading to the next group)."""
    start = html.index(f"<h3>{office.name}")
    end = html.find('<div class="office-times', start)
    return " ".join(re.sub(r"<[^>]+>", " ", html[start : end if end > 0 else None]).split())


# --- the service: week, today, closures -----------------------------------------------------------


def test_the_week_is_grouped_and_a_holiday_and_closures_are_listed(demo, clock):
    frankenthal = demo.frankenthal
    Closure.objects.create(
        office=frankenthal, start_date=dt.date(2026, 12, 24), end_date=dt.date(2026, 12, 24), reason="Heiligabend"
    )
    Closure.objects.create(
        office=frankenthal,
        start_date=dt.date(2026, 12, 9),
        end_date=dt.date(2026, 12, 9),
        start_time=dt.time(10, 0),
        end_time=dt.time(12, 0),
        reason="Personalversammlung",
    )
    # Not the office's: one counter's block, a closure over a weekend, one after four weeks.
    Closure.objects.create(
        office=frankenthal,
        counter=frankenthal.counters.first(),
        start_date=NOW.date(),
        end_date=NOW.date(),
        reason="Schalter 1",
    )
    Closure.objects.create(
        office=frankenthal, start_date=dt.date(2026, 12, 5), end_date=dt.date(2026, 12, 6), reason="Wochenende"
    )
    Closure.objects.create(
        office=frankenthal, start_date=dt.date(2026, 12, 31), end_date=dt.date(2026, 12, 31), reason="Silvester"
    )
    # Schifferstadt opens on the first Christmas Day: no holiday to list there.
    HolidayOpening.objects.create(office=demo.schifferstadt, date=dt.date(2026, 12, 25))

    infos = offices_info(offices=[frankenthal, demo.schifferstadt], now=clock.now)
    with translation.override("de"):
        ft = infos[frankenthal.id]
        assert week_of(ft) == [("Mo–Mi", "08:00–12:00"), ("Do", "08:00–12:00, 14:00–18:00"), ("Fr", "08:00–12:00")]
        assert closures_of(ft) == [
            (dt.date(2026, 12, 9), dt.date(2026, 12, 9), "10:00–12:00", "Personalversammlung"),
            (dt.date(2026, 12, 24), dt.date(2026, 12, 24), "", "Heiligabend"),
            (dt.date(2026, 12, 25), dt.date(2026, 12, 25), "", "Erster Weihnachtstag"),
        ]
        # Today (Tuesday) the office is open; one counter's block does not close it.
        assert ft.today.is_open and ft.today.hours_label == "08:00–12:00"
        rp = infos[demo.schifferstadt.id]
        assert week_of(rp)[:2] == [("Mo", "07:30–12:30"), ("Di", "07:30–12:30, 13:30–16:00")]
        assert closures_of(rp) == []
    with translation.override("en"):
        assert week_of(ft)[0] == ("Mon–Wed", "08:00–12:00")
        assert closures_of(ft)[2][3] == "Christmas Day"


def test_today_closed_for_a_holiday_or_a_closure_says_why(demo, clock):
    clock.now = berlin(2026, 12, 25, 9, 0)
    with translation.override("de"):
        today = info_for(demo.frankenthal, now=clock.now).today
        assert not today.is_open and today.holiday_name == "Erster Weihnachtstag"
    Closure.objects.create(
        office=demo.frankenthal, start_date=dt.date(2026, 12, 28), end_date=dt.date(2026, 12, 30), reason="Umzug"
    )
    clock.now = berlin(2026, 12, 29, 9, 0)
    today = info_for(demo.frankenthal, now=clock.now).today
    assert not today.is_open and today.reason == "Umzug" and today.holiday is None


def test_today_is_the_day_in_berlin_across_the_change_of_the_clocks(demo, clock):
    """Just after midnight on the Monday after the clocks changed it is still Sunday in UTC: the
    card must show Monday's hours, as wall-clock times."""
    for moment in (berlin(2026, 3, 30, 0, 30), berlin(2026, 10, 26, 0, 30)):
        clock.now = moment
        assert clock.now.astimezone(dt.UTC).date() == moment.date() - dt.timedelta(days=1)
        today = info_for(demo.frankenthal, now=clock.now).today
        assert today.day == moment.date()
        assert today.is_open and today.hours_label == "08:00–12:00"
    # On the day of the change itself the hours stay the configured wall-clock times.
    OpeningHours.objects.create(office=demo.frankenthal, weekday=6, opens=dt.time(1, 0), closes=dt.time(5, 0))
    for sunday in (berlin(2026, 3, 29, 12, 0), berlin(2026, 10, 25, 12, 0)):
        clock.now = sunday
        assert info_for(demo.frankenthal, now=clock.now).today.hours_label == "01:00–05:00"


def test_one_reading_of_the_configuration_for_all_offices(demo, clock, django_assert_num_queries):
    offices = [demo.frankenthal, demo.schifferstadt]
    offices_info(offices=offices, now=clock.now)  # the configuration is read and kept
    with django_assert_num_queries(1):  # its version, nothing per office
        infos = offices_info(offices=offices, now=clock.now)
    assert set(infos) == {demo.frankenthal.id, demo.schifferstadt.id}


def test_a_change_to_an_office_is_seen_at_once(demo, clock):
    """The office table got new columns (migration 0009): its trigger still renews the
    configuration's version, so the next reading shows the change."""
    offices_info(offices=[demo.frankenthal], now=clock.now)
    Office.objects.filter(pk=demo.frankenthal.pk).update(parking_de="Parkhaus am Rathaus")
    office = next(o for o in config.current(now=clock.now).offices if o.pk == demo.frankenthal.pk)
    assert office.parking_de == "Parkhaus am Rathaus"


def test_seed_demo_puts_the_example_texts_back(demo):
    Office.objects.filter(pk=demo.schifferstadt.pk).update(
        public_transport_de="", parking_en="", visitor_info_is_example=False, phone=""
    )
    seed_demo()
    office = Office.objects.get(pk=demo.schifferstadt.pk)
    assert "Schifferstadt Bahnhof" in office.public_transport_de
    assert office.parking_en.startswith("Free parking")
    assert office.visitor_info_is_example and office.phone
    assert Office.objects.count() == 2


# --- the pages ------------------------------------------------------------------------------------


def test_calendar_groups_show_today_and_fold_the_rest(citizen, demo):
    response = citizen.get(calendar_url())
    html = response.content.decode()
    assert html.count('<details class="office-details">') == 2
    frankenthal = office_card(html, demo.frankenthal)
    assert "Heute geöffnet 08:00–12:00" in frankenthal
    assert "Öffnungszeiten, Anfahrt und Barrierefreiheit" in frankenthal
    assert "Mo–Mi 08:00–12:00" in frankenthal and "Do 08:00–12:00, 14:00–18:00" in frankenthal
    assert "Mit der S-Bahn (S6)" in frankenthal and "06233 0000-0" in frankenthal
    assert "Eingang mit Rampe" in frankenthal
    schifferstadt = office_card(html, demo.schifferstadt)
    assert "Heute geöffnet 07:30–12:30, 13:30–16:00" in schifferstadt
    # Demo data says what it is.
    assert "Beispieldaten: Dies sind nicht die veröffentlichten Öffnungszeiten" in schifferstadt
    assert "Beispieldaten: Dies sind nicht die veröffentlichten Öffnungszeiten" not in frankenthal
    assert "Beispieldaten: Telefon, E-Mail, Anfahrt" in frankenthal


def test_published_details_carry_no_example_mark(citizen, demo):
    Office.objects.filter(pk=demo.frankenthal.pk).update(visitor_info_is_example=False)
    frankenthal = office_card(citizen.get(calendar_url()).content.decode(), demo.frankenthal)
    assert "Mit der S-Bahn (S6)" in frankenthal
    assert "Beispieldaten" not in frankenthal


def test_a_closure_today_on_the_calendar(citizen, demo):
    Closure.objects.create(
        office=demo.frankenthal, start_date=NOW.date(), end_date=NOW.date(), reason="Betriebsversammlung"
    )
    html = citizen.get(calendar_url(date="2026-12-02")).content.decode()
    assert "Heute geschlossen (Betriebsversammlung)" in office_card(html, demo.frankenthal)


def test_the_english_calendar_shows_the_english_texts_and_german_where_none(citizen, demo):
    Office.objects.filter(pk=demo.frankenthal.pk).update(accessibility_en="")
    html = citizen.get(calendar_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    frankenthal = office_card(html, demo.frankenthal)
    assert "Open today 08:00–12:00" in frankenthal
    assert "Opening hours, getting there and accessibility" in frankenthal
    assert "Mon–Wed 08:00–12:00" in frankenthal
    assert "S-Bahn (S6) or regional train" in frankenthal and "Mit der S-Bahn" not in frankenthal
    assert "Public multi-storey car parks" in frankenthal
    # Without an English text the German one is better than nothing.
    assert "Eingang mit Rampe" in frankenthal
    assert "Example data: phone, e-mail, getting there" in frankenthal


def test_the_pages_after_booking_show_the_full_card(citizen, demo):
    held = hold_earliest(citizen)
    fill_details(citizen, held["Location"])
    appointment = Appointment.objects.get()
    submitted = citizen.get(reverse("appointments:submitted", args=[appointment.reference]))
    content = text(submitted)
    assert "Öffnungszeiten, Anfahrt und Barrierefreiheit" in content
    assert "Heute geöffnet 08:00–12:00" in content
    assert "Mit Bus und Bahn Mit der S-Bahn (S6)" in content
    assert "Parken Öffentliche Parkhäuser" in content
    assert "Barrierefreiheit des Gebäudes Eingang mit Rampe" in content
    assert "kfz-zulassung@frankenthal.example" in content


def test_the_manage_page_shows_the_card_until_cancelled(citizen, demo):
    appointment, token = confirmed_booking(citizen, HTTP_ACCEPT_LANGUAGE="en")
    url = reverse("appointments:manage", args=[appointment.reference]) + f"?token={token}"
    content = text(citizen.get(url, HTTP_ACCEPT_LANGUAGE="en"))
    assert "Opening hours, getting there and accessibility" in content
    assert "By bus and train S-Bahn (S6) or regional train" in content
    assert "Closed in the coming four weeks" in content and "Christmas Day" in content
    booking.cancel_booking(appointment=appointment, token=token, now=NOW)
    assert "Opening hours, getting there" not in text(citizen.get(url, HTTP_ACCEPT_LANGUAGE="en"))


# --- the confirmation e-mail ----------------------------------------------------------------------


def confirmation_mail(demo, *, language: str):
    booking.book_in_office(
        office=demo.schifferstadt,
        start=berlin(2026, 12, 3, 10, 0),
        services=[demo.umschreibung],
        vehicles=1,
        municipality=demo.lambsheim_citizen_home,
        name="Erika Mustermann",
        email="erika@example.org",
        channel="phone",
        language=language,
        now=NOW,
    )
    mail.outbox.clear()
    notifications.send_due(now=NOW)
    [message] = mail.outbox
    return message.body, message.alternatives[0][0]


def test_the_confirmation_mail_says_how_to_get_there(demo, clock, portal):
    body, html = confirmation_mail(demo, language="de")
    assert "Mit Bus und Bahn: Mit der S-Bahn Rhein-Neckar (S1, S2, S3, S4) bis Schifferstadt Bahnhof" in body
    assert "Parken: Kostenlose Parkplätze im Hof" in body
    assert "Barrierefreiheit: Stufenloser Zugang" in body
    assert "Telefon: 06235 0000-0 (Beispiel)" in body
    assert "Beispieldaten" in body
    assert "Mit der S-Bahn Rhein-Neckar" in html and "Stufenloser Zugang" in html


def test_the_english_mail_has_no_german_travel_lines(demo, clock, portal):
    Office.objects.filter(pk=demo.schifferstadt.pk).update(parking_en="")
    body, html = confirmation_mail(demo, language="en")
    assert "By bus and train: S-Bahn Rhein-Neckar (S1, S2, S3, S4) to Schifferstadt station" in body
    assert "Accessibility: Step-free access" in body
    for part in (body, html):
        assert "Kostenlose Parkplätze" not in part and "Parking:" not in part
        assert "Mit der S-Bahn" not in part


# --- the page of all offices ----------------------------------------------------------------------


def test_the_offices_page_lists_both_with_their_cards_and_the_footer_links_to_it(citizen, demo):
    start = citizen.get(reverse("appointments:start"))
    assert f'href="{reverse("appointments:locations")}"' in start.content.decode()
    response = citizen.get(reverse("appointments:locations"))
    assert response.status_code == 200
    assert_accessible_basics(response)
    html = response.content.decode()
    assert '<h2 id="office-frankenthal">Zulassungsstelle Frankenthal (Pfalz)</h2>' in html
    assert '<h2 id="office-schifferstadt">Zulassungsstelle Rhein-Pfalz-Kreis</h2>' in html
    content = text(response)
    assert "Standorte" in content
    assert "Heute geöffnet 08:00–12:00" in content and "Heute geöffnet 07:30–12:30, 13:30–16:00" in content
    assert "Kostenlose Parkplätze im Hof" in content and "Öffentliche Parkhäuser" in content
    english = text(citizen.get(reverse("appointments:locations"), HTTP_ACCEPT_LANGUAGE="en"))
    assert "Office locations" in english and "Free parking in the courtyard" in english


def test_an_inactive_office_is_not_listed(citizen, demo):
    Office.objects.filter(pk=demo.schifferstadt.pk).update(is_active=False)
    content = text(citizen.get(reverse("appointments:locations")))
    assert "Hammstraße 20" in content and "Bahnhofstraße 37" not in content


def test_the_confirmed_page_shows_the_card(citizen, demo):
    appointment, token = confirmed_booking(citizen)
    page = citizen.get(reverse("appointments:confirm", args=[appointment.reference]) + f"?token={token}")
    content = text(page)
    assert "Ihr Termin ist bestätigt" in content
    assert "Öffnungszeiten, Anfahrt und Barrierefreiheit" in content and "Mit der S-Bahn (S6)" in content
