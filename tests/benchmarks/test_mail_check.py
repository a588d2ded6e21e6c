"""The benchmark's mail check reads the mails as the portal writes them (issue 17).

Its last full run reported every booking of the flash crowd without its mail although the outbox
had sent them all: the check looked for references of the earlier form ("FT-AB2CD3") in the
subjects, and bookings now get references such as "K7Q-4MZP". Here real bookings through the API
send their opt-in mails through Django's file backend, as in the benchmark, and the check must find
each of them once, see a mail sent twice and a booking without one.
"""

import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.core.mail import get_connection
from django.test import Client

from appointments.models import Notification
from appointments.outbox import notifications
from tests.benchmarks.bench_http import check_mails, mails

STARTS = ["2026-12-02T08:00:00+01:00", "2026-12-02T10:00:00+01:00"]  # Frankenthal works 08:00–12:00


@pytest.fixture
def mail_dir(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    cache.clear()  # the booking rate limit counts in the cache
    yield tmp_path
    cache.clear()


def book(client, start, number):
    body = {
        "services": ["umschreibung"],
        "vehicles": 1,
        "municipality": "frankenthal-pfalz",
        "office": "frankenthal",
        "start": start,
        "name": "Crowd Citizen",
        "email": f"crowd-{number}@bench.example",
        "privacy_consent": True,
        "language": "de",
    }
    response = client.post("/api/v1/bookings", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["reference"]


def test_each_booking_s_opt_in_mail_is_found_once_in_the_files(demo, clock, mail_dir):
    client = Client()
    references = [book(client, start, number) for number, start in enumerate(STARTS)]
    began = clock.now
    clock.shift(dt.timedelta(seconds=7))
    assert notifications.send_due(now=clock.now) == 2

    found, unmatched = mails(mail_dir)
    assert found == dict.fromkeys(references, 1)
    assert unmatched == 0
    check = check_mails(mail_dir, references, began)
    assert (check.bookings, check.sent, check.missing, check.twice) == (2, 2, 0, 0)
    assert check.ok
    assert check.states == {"sent": 2}
    assert check.seconds == 7  # from the crowd's start until the outbox sent the last one


def test_a_mail_sent_twice_and_a_booking_without_one_fail_the_check(demo, clock, mail_dir):
    client = Client()
    references = [book(client, start, number) for number, start in enumerate(STARTS)]
    began = clock.now
    # Only the first booking's mail goes out, and twice (through two connections: two files).
    first = Notification.objects.get(appointment__reference=references[0], kind=Notification.Kind.OPT_IN)
    for _ in range(2):
        message = notifications.build_message(first)
        message.connection = get_connection()
        message.send()

    check = check_mails(mail_dir, references, began)
    assert (check.sent, check.missing, check.twice) == (2, 1, 1)
    assert not check.ok
    assert check.states == {"pending": 2}
    assert check.seconds is None  # the outbox sent none of them
