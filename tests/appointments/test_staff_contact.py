"""A clerk's walk-in or phone booking checks the contact data with the citizens' rules
(booking.clean_contact): the e-mail address is optional, the name and the phone number are not."""

import pytest
from django.utils import translation

from appointments.domain import booking
from appointments.errors import PortalError
from tests.conftest import berlin
from tests.factories import World

NOW = berlin(2026, 11, 30, 7, 0)
START = berlin(2026, 12, 1, 8, 0)


@pytest.fixture
def world(db):
    return World()


def book_in_office(world, **contact):
    return booking.book_in_office(
        office=world.office_ft,
        start=START,
        services=[world.quick],
        vehicles=1,
        municipality=world.frankenthal_home,
        channel="phone",
        now=NOW,
        **contact,
    )


def test_a_phone_number_with_letters_is_refused_also_without_an_e_mail_address(world):
    with pytest.raises(PortalError) as error:
        book_in_office(world, name="Max Mustermann", phone="call me at 0621")
    assert error.value.code == "invalid"
    assert set(error.value.extra["errors"]) == {"phone"}


def test_a_missing_name_is_asked_for_as_the_citizens(world):
    """Every problem at once, each with its field; the clerk is asked for the citizen's name."""
    with translation.override("en"), pytest.raises(PortalError) as error:
        book_in_office(world, name=" ", email="not-an-address", phone="x" * 41)
    errors = error.value.extra["errors"]
    assert set(errors) == {"name", "email", "phone"}
    assert "citizen's name" in str(errors["name"][0])


def test_contact_data_is_stored_as_for_an_online_booking(world):
    appointment, token = book_in_office(world, name="  Max  Mustermann ", email=" Max@Example.org", phone=" 0621 1 ")
    assert (appointment.name, appointment.email, appointment.phone) == ("Max Mustermann", "max@example.org", "0621 1")
    assert token is not None
