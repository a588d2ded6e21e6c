"""A citizen phones to cancel or move: the clerk does it on the booking's page, through HTTP.

The booking is the Frankenthal citizen's, confirmed, with an e-mail address. Each action queues the
existing mail (cancellation, reschedule), writes an event with the clerk's name and a history row
naming the clerk; the Schifferstadt clerk is refused. The clock is Tuesday, 1 December 2026, 07:30.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from appointments.domain import clerk
from appointments.models import Appointment, AppointmentEvent, Notification, Status
from appointments.outbox import notifications
from tests.appointments.clerk_personas import NOW, text, walk_in
from tests.conftest import berlin

pytestmark = pytest.mark.clock_start(NOW)

EMAIL = "erika@example.org"


@pytest.fixture
def booked(desk):
    """Wednesday 10:00 at Frankenthal, booked by phone with an e-mail address (confirmed at once)."""
    return walk_in(desk.demo, start=berlin(2026, 12, 2, 10, 0), email=EMAIL, channel="phone")


def frankenthal_clerk():
    return get_user_model().objects.get(username="clerk-frankenthal")


def last_history(appointment):
    return Appointment.history.filter(id=appointment.pk).order_by("history_id").last()


def cancel_url(appointment):
    return reverse("clerk:cancel", args=[appointment.reference])


def move_url(appointment):
    return reverse("clerk:move", args=[appointment.reference])


def first_free(appointment, office):
    return next(s for s in clerk.free_times(appointment=appointment, now=NOW) if s.office == office)


# --- cancelling ------------------------------------------------------------------------------


def test_the_booking_page_offers_move_and_cancel_with_reasons(desk, booked):
    """A booking that has not begun shows the move link and the cancel form with its reasons."""
    page = text(desk.frankenthal_clerk.get(reverse("clerk:appointment", args=[booked.reference])))
    assert "Move to another time" in page
    assert "Cancel the booking" in page
    assert "at the applicant's request" in page
    assert "duplicate booking" in page


def test_a_clerk_cancels_for_the_citizen_who_gets_the_cancellation_mail_with_the_reason(desk, booked):
    response = desk.frankenthal_clerk.post(
        cancel_url(booked), {"reason": "requested", "cancel_note": "Rief um 7:25 an, Fahrzeug verkauft"}
    )
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.status == Status.CANCELLED

    mail = booked.notifications.get(kind=Notification.Kind.CANCELLATION)
    assert mail.state == Notification.State.PENDING
    assert mail.payload == {"reason": "requested"}
    # The pending reminders are dropped: the appointment is gone.
    assert not booked.notifications.filter(kind=Notification.Kind.REMINDER, state=Notification.State.PENDING)
    message = notifications.build_message(mail)
    body = message.body
    assert "Grund: auf Wunsch der antragstellenden Person" in body  # the citizen's language: German
    assert "Fahrzeug verkauft" not in body  # the clerk's note stays with the clerks

    event = booked.events.latest("id")
    assert event.user == frankenthal_clerk()
    assert (event.from_status, event.to_status) == (Status.CONFIRMED, Status.CANCELLED)
    assert "Fahrzeug verkauft" in event.note
    history = last_history(booked)
    assert history.status == Status.CANCELLED
    assert history.history_user == frankenthal_clerk()

    page = text(desk.frankenthal_clerk.get(reverse("clerk:appointment", args=[booked.reference])))
    assert "the citizen gets an e-mail" in page
    assert "Cancel the booking" not in page  # nothing left to cancel


def test_without_an_e_mail_address_no_mail_is_sent_and_the_clerk_is_told(desk):
    booked = walk_in(desk.demo, start=berlin(2026, 12, 2, 10, 0), channel="phone")
    response = desk.frankenthal_clerk.post(cancel_url(booked), {"reason": "duplicate"}, follow=True)
    assert "There is no e-mail address" in text(response)
    booked.refresh_from_db()
    assert booked.status == Status.CANCELLED
    assert (
        not booked.notifications.filter(kind=Notification.Kind.CANCELLATION)
        .exclude(state=Notification.State.DROPPED)
        .exclude(appointment__email="")
    )


def test_a_cancellation_needs_a_reason_from_the_list(desk, booked):
    for data in ({}, {"reason": "weil ich es sage"}):
        response = desk.frankenthal_clerk.post(cancel_url(booked), data)
        assert response.status_code == 400
        assert "Please choose a reason" in text(response)
    booked.refresh_from_db()
    assert booked.status == Status.CONFIRMED
    assert not booked.notifications.filter(kind=Notification.Kind.CANCELLATION).exists()


def test_the_other_offices_clerk_cannot_cancel_or_move(desk, booked):
    before = AppointmentEvent.objects.count()
    assert desk.schifferstadt_clerk.post(cancel_url(booked), {"reason": "requested"}).status_code == 403
    assert desk.schifferstadt_clerk.get(move_url(booked)).status_code == 403
    start = first_free(booked, desk.demo.frankenthal).start.isoformat()
    response = desk.schifferstadt_clerk.post(move_url(booked), {"office": "frankenthal", "start": start})
    assert response.status_code == 403
    assert desk.anonymous.post(cancel_url(booked), {"reason": "requested"}).status_code == 302  # to the login
    booked.refresh_from_db()
    assert booked.status == Status.CONFIRMED
    assert booked.start == berlin(2026, 12, 2, 10, 0)
    assert AppointmentEvent.objects.count() == before
    assert not booked.notifications.filter(kind__in=["cancellation", "reschedule"]).exists()


def test_the_actions_need_the_csrf_token(desk, booked):
    strict = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    strict.force_login(frankenthal_clerk())
    assert strict.post(cancel_url(booked), {"reason": "requested"}).status_code == 403
    booked.refresh_from_db()
    assert booked.status == Status.CONFIRMED


def test_a_booking_that_has_begun_cannot_be_cancelled_for_the_citizen(desk):
    today = walk_in(desk.demo, start=berlin(2026, 12, 1, 9, 0), email=EMAIL)
    desk.clock.now = berlin(2026, 12, 1, 9, 5)
    response = desk.frankenthal_clerk.post(cancel_url(today), {"reason": "requested"})
    assert response.status_code == 409
    assert "Only a booking that has not begun can be cancelled" in text(response)
    today.refresh_from_db()
    assert today.status == Status.CONFIRMED


# --- moving ----------------------------------------------------------------------------------


def test_the_move_page_lists_free_times_at_both_offices_by_day(desk, booked):
    response = desk.frankenthal_clerk.get(move_url(booked))
    assert response.status_code == 200
    page = text(response)
    assert "Days with free times" in page
    assert "Stadtverwaltung Frankenthal" in page or desk.demo.frankenthal.name in page
    wednesday = desk.frankenthal_clerk.get(move_url(booked) + "?day=2026-12-02")
    assert desk.demo.schifferstadt.name in text(wednesday)
    assert "partner office" in text(wednesday)


def test_a_clerk_moves_the_booking_and_the_citizen_gets_the_new_time_with_a_working_link(desk, booked):
    slot = first_free(booked, desk.demo.frankenthal)
    response = desk.frankenthal_clerk.post(move_url(booked), {"office": "frankenthal", "start": slot.start.isoformat()})
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.start == slot.start
    assert booked.status == Status.CONFIRMED

    mail = booked.notifications.get(kind=Notification.Kind.RESCHEDULE)
    assert mail.state == Notification.State.PENDING
    assert booked.token_matches(mail.payload["token"])  # the manage link in the mail works
    for reminder in booked.notifications.filter(kind="reminder", state="pending"):
        assert reminder.payload["token"] == mail.payload["token"]
        assert reminder.due_at < slot.start

    event = booked.events.latest("id")
    assert event.user == frankenthal_clerk()
    assert "Moved for the citizen" in event.note
    history = last_history(booked)
    assert history.start == slot.start
    assert history.history_user == frankenthal_clerk()


def test_a_clerk_moves_the_booking_to_the_partner_office(desk, booked):
    slot = first_free(booked, desk.demo.schifferstadt)
    response = desk.frankenthal_clerk.post(
        move_url(booked), {"office": "schifferstadt", "start": slot.start.isoformat()}, follow=True
    )
    assert response.status_code == 200
    assert desk.demo.schifferstadt.name in text(response)  # the message names the new office
    booked.refresh_from_db()
    assert (booked.office, booked.start) == (desk.demo.schifferstadt, slot.start)
    assert booked.notifications.filter(kind=Notification.Kind.RESCHEDULE, state="pending").exists()
    assert last_history(booked).office_id == desk.demo.schifferstadt.pk
    # Now the Schifferstadt clerk's booking.
    assert desk.schifferstadt_clerk.get(reverse("clerk:appointment", args=[booked.reference])).status_code == 200


def test_a_time_that_is_taken_leaves_the_booking_as_it_was(desk, booked):
    slot = first_free(booked, desk.demo.frankenthal)
    for _ in desk.demo.frankenthal.counters.filter(is_active=True):
        walk_in(desk.demo, start=slot.start)  # every counter at that time
    response = desk.frankenthal_clerk.post(move_url(booked), {"office": "frankenthal", "start": slot.start.isoformat()})
    assert response.status_code == 409
    assert "The booking stays as it was" in text(response)
    booked.refresh_from_db()
    assert booked.start == berlin(2026, 12, 2, 10, 0)
    assert not booked.notifications.filter(kind=Notification.Kind.RESCHEDULE).exists()


def test_an_unconfirmed_booking_keeps_its_confirmation_link_when_a_clerk_moves_it(desk):
    from appointments.domain import booking

    unconfirmed = booking.book(
        office=desk.demo.frankenthal,
        start=berlin(2026, 12, 2, 10, 0),
        services=[desk.demo.umschreibung],
        vehicles=1,
        municipality=desk.demo.frankenthal_citizen_home,
        name="Erika Mustermann",
        email=EMAIL,
        privacy_consent=True,
        now=NOW,
        channel="online",
    )
    token = unconfirmed.notifications.get(kind="opt_in").payload["token"]
    slot = first_free(unconfirmed, desk.demo.frankenthal)
    response = desk.frankenthal_clerk.post(
        move_url(unconfirmed), {"office": "frankenthal", "start": slot.start.isoformat()}
    )
    assert response.status_code == 302
    unconfirmed.refresh_from_db()
    assert unconfirmed.start == slot.start
    assert unconfirmed.token_matches(token)
    assert not unconfirmed.notifications.filter(kind=Notification.Kind.RESCHEDULE).exists()


# --- the citizen's own link ------------------------------------------------------------------


def manage_page(desk, appointment, token):
    url = reverse("appointments:manage", args=[appointment.reference])
    return desk.anonymous.get(url, {"token": token})


def test_the_citizens_link_still_opens_the_booking_after_a_clerk_cancelled_it(desk, booked):
    token = booked.notifications.get(kind=Notification.Kind.CONFIRMATION).payload["token"]
    assert manage_page(desk, booked, token).status_code == 200
    response = desk.frankenthal_clerk.post(cancel_url(booked), {"reason": "requested", "cancel_note": ""})
    assert response.status_code == 302
    booked.refresh_from_db()
    assert booked.status == Status.CANCELLED
    page = manage_page(desk, booked, token)
    assert page.status_code == 200 and booked.reference in text(page)


def test_a_move_that_fails_leaves_the_citizens_link_working(desk, booked):
    token = booked.notifications.get(kind=Notification.Kind.CONFIRMATION).payload["token"]
    slot = first_free(booked, desk.demo.frankenthal)
    for _ in desk.demo.frankenthal.counters.filter(is_active=True):
        walk_in(desk.demo, start=slot.start)
    response = desk.frankenthal_clerk.post(move_url(booked), {"office": "frankenthal", "start": slot.start.isoformat()})
    assert response.status_code == 409
    booked.refresh_from_db()
    assert booked.token_matches(token)
    assert manage_page(desk, booked, token).status_code == 200
