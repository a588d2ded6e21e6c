"""How a visit ended: the clerk records the outcome after check-in (completed, documents incomplete,
referred to another authority, aborted), can undo it on the day, books the follow-up appointment on
the spot after incomplete documents, and the reports count each outcome apart (page and CSV).
Driven through HTTP as the clerks of the demo data; the clock is Tuesday, 1 December 2026, 07:30.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from appointments.domain import clerk
from appointments.domain.reports import Period, settlement
from appointments.models import Appointment, Status, VisitOutcome
from tests.appointments.clerk_personas import NOW, text, walk_in
from tests.conftest import berlin

pytestmark = pytest.mark.clock_start(NOW)


def frankenthal_clerk():
    return get_user_model().objects.get(username="clerk-frankenthal")


@pytest.fixture
def arrived(desk):
    """Today 09:00 at Frankenthal, checked in."""
    appointment = walk_in(
        desk.demo, start=berlin(2026, 12, 1, 9, 0), email="erika@example.org", phone="06233 98765", vehicles=2
    )
    return clerk.check_in(appointment=appointment, user=frankenthal_clerk(), now=NOW)


def complete_url(appointment):
    return reverse("clerk:act", args=[appointment.reference, "complete"])


def test_a_checked_in_visit_offers_every_outcome(desk, arrived):
    page = text(desk.frankenthal_clerk.get(reverse("clerk:appointment", args=[arrived.reference])))
    assert "How did the visit end?" in page
    for label in (
        "Complete",
        "Documents incomplete – new appointment needed",
        "Referred to another authority",
        "Aborted",
    ):
        assert label in page


@pytest.mark.parametrize("outcome", VisitOutcome.values)
def test_the_clerk_records_the_outcome_with_event_and_history(desk, arrived, outcome):
    response = desk.frankenthal_clerk.post(complete_url(arrived), {"outcome": outcome})
    assert response.status_code == 302
    arrived.refresh_from_db()
    assert (arrived.status, arrived.outcome) == (Status.COMPLETED, outcome)
    event = arrived.events.latest("id")
    assert event.user == frankenthal_clerk()
    assert (event.from_status, event.to_status) == (Status.CHECKED_IN, Status.COMPLETED)
    assert event.note == str(VisitOutcome(outcome).label)
    history = Appointment.history.filter(id=arrived.pk).order_by("history_id").last()
    assert (history.status, history.outcome, history.history_user) == (Status.COMPLETED, outcome, frankenthal_clerk())


def test_without_a_choice_the_visit_is_completed_and_an_unknown_outcome_is_refused(desk, arrived):
    response = desk.frankenthal_clerk.post(complete_url(arrived), {"outcome": "bribed"})
    assert response.status_code == 400
    assert "Please choose an outcome from the list" in text(response)
    arrived.refresh_from_db()
    assert arrived.status == Status.CHECKED_IN
    desk.frankenthal_clerk.post(complete_url(arrived))
    arrived.refresh_from_db()
    assert arrived.outcome == VisitOutcome.COMPLETED


def test_the_other_offices_clerk_cannot_record_an_outcome(desk, arrived):
    response = desk.schifferstadt_clerk.post(complete_url(arrived), {"outcome": "aborted"})
    assert response.status_code == 403
    arrived.refresh_from_db()
    assert (arrived.status, arrived.outcome) == (Status.CHECKED_IN, "")


def test_undo_takes_the_outcome_back(desk, arrived):
    desk.frankenthal_clerk.post(complete_url(arrived), {"outcome": "referred"})
    response = desk.frankenthal_clerk.post(reverse("clerk:act", args=[arrived.reference, "undo"]))
    assert response.status_code == 302
    arrived.refresh_from_db()
    assert (arrived.status, arrived.outcome) == (Status.CHECKED_IN, "")
    desk.frankenthal_clerk.post(complete_url(arrived), {"outcome": "aborted"})
    arrived.refresh_from_db()
    assert arrived.outcome == VisitOutcome.ABORTED


def test_incomplete_documents_offer_the_follow_up_booking_pre_filled(desk, arrived):
    desk.frankenthal_clerk.post(complete_url(arrived), {"outcome": "documents_incomplete"})
    page = desk.frankenthal_clerk.get(reverse("clerk:appointment", args=[arrived.reference]))
    follow_up = reverse("clerk:follow_up", args=[arrived.reference])
    assert follow_up in page.content.decode()

    form = desk.frankenthal_clerk.get(follow_up)
    assert form.status_code == 200
    html = form.content.decode()
    assert 'value="Erika Mustermann"' in html
    assert 'value="erika@example.org"' in html
    assert 'value="2"' in html  # vehicles
    service_input = re.search(r'<input[^>]*value="umschreibung"[^>]*>', html).group(0)
    assert " checked" in service_input

    response = desk.frankenthal_clerk.post(
        follow_up,
        {
            "service": ["umschreibung"],
            "vehicles": 2,
            "municipality": arrived.municipality.slug,
            "day": "2026-12-03",
            "time": "10:00",
            "name": "Erika Mustermann",
            "email": "erika@example.org",
            "phone": "06233 98765",
            "channel": "counter",
            "language": "de",
        },
    )
    assert response.status_code == 302
    new = Appointment.objects.exclude(pk=arrived.pk).get(name="Erika Mustermann")
    assert new.start == berlin(2026, 12, 3, 10, 0)
    assert (new.status, new.vehicles, new.office) == (Status.CONFIRMED, 2, arrived.office)
    assert [i.service.slug for i in new.items.all()] == ["umschreibung"]
    assert new.notifications.filter(kind="confirmation").exists()
    assert new.reference in arrived.events.latest("id").note
    assert arrived.events.latest("id").user == frankenthal_clerk()


def test_only_incomplete_documents_lead_to_the_follow_up_page(desk, arrived):
    desk.frankenthal_clerk.post(complete_url(arrived), {"outcome": "completed"})
    follow_up = reverse("clerk:follow_up", args=[arrived.reference])
    assert desk.frankenthal_clerk.get(follow_up).status_code == 302
    desk.clock.now = NOW
    assert desk.schifferstadt_clerk.get(follow_up).status_code == 403


def test_the_reports_count_each_outcome_apart(desk):
    user = frankenthal_clerk()
    user.user_permissions.add(Permission.objects.get(codename="view_reports"))
    outcomes = ["completed", "completed", "documents_incomplete", "referred", "aborted", "aborted", "aborted"]
    for minute, outcome in enumerate(outcomes):
        appointment = walk_in(desk.demo, start=berlin(2026, 12, 1, 8, 0) + dt.timedelta(minutes=30 * minute))
        clerk.check_in(appointment=appointment, user=user, now=NOW)
        clerk.complete(appointment=appointment, user=user, now=NOW, outcome=outcome)

    page = desk.frankenthal_clerk.get(reverse("clerk:reports") + "?start=2026-12&end=2026-12")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Documents incomplete – new appointment needed" in html
    assert "Referred to another authority" in html

    response = desk.frankenthal_clerk.get(reverse("clerk:figures_csv") + "?start=2026-12&end=2026-12")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    header, data = rows[0], {row[0]: row for row in rows[1:]}
    row = dict(zip(header, data[desk.demo.frankenthal.name], strict=True))
    assert row["completed"] == "2"
    assert row["documents incomplete – new appointment needed"] == "1"
    assert row["referred to another authority"] == "1"
    assert row["aborted"] == "3"
    assert row["Booked"] == "7"

    # The settlement counts only the visits that performed a registration.
    _rows, totals = settlement(period=Period(first=dt.date(2026, 12, 1), last=dt.date(2026, 12, 1)))
    assert sum(t.appointments for t in totals) == 2
