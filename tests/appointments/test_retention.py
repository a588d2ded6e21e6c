"""The retention sweep erases every personal field (models.PERSONAL_FIELDS, the same list the
history leaves out), and a booking that never took place goes RETENTION_DAYS after it ended."""

import datetime as dt

import pytest

from appointments.domain.retention import erase_personal_data
from appointments.models import PERSONAL_FIELDS, Appointment, Status
from tests.conftest import berlin
from tests.factories import World

START = berlin(2026, 12, 1, 8, 0)


@pytest.fixture
def world(db):
    return World()


def with_personal_data(world, status, start=START) -> Appointment:
    counter = world.office_ft.counters.order_by("name").first()
    appointment = world.occupy(world.office_ft, counter, start, 15, status=status)
    Appointment.objects.filter(pk=appointment.pk).update(
        **{field: "kept@example.org" if field == "email" else "kept" for field in PERSONAL_FIELDS}
    )
    return appointment


def test_every_personal_field_is_erased_after_the_retention_period(world, settings):
    settings.RETENTION_DAYS = 7
    appointment = with_personal_data(world, Status.COMPLETED)
    assert erase_personal_data(now=START + dt.timedelta(days=8)) == 1
    erased = Appointment.objects.values(*PERSONAL_FIELDS).get(pk=appointment.pk)
    assert erased == dict.fromkeys(PERSONAL_FIELDS, "")


@pytest.mark.parametrize("status", [Status.CANCELLED, Status.EXPIRED])
def test_a_booking_that_never_took_place_is_erased_before_its_time(world, settings, status):
    """Cancelled or expired: erased RETENTION_DAYS after its last change, even if its time lies
    further ahead. A confirmed booking of the same time keeps its data."""
    settings.RETENTION_DAYS = 7
    gone = with_personal_data(world, status)
    kept = with_personal_data(world, Status.CONFIRMED, start=START + dt.timedelta(hours=1))
    now = Appointment.objects.get(pk=gone.pk).updated_at + dt.timedelta(days=8)
    for appointment in (gone, kept):
        ahead = now + dt.timedelta(days=30) + (appointment.start - START)
        Appointment.objects.filter(pk=appointment.pk).update(start=ahead, end=ahead + dt.timedelta(minutes=15))
    assert erase_personal_data(now=now) == 1
    assert Appointment.objects.get(pk=gone.pk).name == ""
    assert Appointment.objects.get(pk=kept.pk).name == "kept"
