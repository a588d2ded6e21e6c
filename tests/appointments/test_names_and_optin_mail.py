"""Names are names, and the double-opt-in mail carries nothing the requester typed.

The opt-in mail goes to whatever address a request names, before anyone has shown they own it; a
greeting with the name field would let anybody send official mail with their own text in it. So that
mail greets neutrally, and a name accepts letters of any script, spaces and the usual name
punctuation only: the same rule on the citizen's page, in the API and in the clerks' walk-in form.
Mails after confirmation may greet by name.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from appointments.domain import booking, names
from appointments.models import Appointment
from appointments.outbox import notifications
from tests.appointments import clerk_personas
from tests.appointments.clerk_personas import DAY
from tests.appointments.test_notifications import NOW, book, confirmed, html_of
from tests.appointments.test_pages import hold_earliest
from tests.conftest import berlin

pytestmark = pytest.mark.clock_start(clerk_personas.NOW)  # the workspace's clock: 07:30

ATTACK = "Max. ACHTUNG: Ihr Termin verfällt! Zahlung von 25 EUR an https://evil.example/pay"

GOOD_NAMES = [
    "Erika Mustermann",
    "Jean-Luc Picard",
    "O'Brien",
    "D’Angelo",
    "Dr. Müller-Lüdenscheidt",
    "Mustermann, Erika",
    "J.R.R. Tolkien",
    "Zoë Ænima",
    "Ñandú Ørsted",
    "Łukasz Żółć",
    "Αλέξανδρος Παπαδόπουλος",
    "Пётр Ильич Чайковский",
    "محمد عبد الله",
    "李小龍",
    "Nguyễn Văn A",
    "Zoe\u0308 Mu\u0308ller",  # combining diaeresis (NFD as some keyboards send it)
    "\u200bErika Mustermann\u00a0",  # invisible characters around it are trimmed
]

BAD_NAMES = [
    ATTACK,
    "Erika 2",
    "R2D2",
    "www.evil.example",
    "evil.example",
    "Max\u202eEvil",  # right-to-left override
    "Max\u200bMustermann",  # zero-width space inside
    "Max\u2066Evil\u2069",  # isolate controls
    "Max\nMustermann",
    "Max\tMustermann",
    "Max\x00Mustermann",
    "Max <b>",
    "Max & Moritz",
    "Max@example.org",
    "Max: zahlen Sie!",
    "Max/Moritz",
    "Max (Papa)",
    "-.,'",
    "\u0308Max",  # a mark with nothing to sit on
]


def test_the_name_rule_accepts_names_of_any_script():
    for name in GOOD_NAMES:
        assert names.clean_name(name), name


@pytest.mark.parametrize("name", BAD_NAMES)
def test_the_name_rule_refuses_digits_addresses_and_control_characters(name):
    with pytest.raises(ValidationError) as problem:
        names.clean_name(name)
    assert problem.value.code == "invalid"


@pytest.mark.parametrize("name", ["", "   ", "\u200b\u200e\ufeff", "\u00a0\u2060"])
def test_a_name_of_invisible_characters_is_no_name(name):
    with pytest.raises(ValidationError) as problem:
        names.clean_name(name)
    assert problem.value.code == "required"


def test_the_stored_name_is_trimmed_composed_and_single_spaced():
    assert names.clean_name("\u200b  Zoe\u0308   Mu\u0308ller \u00a0") == "Zoë Müller"
    with pytest.raises(ValidationError) as problem:
        names.clean_name("Ä" * 151)
    assert problem.value.code == "too_long"


# --- the opt-in mail ---------------------------------------------------------------------------------


def test_the_opt_in_mail_greets_neutrally_and_carries_no_request_text(demo, portal):
    """Not the name, not the phone number: only what the portal itself knows about the booking."""
    appointment = book(demo, name="Erika Mustermann", phone="0621 999 888")
    assert notifications.send_due(now=NOW) == 1
    [message] = mail.outbox
    for body in (message.body, html_of(message), message.subject):
        assert "Erika" not in body and "Mustermann" not in body
        assert "999" not in body
    assert message.body.startswith("Hello,") or message.body.startswith("Guten Tag,")
    assert appointment.reference in message.subject


def test_mails_after_confirmation_greet_by_name(demo, portal):
    _appointment, _token = confirmed(demo, name="Erika Mustermann")
    assert notifications.send_due(now=NOW + dt.timedelta(minutes=3)) == 1
    [message] = mail.outbox
    assert "Erika Mustermann" in message.body and "Erika Mustermann" in html_of(message)


def test_a_walk_in_with_an_e_mail_is_greeted_by_name(desk):
    """The clerk typed the address the caller gave; that booking is confirmed at once."""
    _appointment, _token = booking.book_in_office(
        office=desk.demo.frankenthal,
        start=berlin(2026, 12, 1, 9, 0),
        services=[desk.demo.umschreibung],
        vehicles=1,
        municipality=desk.demo.frankenthal_citizen_home,
        name="Max Mustermann",
        email="max@example.org",
        channel="phone",
        now=desk.clock.now,
    )
    notifications.send_due(now=desk.clock.now)
    assert any("Max Mustermann" in message.body for message in mail.outbox)


# --- the same rule on every path -------------------------------------------------------------------


def test_the_api_refuses_a_name_with_a_message_and_sends_no_mail(demo, clock, client):
    body = {
        "services": ["umschreibung"],
        "vehicles": 1,
        "municipality": "frankenthal-pfalz",
        "office": "frankenthal",
        "start": "2026-12-02T08:00:00+01:00",
        "name": ATTACK,
        "email": "victim@example.org",
        "privacy_consent": True,
    }
    response = client.post(
        "/api/v1/bookings", json.dumps(body), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["code"] == "invalid"
    assert any("only letters" in message for message in answer["errors"]["name"])
    assert not Appointment.objects.exists()
    notifications.send_due(now=NOW)
    assert mail.outbox == []


def test_the_page_refuses_a_name_in_german_and_keeps_the_hold(citizen):
    details = hold_earliest(citizen)
    response = citizen.post(
        details["Location"], {"name": "Erika\u202e Mustermann", "email": "erika@example.org", "privacy_consent": "on"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_name_error"' in html
    assert "nur Buchstaben" in html
    assert Appointment.objects.get().email == ""  # still only a hold: nothing submitted, no mail queued
    notifications.send_due(now=NOW)
    assert mail.outbox == []


@pytest.mark.parametrize("name", ["Kunde 4711", "Max\u202eEvil", "\u200b"])
def test_the_walk_in_form_applies_the_same_rule(desk, name):
    url = reverse("clerk:walk_in", args=["frankenthal", DAY.isoformat()])
    response = desk.frankenthal_clerk.post(
        url,
        {
            "service": ["umschreibung"],
            "vehicles": "1",
            "municipality": "frankenthal-pfalz",
            "time": "09:00",
            "name": name,
            "email": "max@example.org",
            "phone": "",
            "channel": "phone",
            "language": "de",
        },
    )
    assert response.status_code == 400
    assert 'id="id_name_error"' in response.content.decode()
    assert not Appointment.objects.exists()
