"""E-mails about a booking: the outbox row becomes a message with the citizen's wall-clock time, the
office's address, working links and a calendar file; a failed send is retried, a sent one never
repeated, and a message is not sent before it is due."""

import datetime as dt
import re
import smtplib
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from appointments.domain import booking
from appointments.errors import ErrorCode
from appointments.models import Notification, Status
from appointments.outbox import notifications
from tests.conftest import berlin

# A Tuesday morning in winter; the appointment is on Thursday at the Frankenthal office.
NOW = berlin(2026, 12, 1, 7, 10)
START = berlin(2026, 12, 3, 8, 0)
CITIZEN = {"name": "Erika Mustermann", "email": "erika@example.org", "privacy_consent": True}
URL = re.compile(r"https?://[^\s\"<>]+")
# The footer names both administrations as senders (its German wording comes with locale/de).
BOTH_ADMINISTRATIONS = (
    "Kreisverwaltung Rhein-Pfalz-Kreis and Stadtverwaltung Frankenthal (Pfalz)"
    " — joint vehicle registration (IKZ Vorderpfalz)"
)


def book(demo, *, start=START, now=NOW, office=None, services=None, **overrides):
    return booking.book(
        office=office or demo.frankenthal,
        start=start,
        services=services or [demo.umschreibung],
        vehicles=1,
        municipality=demo.frankenthal_citizen_home,
        now=now,
        **{**CITIZEN, **overrides},
    )


def html_of(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def link(message, name: str, appointment) -> str:
    """The one link in the plain-text body to the page `appointments:<name>` of this booking."""
    page = settings.PORTAL_BASE_URL + reverse(f"appointments:{name}", args=[appointment.reference])
    urls = {url for url in URL.findall(message.body) if url.split("?")[0] == page}
    assert len(urls) == 1, f"expected one link to {page} in:\n{message.body}"
    return urls.pop()


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def calendar_file(message, method="PUBLISH") -> str:
    """The attached termin.ics, after checking that mail programs will recognise it as a calendar entry."""
    [(filename, content, _mimetype)] = message.attachments
    assert filename == "termin.ics"
    [part] = [part for part in message.message().walk() if part.get_content_type() == "text/calendar"]
    assert part.get_param("method") == method
    assert [name for name, _value in part.get_params()].count("charset") == 1
    return content.decode() if isinstance(content, bytes) else content


def confirmed(demo, **kwargs):
    """A booking whose opt-in mail was sent and whose confirm link was used. The confirmation
    mail is queued but not sent yet; `mail.outbox` starts empty."""
    appointment = book(demo, **kwargs)
    now = kwargs.get("now", NOW)
    assert notifications.send_due(now=now) == 1
    token = token_of(link(mail.outbox[-1], "confirm", appointment))
    booking.confirm_booking(appointment=appointment, token=token, now=now + dt.timedelta(minutes=3))
    mail.outbox.clear()
    return appointment, token


# --- double opt-in ----------------------------------------------------------------------------


def test_opt_in_mail_has_a_confirm_link_that_confirms_the_booking(demo, portal):
    """The citizen gets one mail with the time, the office address and a link whose token confirms."""
    appointment = book(demo)

    assert notifications.send_due(now=NOW) == 1

    [message] = mail.outbox
    assert message.to == ["erika@example.org"]
    assert appointment.reference in message.subject
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    confirm_url = link(message, "confirm", appointment)
    assert confirm_url.startswith("https://termine.example/")
    assert appointment.reference in confirm_url
    assert confirm_url in html_of(message)
    for body in (message.body, html_of(message)):
        assert "Donnerstag, 3. Dezember 2026" in body
        assert "08:00" in body
        assert "08:10" in body  # confirm by: one hour after booking
        assert "Zulassungsstelle Frankenthal (Pfalz)" in body
        assert "Hammstraße 20" in body
        assert "67227 Frankenthal (Pfalz)" in body
        assert "Umschreibung / Halterwechsel" in body
    assert message.attachments == []

    booking.confirm_booking(appointment=appointment, token=token_of(confirm_url), now=NOW + dt.timedelta(minutes=5))
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED


def test_a_wrong_token_in_the_link_confirms_nothing(demo, portal):
    """Control for the test above: the token from the mail is what confirms, not any token."""
    appointment = book(demo)
    notifications.send_due(now=NOW)
    token = token_of(link(mail.outbox[0], "confirm", appointment))

    with pytest.raises(booking.BookingError) as error:
        booking.confirm_booking(appointment=appointment, token=token[:-1] + "x", now=NOW)
    assert error.value.code == ErrorCode.BAD_TOKEN
    appointment.refresh_from_db()
    assert appointment.status == Status.UNCONFIRMED


def test_an_english_booking_gets_an_english_mail(demo, portal):
    """Language of the booking, not of the server: English words, English service and document names."""
    appointment = book(demo, language="en")
    notifications.send_due(now=NOW)

    [message] = mail.outbox
    assert message.subject == f"Please confirm your appointment {appointment.reference}"
    for body in (message.body, html_of(message)):
        assert "Thursday, 3 December 2026" in body
        assert "Change of keeper" in body
        assert "Umschreibung" not in body
        assert "Donnerstag" not in body
    assert '<html lang="en">' in html_of(message)


def test_a_german_booking_gets_german_dates_and_names(demo, portal):
    book(demo, language="de")
    notifications.send_due(now=NOW)

    [message] = mail.outbox
    assert '<html lang="de">' in html_of(message)
    assert "Dezember" in message.body and "December" not in message.body
    assert "Umschreibung / Halterwechsel" in message.body and "Change of keeper" not in message.body


# --- confirmation, cancellation, reschedule -----------------------------------------------------


def test_confirmation_mail_has_manage_link_checklist_and_calendar_file(demo, portal):
    appointment, token = confirmed(demo)

    assert notifications.send_due(now=NOW + dt.timedelta(minutes=3)) == 1

    [message] = mail.outbox
    assert appointment.reference in message.subject
    manage_url = link(message, "manage", appointment)
    assert appointment.reference in manage_url
    assert token_of(manage_url) == token
    assert manage_url in html_of(message)
    for body in (message.body, html_of(message)):
        assert "08:00" in body
        assert "Hammstraße 20" in body
        assert "termin.ics" in body
        # The Umschreibung checklist, in German for a German booking.
        assert "Zulassungsbescheinigung Teil I (Fahrzeugschein)" in body
        assert "Zulassungsbescheinigung Teil II (Fahrzeugbrief)" in body
        assert "eVB-Nummer" in body
    ics = calendar_file(message)
    assert "METHOD:PUBLISH" in ics
    assert "DTSTART;TZID=Europe/Berlin:20261203T080000" in ics
    assert "DTEND;TZID=Europe/Berlin:20261203T081500" in ics
    assert "BEGIN:VTIMEZONE" in ics and "TZID:Europe/Berlin" in ics
    assert f"UID:{appointment.reference}@termine.example" in ics


def test_cancellation_mail_carries_a_cancelling_calendar_entry(demo, portal):
    appointment, token = confirmed(demo)
    notifications.send_due(now=NOW + dt.timedelta(minutes=3))
    mail.outbox.clear()

    booking.cancel_booking(appointment=appointment, token=token, now=NOW + dt.timedelta(hours=1))
    assert notifications.send_due(now=NOW + dt.timedelta(hours=1)) == 1

    [message] = mail.outbox
    assert appointment.reference in message.subject
    for body in (message.body, html_of(message)):
        assert appointment.reference in body
        assert "Donnerstag, 3. Dezember 2026" in body
        assert "08:00" in body
        assert "Zulassungsstelle Frankenthal (Pfalz)" in body
        assert "token=" not in body  # a cancelled booking has nothing left to manage
    ics = calendar_file(message, method="CANCEL")
    assert "METHOD:CANCEL" in ics
    assert "STATUS:CANCELLED" in ics
    assert f"UID:{appointment.reference}@termine.example" in ics
    assert "DTSTART;TZID=Europe/Berlin:20261203T080000" in ics


def test_reschedule_mail_shows_the_new_time_and_office(demo, portal):
    """Moved to Schifferstadt on Friday 09:00 (a Frankenthal citizen may go there by the cooperation)."""
    appointment, token = confirmed(demo)
    booking.reschedule_booking(
        appointment=appointment,
        token=token,
        office=demo.schifferstadt,
        start=berlin(2026, 12, 4, 9, 0),
        now=NOW + dt.timedelta(minutes=10),
    )
    assert notifications.send_due(now=NOW + dt.timedelta(minutes=10)) == 2  # confirmation, then the move

    message = mail.outbox[-1]
    assert appointment.reference in message.subject and "04.12.2026, 09:00" in message.subject
    assert token_of(link(message, "manage", appointment)) == token
    for body in (message.body, html_of(message)):
        assert "Freitag, 4. Dezember 2026" in body
        assert "09:00" in body
        assert "Bahnhofstraße 37" in body and "67105 Schifferstadt" in body
        assert "Zulassungsbescheinigung Teil I (Fahrzeugschein)" in body
    ics = calendar_file(message)
    assert "DTSTART;TZID=Europe/Berlin:20261204T090000" in ics
    assert "Bahnhofstraße 37" in ics


# --- the outbox -------------------------------------------------------------------------------


def test_sent_row_is_marked_and_its_token_erased_and_never_sent_again(demo, portal):
    appointment = book(demo)
    row = Notification.objects.get(appointment=appointment)
    assert row.payload["token"]  # the secret waits in the outbox until the mail is out

    assert notifications.send_due(now=NOW) == 1
    row.refresh_from_db()
    assert row.state == Notification.State.SENT
    assert row.sent_at is not None
    assert row.attempts == 1
    assert row.payload == {}

    assert notifications.send_due(now=NOW + dt.timedelta(minutes=10)) == 0
    assert len(mail.outbox) == 1


def test_a_mail_server_outage_delays_the_mail_and_loses_nothing(demo, portal, monkeypatch):
    appointment = book(demo)

    def disconnected(self, fail_silently=False):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")

    monkeypatch.setattr(EmailMultiAlternatives, "send", disconnected)
    assert notifications.send_due(now=NOW) == 0
    row = Notification.objects.get(appointment=appointment)
    assert row.state == Notification.State.PENDING
    assert row.attempts == 1
    assert "SMTPServerDisconnected" in row.last_error
    assert "@" not in row.last_error  # no personal data kept with the error
    assert row.payload["token"]  # still there, or the citizen could never confirm
    assert mail.outbox == []

    monkeypatch.undo()
    assert NOW < row.due_at <= NOW + dt.timedelta(minutes=1), "retried after a back-off, not at once"
    assert notifications.send_due(now=NOW + dt.timedelta(minutes=2)) == 1
    row.refresh_from_db()
    assert row.state == Notification.State.SENT
    assert row.attempts == 2
    assert row.payload == {}
    [message] = mail.outbox
    token = token_of(link(message, "confirm", appointment))
    booking.confirm_booking(appointment=appointment, token=token, now=NOW + dt.timedelta(minutes=3))
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED


def test_the_reminder_goes_out_a_day_before_not_with_the_confirmation(demo, portal):
    """Confirming queues a reminder 24 hours ahead; it is not sent a second earlier, and it carries
    the time, the checklist and the manage link."""
    appointment, token = confirmed(demo)
    notifications.send_due(now=NOW + dt.timedelta(minutes=3))
    mail.outbox.clear()
    due = berlin(2026, 12, 2, 8, 0)
    assert Notification.objects.get(appointment=appointment, kind=Notification.Kind.REMINDER).due_at == due

    assert notifications.send_due(now=due - dt.timedelta(seconds=1)) == 0
    assert mail.outbox == []

    assert notifications.send_due(now=due) == 1
    [message] = mail.outbox
    assert appointment.reference in message.subject and "03.12.2026, 08:00" in message.subject
    assert "Donnerstag, 3. Dezember 2026" in message.body and "08:00" in message.body
    assert "Zulassungsbescheinigung Teil I (Fahrzeugschein)" in message.body
    assert token_of(link(message, "manage", appointment)) == token


def test_a_reminder_without_a_secret_has_no_manage_link(demo, portal):
    appointment, _token = confirmed(demo)
    Notification.objects.filter(kind=Notification.Kind.REMINDER).delete()
    notifications.send_due(now=NOW + dt.timedelta(minutes=3))
    mail.outbox.clear()
    due = berlin(2026, 12, 2, 9, 0)
    notifications.queue(appointment, Notification.Kind.REMINDER, due_at=due)
    assert notifications.send_due(now=due) == 1
    assert "token=" not in mail.outbox[0].body


def test_reminders_are_dropped_for_cancelled_and_started_appointments(demo, portal):
    """A cancelled booking gets no reminder; nor does one whose start has passed by the time the
    worker gets to it (say, after an outage)."""
    appointment, token = confirmed(demo)
    booking.cancel_booking(appointment=appointment, token=token, now=NOW + dt.timedelta(minutes=5))
    assert not Notification.objects.filter(kind=Notification.Kind.REMINDER, state=Notification.State.PENDING).exists()

    other, _ = confirmed(demo)
    reminder = Notification.objects.get(appointment=other, kind=Notification.Kind.REMINDER)
    notifications.send_due(now=NOW + dt.timedelta(minutes=6))
    mail.outbox.clear()
    assert notifications.send_due(now=other.start + dt.timedelta(minutes=1)) == 0
    reminder.refresh_from_db()
    assert reminder.state == Notification.State.DROPPED and mail.outbox == []


def test_rescheduling_moves_the_reminder(demo, portal):
    appointment, token = confirmed(demo)
    new_start = berlin(2026, 12, 4, 9, 0)
    booking.reschedule_booking(appointment=appointment, token=token, office=demo.frankenthal, start=new_start, now=NOW)
    pending = Notification.objects.filter(
        appointment=appointment, kind=Notification.Kind.REMINDER, state=Notification.State.PENDING
    )
    assert [r.due_at for r in pending] == [new_start - dt.timedelta(hours=24)]


def test_after_the_last_attempt_the_row_is_failed_and_can_be_requeued(
    demo, portal, monkeypatch, settings, admin_client
):
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    appointment = book(demo)

    def refused(self, fail_silently=False):
        raise smtplib.SMTPRecipientsRefused({})

    monkeypatch.setattr(EmailMultiAlternatives, "send", refused)
    when = NOW
    for _attempt in range(3):
        notifications.send_due(now=when)
        when += dt.timedelta(minutes=5)  # past the back-off, within the hour to confirm
    row = Notification.objects.get(appointment=appointment)
    assert row.state == Notification.State.FAILED and row.attempts == 3
    assert notifications.send_due(now=when) == 0

    listing = admin_client.get("/admin/appointments/notification/?state__exact=failed")
    assert appointment.reference in listing.content.decode()
    admin_client.post("/admin/appointments/notification/", {"action": "requeue", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.state == Notification.State.PENDING and row.attempts == 0
    monkeypatch.undo()
    assert notifications.send_due(now=when) == 1


def test_a_reminder_with_its_secret_has_the_manage_link(demo, portal):
    appointment, token = confirmed(demo)
    notifications.send_due(now=NOW + dt.timedelta(minutes=3))  # the confirmation
    mail.outbox.clear()
    notifications.queue(appointment, Notification.Kind.REMINDER, due_at=NOW + dt.timedelta(hours=1), token=token)

    assert notifications.send_due(now=NOW + dt.timedelta(hours=1)) == 1
    [reminder] = mail.outbox
    assert token_of(link(reminder, "manage", appointment)) == token
    assert reminder.attachments == []


# --- wall-clock time across daylight saving ----------------------------------------------------


@pytest.mark.parametrize(
    "now, start, wrong, dtstart",
    [
        # Winter: 08:00 CET is 07:00 UTC.
        (NOW, START, ("07:00",), "20261203T080000"),
        # Booked in winter time for a day in summer time (the clocks go forward on 28.03.2027):
        # 08:00 CEST is 06:00 UTC and 07:00 in the winter offset of the booking day.
        (berlin(2027, 3, 15, 7, 10), berlin(2027, 3, 30, 8, 0), ("06:00", "07:00"), "20270330T080000"),
    ],
    ids=["winter", "summer"],
)
def test_mails_show_berlin_wall_clock_time(demo, portal, now, start, wrong, dtstart):
    confirmed(demo, now=now, start=start)
    notifications.send_due(now=now + dt.timedelta(minutes=3))

    [message] = mail.outbox
    for text in (message.subject, message.body, html_of(message)):
        assert "08:00" in text
        for time in wrong:
            assert time not in text
    assert f"DTSTART;TZID=Europe/Berlin:{dtstart}" in calendar_file(message)


def test_berlin_time_even_when_the_sender_runs_in_another_time_zone(demo, portal):
    """A worker or request that activated UTC must not move the appointment to 07:00."""
    confirmed(demo)
    with timezone.override("UTC"):
        notifications.send_due(now=NOW + dt.timedelta(minutes=3))

    [message] = mail.outbox
    for text in (message.subject, message.body, html_of(message)):
        assert "08:00" in text and "07:00" not in text


# --- every kind, both languages -----------------------------------------------------------------

KINDS = [kind for kind, _label in Notification.Kind.choices]


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_with_reference_senders_and_no_remote_content(demo, portal, kind, language):
    appointment = book(demo, language=language, name="Anna-Lena O'Neill")
    # A name stored before the name rule (or edited in the admin) must still come out escaped.
    appointment.name = "Anna-Lena O'Neill <Test>"
    if kind != Notification.Kind.OPT_IN:
        appointment.confirmed_at = NOW
    token = booking.new_token()
    message = notifications.build_message(
        Notification(appointment=appointment, kind=kind, due_at=NOW, payload={"token": token})
    )
    html = html_of(message)

    assert appointment.reference in message.subject
    assert "\n" not in message.subject and len(message.subject) <= 78
    with translation.override(language):
        footer = [
            gettext(BOTH_ADMINISTRATIONS),
            gettext("You can reply to this e-mail: your answer reaches the %(name)s.")
            % {"name": appointment.office.name},
        ]
    for body in (message.body, html):
        for line in footer:
            assert line in body
        assert "Kreisverwaltung Rhein-Pfalz-Kreis" in body and "Stadtverwaltung Frankenthal (Pfalz)" in body
        assert "08:00" in body
    if kind == Notification.Kind.OPT_IN:
        # Sent before anyone has shown they own the address: nothing the requester typed.
        assert "Anna-Lena" not in message.body and "Anna-Lena" not in html
    else:
        # The name is the citizen's input: verbatim in plain text, escaped in HTML.
        assert "Anna-Lena O'Neill <Test>" in message.body and "&#x27;" not in message.body
        assert "O&#x27;Neill &lt;Test&gt;" in html and "<Test>" not in html
    # No remote images, fonts or styles: the only addresses are the portal's own links. An image
    # travels inside the message itself (cid:), like the confirmation's check-in QR code.
    assert all(src.startswith("cid:") for src in re.findall(r'<img src="([^"]*)"', html))
    assert not re.search(r"<link|<script|@import|url\(", html, re.IGNORECASE)
    assert not re.search(r"src=", re.sub(r'<img src="cid:[^"]*"', "<img", html), re.IGNORECASE)
    for address in re.findall(r'href="([^"]+)"', html):
        assert address.startswith((settings.PORTAL_BASE_URL + "/", "mailto:"))


def test_sender_names_both_administrations_and_replies_go_to_the_office(demo, portal):
    """The From line names both partners; a reply reaches the office that performs the appointment."""
    demo.frankenthal.email = "kfz-zulassung@frankenthal.example"
    demo.frankenthal.save()
    book(demo)
    notifications.send_due(now=NOW)
    [message] = mail.outbox
    assert "Rhein-Pfalz-Kreis" in message.from_email and "Frankenthal" in message.from_email
    assert message.reply_to == ["kfz-zulassung@frankenthal.example"]
