"""The status rules of an appointment (appointments/models.py): when a hold has run out, when a
booking is expired, occupies its counter, or can still be cancelled or moved online. Each rule has a
method on the model and a queryset twin; both must give the same answer at every boundary."""

import datetime as dt

import pytest

from appointments.models import Appointment, Status
from tests.conftest import berlin
from tests.factories import World

NOW = berlin(2026, 11, 30, 7, 0)
START = berlin(2026, 12, 1, 8, 0)
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def world(db):
    return World()


def make(world, status, *, start=START, hold_expires_at=None):
    counter = world.office_ft.counters.order_by("name").first()
    return world.occupy(world.office_ft, counter, start, 15, status=status, hold_expires_at=hold_expires_at)


def in_database(queryset_method, appointment, now) -> bool:
    return getattr(Appointment.objects, queryset_method)(now).filter(pk=appointment.pk).exists()


@pytest.mark.parametrize("status", [Status.HELD, Status.UNCONFIRMED])
def test_a_hold_runs_out_at_its_expiry_not_a_moment_before(world, status):
    """At the expiry instant the hold has run out: the counter is free and the booking expired."""
    appointment = make(world, status, hold_expires_at=NOW)
    before = NOW - MINUTE
    assert not appointment.hold_expired(before) and appointment.occupies_counter(before)
    assert not appointment.is_expired(before)
    assert appointment.hold_expired(NOW) and not appointment.occupies_counter(NOW)
    assert appointment.is_expired(NOW)


@pytest.mark.parametrize("status", [Status.CONFIRMED, Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW])
def test_an_expiry_time_means_nothing_once_the_booking_is_confirmed(world, status):
    """A stale `hold_expires_at` on a confirmed (or later) booking never frees its counter."""
    appointment = make(world, status, hold_expires_at=NOW - MINUTE)
    assert not appointment.hold_expired(NOW) and not appointment.is_expired(NOW)
    assert appointment.occupies_counter(NOW)


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.EXPIRED])
def test_cancelled_and_expired_bookings_give_their_counter_back(world, status):
    appointment = make(world, status)
    assert not appointment.occupies_counter(NOW) and not appointment.is_changeable(NOW)
    assert appointment.is_expired(NOW) == (status == Status.EXPIRED)


def test_a_confirmed_booking_can_be_changed_until_it_begins(world):
    """At its start a booking can no longer be cancelled or moved online."""
    appointment = make(world, Status.CONFIRMED)
    assert appointment.is_changeable(START - MINUTE)
    assert not appointment.is_changeable(START)


def test_an_unconfirmed_booking_can_be_changed_only_while_it_can_be_confirmed(world):
    appointment = make(world, Status.UNCONFIRMED, hold_expires_at=NOW)
    assert appointment.is_changeable(NOW - MINUTE)
    assert not appointment.is_changeable(NOW)


@pytest.mark.parametrize("status", [Status.HELD, Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW])
def test_holds_and_appointments_under_way_are_not_changeable_online(world, status):
    """A hold has no manage link yet; a checked-in, completed or missed one is the clerks' matter."""
    appointment = make(world, status, hold_expires_at=NOW + dt.timedelta(hours=1))
    assert not appointment.is_changeable(NOW)


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize(
    "expires",
    [None, NOW - MINUTE, NOW, NOW + MINUTE],
    ids=["no expiry", "expired a minute ago", "expires now", "expires in a minute"],
)
@pytest.mark.parametrize("start", [NOW - MINUTE, NOW, START], ids=["begun", "begins now", "tomorrow"])
def test_the_database_answers_as_the_model_does(world, status, expires, start):
    """The schedule, the hoarding budget and the e-mail cap ask the database; the pages and the
    services ask the model: the same rule must come out."""
    appointment = make(world, status, start=start, hold_expires_at=expires)
    assert in_database("hold_expired", appointment, NOW) == appointment.hold_expired(NOW)
    assert in_database("occupying", appointment, NOW) == appointment.occupies_counter(NOW)
    assert in_database("changeable", appointment, NOW) == appointment.is_changeable(NOW)
