"""Defences against hoarding and bots: rate limits, the cap per address, the honeypot, the delay
before a cancelled time comes back, and the counts administrators see."""

import datetime as dt
import os

import pytest
from django.core.cache import cache
from django.test import Client

from appointments.domain import availability, booking
from appointments.errors import ErrorCode, PortalError
from appointments.models import Appointment, BlockedAttempt, Notification, Status
from appointments.security.limits import RateLimited, check_rate
from tests.conftest import berlin

NOW = berlin(2026, 12, 1, 7, 0)
START = berlin(2026, 12, 3, 9, 0)


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def book(demo, email="erika@example.org", start=START, now=NOW):
    return booking.book(
        office=demo.frankenthal,
        start=start,
        services=[demo.umschreibung],
        vehicles=1,
        municipality=demo.frankenthal_citizen_home,
        name="Erika Mustermann",
        email=email,
        privacy_consent=True,
        now=now,
    )


def api_booking(client, demo, email, start=START):
    return client.post(
        "/api/v1/bookings",
        {
            "services": ["umschreibung"],
            "vehicles": 1,
            "municipality": "frankenthal-pfalz",
            "office": "frankenthal",
            "start": start.isoformat(),
            "name": "Erika Mustermann",
            "email": email,
            "privacy_consent": True,
        },
        content_type="application/json",
    )


def test_an_address_holds_at_most_two_upcoming_bookings(demo, settings):
    """The third booking for one e-mail address is refused until one is cancelled; case does not help."""
    settings.MAX_ACTIVE_BOOKINGS_PER_EMAIL = 2
    book(demo)
    book(demo, start=START + dt.timedelta(minutes=15))
    with pytest.raises(PortalError) as error:
        book(demo, email="Erika@Example.org", start=START + dt.timedelta(minutes=30))
    assert error.value.code == ErrorCode.TOO_MANY_BOOKINGS
    assert Appointment.objects.count() == 2
    book(demo, email="someone.else@example.org", start=START + dt.timedelta(minutes=30))


def test_api_answers_429_with_retry_after_per_address(client, demo, settings, clock):
    settings.RATE_LIMIT_EMAIL = "2/h"
    assert api_booking(client, demo, "erika@example.org").status_code == 201
    assert api_booking(client, demo, "erika@example.org", START + dt.timedelta(minutes=15)).status_code == 201
    refused = api_booking(client, demo, "erika@example.org", START + dt.timedelta(minutes=30))
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    # The sliding window: until the attempts of this window have slid far enough out of the period.
    assert 0 < int(refused["Retry-After"]) <= 2 * 3600
    assert Appointment.objects.count() == 2
    assert BlockedAttempt.objects.get(reason="rate_limit_email").count == 1


def test_holds_per_client_address_answer_a_friendly_429_page(demo, settings, clock):
    settings.RATE_LIMIT_HOLD = "2/h"
    citizen = Client()
    data = {"service": "umschreibung", "vehicles": "1", "municipality": "frankenthal-pfalz", "office": "frankenthal"}
    for minutes in (0, 15):
        response = citizen.post(
            "/termin/reservieren/", {**data, "start": (START + dt.timedelta(minutes=minutes)).isoformat()}
        )
        assert response.status_code == 302
    response = citizen.post("/termin/reservieren/", {**data, "start": (START + dt.timedelta(minutes=30)).isoformat()})
    assert response.status_code == 429
    assert "Retry-After" in response
    assert "<h1" in response.content.decode()
    assert Appointment.objects.count() == 2


def test_the_honeypot_turns_a_bot_away(demo, clock):
    citizen = Client()
    data = {
        "service": "umschreibung",
        "vehicles": "1",
        "municipality": "frankenthal-pfalz",
        "office": "frankenthal",
        "start": START.isoformat(),
    }
    details = citizen.post("/termin/reservieren/", data)["Location"]
    response = citizen.post(
        details, {"name": "Bot", "email": "bot@example.org", "privacy_consent": "on", "website": "http://spam.example"}
    )
    assert response.status_code == 400
    assert Appointment.objects.get().status == Status.HELD
    assert not Notification.objects.exists()
    assert BlockedAttempt.objects.get(reason="honeypot").count == 1


def test_a_cancelled_time_comes_back_online_only_after_the_delay(demo, settings):
    """Bots watching for cancellations gain nothing: the time returns after the delay; staff can
    rebook it at once."""
    settings.CANCELLED_SLOT_DELAY_MINUTES = 15
    taken = [book(demo, email=f"c{i}@example.org") for i in range(3)]  # all three Frankenthal counters
    token = Notification.objects.filter(appointment=taken[0]).latest("id").payload["token"]
    booking.confirm_booking(appointment=taken[0], token=token, now=NOW)
    booking.cancel_booking(appointment=taken[0], token=token, now=NOW)
    request = availability.SlotRequest(
        services=(demo.umschreibung,),
        vehicles=1,
        municipality=demo.frankenthal_citizen_home,
        date_from=START.date(),
        date_to=START.date(),
        offices=(demo.frankenthal,),
    )
    assert START not in [s.start for s in availability.find_slots(request=request, now=NOW + dt.timedelta(minutes=5))]
    with pytest.raises(PortalError) as error:
        book(demo, email="watcher@example.org", now=NOW + dt.timedelta(minutes=5))
    assert error.value.code == ErrorCode.SLOT_TAKEN
    assert START in [s.start for s in availability.find_slots(request=request, now=NOW + dt.timedelta(minutes=16))]
    appointment, _ = booking.book_in_office(
        office=demo.frankenthal,
        start=START,
        services=[demo.umschreibung],
        vehicles=1,
        municipality=demo.frankenthal_citizen_home,
        name="Walk-in",
        channel="phone",
        now=NOW + dt.timedelta(minutes=5),
    )
    assert appointment.status == Status.CONFIRMED


def test_blocked_attempts_are_listed_for_administrators(admin_client, db):
    BlockedAttempt.objects.create(day=dt.date(2026, 12, 1), reason="honeypot", count=3)
    response = admin_client.get("/admin/appointments/blockedattempt/")
    assert response.status_code == 200
    assert "honeypot" in response.content.decode()


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs a Redis server: set TEST_REDIS_URL")
def test_limits_count_in_a_real_redis_and_expire_with_their_window(db, settings):
    """On Redis (one pipeline per check): the third attempt of a 2/h limit is refused with the
    seconds to wait, other keys are counted apart, and the count expires once it cannot serve as
    the previous window of the sliding window any more (two periods)."""
    import redis

    url = os.environ["TEST_REDIS_URL"]
    client = redis.Redis.from_url(url)
    client.flushdb()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    try:
        check_rate("hold", "192.0.2.7", "2/h")
        check_rate("hold", "192.0.2.7", "2/h")
        check_rate("hold", "192.0.2.8", "2/h")
        with pytest.raises(RateLimited) as refused:
            check_rate("hold", "192.0.2.7", "2/h")
        assert 0 < refused.value.retry_after <= 2 * 3600  # the sliding window: up to two periods
        keys = client.keys("*rl:hold:*")
        assert len(keys) == 2 and all(0 < client.ttl(key) <= 2 * 3600 + 5 for key in keys)
    finally:
        client.flushdb()
