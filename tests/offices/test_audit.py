"""The audit trail: every change to the configuration and every status change of an appointment is
recorded with who, when and what (django-simple-history), and the admin shows it. The history of an
appointment holds no personal data, so the retention sweep leaves nothing behind in it.

Personas: Anna, administrator (a superuser, in the admin), the Frankenthal clerk (staff area).
"""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from appointments.domain import clerk
from appointments.domain.retention import erase_personal_data
from appointments.models import PERSONAL_FIELDS, Appointment, Status
from offices.models import CooperationRule, OpeningHours, Service
from tests.admin_forms import page_form_data, row_index
from tests.appointments.clerk_personas import NOW, walk_in
from tests.conftest import berlin

pytestmark = pytest.mark.clock_start(NOW)


@pytest.fixture
def anna(db):
    user = get_user_model().objects.create_superuser(
        "anna-admin", "anna@rpk.example", "not-used", first_name="Anna", last_name="Admin"
    )
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    client.user = user
    return client


def text(response) -> str:
    html = response.content.decode().replace("&rarr;", "→").replace("&nbsp;", " ")
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_change_of_hours_in_the_admin_is_recorded_with_the_user(anna, demo):
    """Anna moves Frankenthal's Thursday afternoon from 14:00–18:00 to 14:00–19:00 on the office page."""
    office = demo.frankenthal
    url = reverse("admin:offices_office_change", args=[office.pk])
    data = page_form_data(anna.get(url))
    row = row_index(data, "opening_hours", weekday="3", opens="14:00:00")
    data[f"opening_hours-{row}-closes"] = "19:00"

    response = anna.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    hours = OpeningHours.objects.get(office=office, weekday=3, opens=dt.time(14))
    assert hours.closes == dt.time(19)
    record = hours.history.latest("history_date")
    assert record.history_type == "~"
    assert record.history_user == anna.user
    assert record.prev_record.closes == dt.time(18)

    # The office's "Changes" page says who changed what, and from which value to which.
    changes = text(anna.get(reverse("admin:offices_office_changes", args=[office.pk])))
    assert "Anna Admin (anna-admin)" in changes
    assert "Opening hours: Thursday 14:00–19:00 changed" in changes
    assert "Closes: 18:00 → 19:00" in changes
    # and so does the row's own history page
    history = text(anna.get(reverse("admin:offices_openinghours_history", args=[hours.pk])))
    assert "anna-admin" in history and "18:00" in history


def test_a_deleted_row_stays_in_the_trail(anna, demo):
    """A closure removed on the office page is still listed, as deleted, with who removed it."""
    office = demo.frankenthal
    office.closures.create(start_date=dt.date(2026, 12, 24), end_date=dt.date(2026, 12, 24), reason="Heiligabend")
    url = reverse("admin:offices_office_change", args=[office.pk])
    data = page_form_data(anna.get(url))
    data[f"closures-{row_index(data, 'closures', reason='Heiligabend')}-DELETE"] = "on"

    assert anna.post(url, data).status_code == 302

    assert not office.closures.exists()
    changes = text(anna.get(reverse("admin:offices_office_changes", args=[office.pk])))
    assert re.search(r"Anna Admin \(anna-admin\) Closure: Heiligabend \(24\.12\.2026–24\.12\.2026\) deleted", changes)


def test_changes_to_services_and_cooperation_rules_are_recorded(anna, demo):
    """Also the lists of a rule (its services) and its scope."""
    rule = CooperationRule.objects.get(office=demo.schifferstadt, administration=demo.ft)
    home_only = Service.objects.get(slug="ersatz-zulassungsbescheinigung")
    url = reverse("admin:offices_cooperationrule_change", args=[rule.pk])
    data = page_form_data(anna.get(url))
    data.update(scope="except", services=[str(home_only.pk)])

    assert anna.post(url, data).status_code == 302

    latest = rule.history.latest("history_date")
    assert latest.history_user == anna.user
    assert latest.scope == "except"
    assert [row.service_id for row in latest.services.all()] == [home_only.pk]
    page = text(anna.get(reverse("admin:offices_cooperationrule_history", args=[rule.pk])))
    assert "anna-admin" in page and "all services except the listed ones" in page


def test_a_status_change_in_the_staff_area_is_recorded_with_the_clerk(desk):
    """The clerk checks a citizen in and completes the appointment; the history names the clerk."""
    appointment = walk_in(desk.demo)
    clerk_user = get_user_model().objects.get(username="clerk-frankenthal")

    desk.frankenthal_clerk.post(reverse("clerk:act", args=[appointment.reference, "checkin"]))
    desk.clock.now = berlin(2026, 12, 1, 9, 20)
    desk.frankenthal_clerk.post(reverse("clerk:act", args=[appointment.reference, "complete"]))

    statuses = [
        (r.status, r.history_user)
        for r in Appointment.history.filter(id=appointment.pk).order_by("history_date", "history_id")
    ]
    assert statuses[-2:] == [(Status.CHECKED_IN, clerk_user), (Status.COMPLETED, clerk_user)]
    page = text(desk.admin.get(reverse("admin:appointments_appointment_history", args=[appointment.pk])))
    assert "clerk-frankenthal" in page and "checked in → completed" in page


def test_a_service_function_outside_a_request_records_its_user(demo):
    """A clerk action called without a request (a task, a shell) still names who did it."""
    appointment = walk_in(demo)
    clerk_user = get_user_model().objects.get(username="clerk-frankenthal")

    clerk.check_in(appointment=appointment, user=clerk_user, now=NOW)

    record = Appointment.history.filter(id=appointment.pk).latest("history_date")
    assert (record.status, record.history_user) == (Status.CHECKED_IN, clerk_user)


def test_the_history_of_an_appointment_holds_no_personal_data(demo):
    """Name, e-mail, phone, tokens and the clerks' note are not copied into the history, so that
    erasing them from the appointment erases them everywhere."""
    history_fields = {f.name for f in Appointment.history.model._meta.get_fields()}
    assert not history_fields & set(PERSONAL_FIELDS)

    appointment = walk_in(demo, name="Erika Mustermann", email="erika@example.org")
    clerk.set_note(
        appointment=appointment,
        user=get_user_model().objects.get(username="clerk-frankenthal"),
        note="Bringt Vollmacht von Max Mustermann mit",
        now=NOW,
    )
    erase_personal_data(now=berlin(2027, 1, 15))

    appointment.refresh_from_db()
    assert (appointment.name, appointment.email, appointment.note) == ("", "", "")
    for record in Appointment.history.filter(id=appointment.pk).values():
        assert "Mustermann" not in repr(record) and "erika@" not in repr(record)
