"""The admin's appointment page follows the one name rule: an administrator correcting a citizen's
contact data cannot store a name that the citizen's form, the API or a clerk's booking would refuse."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from appointments.models import Appointment
from tests.factories import World

START = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def booking(db):
    world = World()
    appointment = world.occupy(world.office_ft, world.office_ft.counters.first(), START, 10)
    appointment.name = "Erika Mustermann"
    appointment.email = "erika@example.org"
    appointment.save()
    return appointment


@pytest.fixture
def superuser_browser(db):
    user = get_user_model().objects.create_superuser("anna-admin", "anna@rpk.example", "not-used")
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def change(client, appointment, name):
    url = f"/admin/appointments/appointment/{appointment.pk}/change/"
    data = {"name": name, "email": appointment.email, "phone": ""}
    for inline in ("items", "events", "notifications"):  # the page's inlines, unchanged
        data |= {f"{inline}-TOTAL_FORMS": "0", f"{inline}-INITIAL_FORMS": "0"}
    return client.post(url, data)


@pytest.mark.parametrize(
    "name",
    [
        "Max. ACHTUNG: Zahlung an https://example.org",  # a web address
        "Max 2000",  # digits
        "Erika \u202emannretsuM",  # a right-to-left override
        "\u200b \u200b",  # nothing but invisible characters
    ],
)
def test_a_name_the_citizen_form_refuses_is_refused_in_the_admin_too(superuser_browser, booking, name):
    response = change(superuser_browser, booking, name)

    assert response.status_code == 200  # the form again, with its error
    errors = response.context_data["adminform"].form.errors
    assert list(errors) == ["name"]
    assert Appointment.objects.get(pk=booking.pk).name == "Erika Mustermann"


def test_a_correct_name_is_saved_trimmed(superuser_browser, booking):
    response = change(superuser_browser, booking, "  Erika  Müller-Lüdenscheidt ")

    assert response.status_code == 302
    assert Appointment.objects.get(pk=booking.pk).name == "Erika Müller-Lüdenscheidt"


def test_an_erased_name_may_stay_empty(superuser_browser, booking):
    Appointment.objects.filter(pk=booking.pk).update(name="", email="")
    booking.refresh_from_db()

    response = change(superuser_browser, booking, "")

    assert response.status_code == 302
