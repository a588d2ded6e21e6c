"""Moving a booking frees its old time like a cancellation does: online it comes back only after
CANCELLED_SLOT_DELAY_MINUTES (a seller cannot move a booking away for a waiting buyer), staff can
book it at once; moving to the booking's own time is refused. The clock stands at Tuesday,
1 December 2026, 07:00 in Berlin; every Frankenthal counter (three) is booked at Thursday 09:00."""

import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from appointments.domain import availability, booking
from appointments.errors import ErrorCode, PortalError
from appointments.models import Appointment, FreedTime, Notification, Status
from tests.conftest import berlin

START = berlin(2026, 12, 3, 9, 0)
ELSEWHERE = berlin(2026, 12, 3, 11, 0)


@pytest.fixture(autouse=True)
def delay_on(settings):
    cache.clear()
    settings.CANCELLED_SLOT_DELAY_MINUTES = 15
    yield
    cache.clear()


def book(demo, email, start=START, now=None):
    return booking.book(
        office=demo.frankenthal,
        start=start,
        services=[demo.umschreibung],
        vehicles=1,
        municipality=demo.frankenthal_citizen_home,
        name="Erika Mustermann",
        email=email,
        privacy_consent=True,
        now=now or berlin(2026, 12, 1, 7, 0),
    )


def token_of(appointment):
    return Notification.objects.filter(appointment=appointment).latest("id").payload["token"]


@pytest.fixture
def full_hour(demo, clock):
    """All three counters at 09:00 booked and confirmed; the first is the seller's."""
    taken = [book(demo, f"c{number}@example.org") for number in range(3)]
    for appointment in taken:
        booking.confirm_booking(appointment=appointment, token=token_of(appointment), now=clock.now)
    return taken


def offered(demo, now):
    request = availability.SlotRequest(
        services=(demo.umschreibung,),
        vehicles=1,
        municipality=demo.frankenthal_citizen_home,
        date_from=START.date(),
        date_to=START.date(),
        offices=(demo.frankenthal,),
    )
    return [slot.start for slot in availability.find_slots(request=request, now=now)]


def api_reschedule(appointment, token, start, office="frankenthal"):
    return Client().post(
        f"/api/v1/bookings/{appointment.reference}/reschedule",
        json.dumps({"token": token, "office": office, "start": start.isoformat()}),
        content_type="application/json",
    )


def test_a_time_moved_away_from_comes_back_online_only_after_the_delay(demo, clock, full_hour):
    seller = full_hour[0]
    assert api_reschedule(seller, token_of(seller), ELSEWHERE).status_code == 200
    seller.refresh_from_db()
    assert seller.start == ELSEWHERE

    clock.shift(dt.timedelta(minutes=1))
    assert START not in offered(demo, clock.now)
    with pytest.raises(PortalError) as error:
        book(demo, "buyer@example.org", now=clock.now)
    assert error.value.code == ErrorCode.SLOT_TAKEN
    api_buyer = Client().post(
        "/api/v1/bookings",
        json.dumps(
            {
                "services": ["umschreibung"],
                "vehicles": 1,
                "municipality": "frankenthal-pfalz",
                "office": "frankenthal",
                "start": START.isoformat(),
                "name": "Max Mustermann",
                "email": "buyer@example.org",
                "privacy_consent": True,
            }
        ),
        content_type="application/json",
    )
    assert api_buyer.status_code == 409 and api_buyer.json()["code"] == "slot_taken"

    clock.shift(dt.timedelta(minutes=15))
    assert START in offered(demo, clock.now)
    assert book(demo, "later@example.org", now=clock.now).start == START


def test_staff_can_book_a_time_moved_away_from_at_once(demo, clock, full_hour):
    seller = full_hour[0]
    booking.reschedule_booking(
        appointment=seller, token=token_of(seller), office=demo.frankenthal, start=ELSEWHERE, now=clock.now
    )
    appointment, _token = booking.book_in_office(
        office=demo.frankenthal,
        start=START,
        services=[demo.umschreibung],
        vehicles=1,
        municipality=demo.frankenthal_citizen_home,
        name="Walk-in",
        channel="phone",
        now=clock.now,
    )
    assert appointment.status == Status.CONFIRMED


def test_a_move_through_the_pages_delays_the_old_time_too(demo, clock, full_hour):
    seller = full_hour[0]
    response = Client().post(
        reverse("appointments:reschedule", args=[seller.reference]) + f"?token={token_of(seller)}",
        {
            "token": token_of(seller),
            "service": "umschreibung",
            "vehicles": "1",
            "municipality": "frankenthal-pfalz",
            "office": "frankenthal",
            "start": ELSEWHERE.isoformat(),
            "confirmed": "1",  # the "yes" of the page that asks before a move
        },
    )
    assert response.status_code == 302, response.content
    assert Appointment.objects.get(pk=seller.pk).start == ELSEWHERE
    assert START not in offered(demo, clock.now + dt.timedelta(minutes=5))
    assert FreedTime.objects.count() == 1


def test_moving_to_the_own_time_is_refused(demo, clock, full_hour):
    seller = full_hour[0]
    refused = api_reschedule(seller, token_of(seller), START)
    assert refused.status_code == 409
    assert refused.json()["code"] == "same_time"
    with pytest.raises(PortalError) as error:
        booking.reschedule_booking(
            appointment=seller, token=token_of(seller), office=demo.frankenthal, start=START, now=clock.now
        )
    assert error.value.code == ErrorCode.SAME_TIME
    assert not Notification.objects.filter(kind=Notification.Kind.RESCHEDULE).exists()
    assert not FreedTime.objects.exists()

    page = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        reverse("appointments:reschedule", args=[seller.reference]) + f"?token={token_of(seller)}",
        {
            "token": token_of(seller),
            "service": "umschreibung",
            "vehicles": "1",
            "municipality": "frankenthal-pfalz",
            "office": "frankenthal",
            "start": START.isoformat(),
        },
    )
    assert page.status_code == 400
    assert "already at this time" in page.content.decode()
    german = Client().post(
        reverse("appointments:reschedule", args=[seller.reference]) + f"?token={token_of(seller)}",
        {
            "token": token_of(seller),
            "service": "umschreibung",
            "vehicles": "1",
            "municipality": "frankenthal-pfalz",
            "office": "frankenthal",
            "start": START.isoformat(),
        },
    )
    assert "bereits zu dieser Zeit" in german.content.decode()


def test_the_sweep_forgets_freed_times_after_a_day(demo, clock, full_hour):
    seller = full_hour[0]
    api_reschedule(seller, token_of(seller), ELSEWHERE)
    booking.expire_stale(now=clock.now + dt.timedelta(hours=1))
    assert FreedTime.objects.count() == 1
    booking.expire_stale(now=clock.now + dt.timedelta(days=1, minutes=1))
    assert not FreedTime.objects.exists()
