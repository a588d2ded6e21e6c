"""Which actions the clerks' schedule offers for an appointment (domain/clerk.py): check-in on its
day, completion after check-in, a no-show once the grace period after the start has passed."""

import datetime as dt

import pytest

from appointments.domain import clerk
from appointments.models import Status
from tests.conftest import berlin
from tests.factories import World

START = berlin(2026, 12, 1, 8, 0)


@pytest.fixture
def world(db):
    return World()


def make(world, status, counter_number=1):
    counter = world.office_ft.counters.get(name=f"Schalter {counter_number}")
    return world.occupy(world.office_ft, counter, START, 15, status=status)


def test_check_in_is_offered_on_the_day_of_the_appointment_only(world):
    appointment = make(world, Status.CONFIRMED)
    assert clerk.may_check_in(appointment, berlin(2026, 12, 1, 0, 0))
    assert clerk.may_check_in(appointment, berlin(2026, 12, 1, 23, 59))
    assert not clerk.may_check_in(appointment, berlin(2026, 11, 30, 23, 59))
    assert not clerk.may_check_in(appointment, berlin(2026, 12, 2, 0, 0))
    assert not clerk.may_check_in(make(world, Status.UNCONFIRMED, counter_number=2), START)


def test_a_no_show_is_offered_from_the_end_of_the_grace_period(world, settings):
    settings.NO_SHOW_GRACE_MINUTES = 15
    appointment = make(world, Status.CONFIRMED)
    assert not clerk.may_mark_no_show(appointment, START + dt.timedelta(minutes=14))
    assert clerk.may_mark_no_show(appointment, START + dt.timedelta(minutes=15))
    appointment.status = Status.CHECKED_IN
    assert not clerk.may_mark_no_show(appointment, START + dt.timedelta(hours=1))
    assert clerk.may_complete(appointment)
