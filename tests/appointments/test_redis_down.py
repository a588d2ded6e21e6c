"""Redis accelerates, PostgreSQL decides: with the cache and the broker pointing at a Redis that is
not there (nothing listens on the port) or does not answer (a socket that accepts and stays
silent), rate limits still count (per process), a captcha solution still counts once (the
database remembers it), and a booking through the API answers 201 quickly with its mail waiting in
the outbox. No processes are started; this runs on SQLite too. tests/test_outage.py does the same
with real processes. The clock stands at Tuesday, 1 December 2026, 07:00 in Berlin.
"""

import datetime as dt
import logging
import time

import pytest

from appointments.models import Appointment, Notification, SpentCaptcha
from appointments.security import captcha
from appointments.security.limits import RateLimited, check_rate
from tests.appointments.test_worker import celery_broker
from tests.conftest import berlin

START = berlin(2026, 12, 3, 9, 0)


def test_rate_limits_still_count_per_process_and_warn_once(dead_redis, db, clock, caplog):
    """Two holds an hour per address: the third is refused although the cache is unreachable;
    another address is not affected; one warning, not one per request; no call waits long."""
    caplog.set_level(logging.WARNING, logger="appointments.shared_cache")
    started = time.monotonic()
    check_rate("hold", "203.0.113.7", "2/h")
    check_rate("hold", "203.0.113.7", "2/h")
    with pytest.raises(RateLimited) as refused:
        check_rate("hold", "203.0.113.7", "2/h")
    check_rate("hold", "198.51.100.23", "2/h")
    assert time.monotonic() - started < 1.5, "one timeout at most, then the process leaves Redis alone"
    assert 0 < refused.value.retry_after <= 2 * 3600  # the sliding window: see test_hoarding.py
    warnings = [r for r in caplog.records if "Redis cannot be reached" in r.getMessage()]
    assert len(warnings) == 1

    # The window slides: the attempts of the last hour still count at first, then slide out.
    clock.shift(dt.timedelta(hours=1))
    with pytest.raises(RateLimited):
        check_rate("hold", "203.0.113.7", "2/h")
    clock.shift(dt.timedelta(hours=1))
    check_rate("hold", "203.0.113.7", "2/h")


def test_a_captcha_solution_counts_once_without_redis(dead_redis, db, clock):
    """The no-JavaScript question (same one-time rule as the proof of work): the right answer
    passes once, the second use is refused; the sweep forgets it once it has expired."""
    question = captcha.new_question()
    answer = str(question["first"] + question["second"])
    clock.shift(dt.timedelta(seconds=captcha.wait_seconds()))  # an answer counts only after the wait
    assert captcha.verify_answer(question["token"], answer)
    assert not captcha.verify_answer(question["token"], answer)
    assert SpentCaptcha.objects.count() == 1

    assert captcha.forget_expired(now=clock.now) == 0
    assert captcha.forget_expired(now=clock.now + dt.timedelta(minutes=30)) == 1


def test_bookings_through_the_api_answer_quickly_and_their_mail_waits(dead_redis, client, demo, clock, settings):
    """The API throttle, the e-mail limit and the send trigger all meet the dead Redis (cache and
    broker): every booking answers 201 in about a second at most, and its message is pending in the
    outbox for the sweep."""
    settings.BOOKING_RATE_LIMIT = "30/h"
    settings.RATE_LIMIT_EMAIL = "5/h"
    # The first request of a process builds the API and reads the configuration: not Redis's doing.
    slots = client.get(
        "/api/v1/slots",
        {
            "service": "umschreibung",
            "municipality": "frankenthal-pfalz",
            "date_from": "2026-12-03",
            "date_to": "2026-12-03",
        },
    )
    assert slots.status_code == 200
    timings = []
    with celery_broker(dead_redis):
        for number in range(3):
            started = time.monotonic()
            response = client.post(
                "/api/v1/bookings",
                {
                    "services": ["umschreibung"],
                    "vehicles": 1,
                    "municipality": "frankenthal-pfalz",
                    "office": "frankenthal",
                    "start": (START + dt.timedelta(minutes=15 * number)).isoformat(),
                    "name": "Erika Mustermann",
                    "email": f"citizen{number}@example.org",
                    "privacy_consent": True,
                },
                content_type="application/json",
            )
            timings.append(time.monotonic() - started)
            assert response.status_code == 201, response.content
    assert max(timings) < 1.5, timings
    assert Appointment.objects.count() == 3
    assert Notification.objects.filter(state=Notification.State.PENDING).count() == 3
