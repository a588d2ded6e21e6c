"""What the staff login says: a refused password names the combination of user name and password
as wrong (not as if the fields were empty), the same for an unknown user name; once django-axes
locks the user name on this address, the lockout page says until when, in local time.

The persona is the demo's Frankenthal clerk; attempts come from the test client's address. The
clock starts at Tuesday, 1 December 2026, 09:27 in Berlin; the lock lasts 15 minutes after the
latest failed attempt (AXES_COOLOFF_TIME) after 5 failures.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from offices.demo import DEMO_CLERK_PASSWORD
from tests.conftest import berlin
from tests.test_login_security import LOGIN, logged_in, login, text

pytestmark = pytest.mark.clock_start(berlin(2026, 12, 1, 9, 27))

WRONG_DE = "Benutzername oder Passwort ist falsch. Bitte prüfen Sie beide Eingaben; Groß- und Kleinschreibung zählen."
WRONG_EN = "The user name or the password is wrong. Please check both entries; upper and lower case matter."


@pytest.fixture(autouse=True)
def login_throttle_on(settings):
    settings.AXES_ENABLED = True


def fail_until_locked(client: Client):
    for attempt in range(4):
        assert login(client, password=f"falsch-{attempt}").status_code == 200
    return login(client, password="falsch-4")


@pytest.mark.parametrize(("language", "message"), [("de", WRONG_DE), ("en", WRONG_EN)])
def test_a_wrong_password_says_the_combination_is_wrong(demo, clock, language, message):
    response = login(Client(HTTP_ACCEPT_LANGUAGE=language), password="falsch")

    page = text(response)
    assert response.status_code == 200
    assert message in page
    assert "Bitte Benutzername und Passwort eingeben" not in page
    assert "Please enter a correct" not in page
    assert 'id="error-summary"' in response.content.decode()


def test_an_unknown_user_name_gets_the_same_message(demo, clock):
    """The answer does not tell whether the user name exists."""
    response = login(Client(), username="niemand", password=DEMO_CLERK_PASSWORD)

    assert response.status_code == 200 and WRONG_DE in text(response)


def test_empty_fields_are_still_named_as_empty(demo, clock):
    response = Client().post(LOGIN, {"username": "", "password": ""})

    page = text(response)
    assert response.status_code == 200
    assert WRONG_DE not in page
    assert page.count("Dieses Feld ist erforderlich.") >= 2


def test_the_lockout_page_says_until_when_in_local_time(demo, clock):
    clerk = Client()

    locked = fail_until_locked(clerk)

    page = text(locked)
    assert locked.status_code == 429
    assert "Die Anmeldung ist bis 09:42 Uhr gesperrt." in page
    assert "in 15 Minuten" in page
    assert locked["Retry-After"] == "900"


def test_an_attempt_while_locked_starts_the_lock_again_and_the_page_says_so(demo, clock):
    """django-axes counts an attempt during the lock as a failure and starts the cool-off again;
    the page names the new end, rounded up to the minute."""
    clerk = Client(HTTP_ACCEPT_LANGUAGE="en")
    first = fail_until_locked(clerk)
    assert "Every attempt before then starts the lock again." in text(first)
    clock.shift(dt.timedelta(minutes=6, seconds=30))

    locked = login(clerk)

    page = text(locked)
    assert locked.status_code == 429 and not logged_in(clerk)
    assert "The login is locked until 09:49." in page  # 09:33:30 + 15 minutes
    assert "in 15 minutes" in page
    assert locked["Retry-After"] == "900"


@pytest.mark.clock_start(berlin(2026, 12, 1, 23, 50))
def test_a_lock_that_ends_after_midnight_names_the_day(demo, clock):
    locked = fail_until_locked(Client())

    assert "Die Anmeldung ist bis 02.12.2026, 00:05 Uhr gesperrt." in text(locked)


def test_without_a_cool_off_the_page_says_an_administrator_lifts_the_lock(demo, clock, settings):
    settings.AXES_COOLOFF_TIME = None

    locked = fail_until_locked(Client(HTTP_ACCEPT_LANGUAGE="en"))

    page = text(locked)
    assert locked.status_code == 429 and "Retry-After" not in locked
    assert "The login stays locked until an administrator lifts the lock." in page
    assert "locked until 0" not in page
