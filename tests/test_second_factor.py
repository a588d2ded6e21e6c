"""The second factor is a property of the session, and staff sessions end.

- A clerk with a confirmed TOTP device reaches the staff area (schedule, CSV, reports) and the admin
  only with a session verified by the code, whichever login form gave the session.
- With OTP_REQUIRED_FOR_STAFF, an account without a device is sent, after its password, to set one
  up (QR code, first code).
- A staff session ends STAFF_SESSION_IDLE_MINUTES after the last request and
  STAFF_SESSION_MAX_HOURS after the login; a citizen's anonymous session is not affected.

Personas: the Frankenthal clerk (with the report permission here, so that every staff page is one
they may see), the demo administrator, a citizen's browser. The clock is Tuesday, 1 December 2026,
07:30 in Berlin.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
import subprocess
import sys

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from offices.demo import DEMO_ADMIN_PASSWORD, DEMO_CLERK_PASSWORD
from tests.appointments.clerk_personas import DAY, NOW, schedule_url
from tests.appointments.test_pages import hold_earliest

pytestmark = pytest.mark.clock_start(NOW)

CLERK = "clerk-frankenthal"
STAFF_LOGIN = "/mitarbeiter/anmelden/"
ADMIN_LOGIN = "/admin/login/"


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split()).replace("&#x27;", "'")


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def verified(client: Client) -> bool:
    return DEVICE_ID_SESSION_KEY in client.session


def code_for(device: TOTPDevice) -> str:
    """The code the clerk's app shows now (the frozen clock)."""
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def code_of_secret(secret: str) -> str:
    """The code an authenticator app computes from the secret typed in by hand."""
    compact = secret.replace(" ", "")
    key = base64.b32decode(compact + "=" * (-len(compact) % 8))
    return f"{totp(key, 30, 0, 6, 0):06d}"


@pytest.fixture
def clerk_user(demo, clock):
    user = get_user_model().objects.get(username=CLERK)
    user.user_permissions.add(Permission.objects.get(codename="view_reports", content_type__app_label="appointments"))
    return user


@pytest.fixture
def device(clerk_user):
    return TOTPDevice.objects.create(user=clerk_user, name="Diensthandy", confirmed=True)


def staff_pages(demo) -> dict[str, str]:
    return {
        "schedule": schedule_url(demo.frankenthal),
        "CSV": reverse("clerk:export_csv", args=["frankenthal", DAY.isoformat()]),
        "reports": reverse("clerk:reports") + "?start=2026-11&end=2026-11",
        "admin index": "/admin/",
    }


def assert_no_page_opens(client: Client, demo) -> None:
    for name, url in staff_pages(demo).items():
        response = client.get(url)
        assert response.status_code == 302, (name, response.status_code)
        assert "/anmelden/" in response["Location"] or response["Location"].startswith(ADMIN_LOGIN), name


def assert_every_page_opens(client: Client, demo) -> None:
    for name, url in staff_pages(demo).items():
        assert client.get(url).status_code == 200, name


# --- the code, whichever login form ------------------------------------------------------------------


def test_a_password_only_admin_login_of_a_device_holder_opens_nothing(demo, device):
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = browser.post(ADMIN_LOGIN, {"username": CLERK, "password": DEMO_CLERK_PASSWORD})
    assert response.status_code == 200, "the admin's login form asks for the code"
    assert 'name="otp_token"' in response.content.decode()
    assert not verified(browser)
    assert_no_page_opens(browser, demo)


def test_a_session_without_the_code_is_sent_to_the_login_and_ended(demo, device):
    """However a session came about without the code (here: a session of the password alone), the
    staff area ends it and asks for the code; the admin sends it to its login form; no 500."""
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.force_login(device.user)
    response = browser.get(schedule_url(demo.frankenthal))
    assert response.status_code == 302
    assert response["Location"].startswith(STAFF_LOGIN + "?next=")
    assert not logged_in(browser)
    login_page = browser.get(response["Location"])
    assert "Please log in again with the code from your authenticator app" in text(login_page)

    browser.force_login(device.user)
    response = browser.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(ADMIN_LOGIN)
    assert 'name="otp_token"' in browser.get(response["Location"]).content.decode()
    assert_no_page_opens(browser, demo)


def test_with_the_code_the_admin_login_verifies_the_session_and_everything_opens(demo, device):
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = browser.post(
        ADMIN_LOGIN,
        {"username": CLERK, "password": DEMO_CLERK_PASSWORD, "otp_token": code_for(device), "next": "/admin/"},
    )
    assert response.status_code == 302
    assert browser.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert_every_page_opens(browser, demo)


def test_with_the_code_the_staff_login_opens_the_admin_too(demo, device):
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = browser.post(
        STAFF_LOGIN, {"username": CLERK, "password": DEMO_CLERK_PASSWORD, "otp_token": code_for(device)}
    )
    assert response.status_code == 302
    assert_every_page_opens(browser, demo)
    # The same session, without the code: nothing (the control that the pages check the session).
    session = browser.session
    del session[DEVICE_ID_SESSION_KEY]
    session.save()
    assert_no_page_opens(browser, demo)


def test_a_wrong_code_at_the_admin_login_is_a_failed_login(demo, device, settings):
    settings.AXES_ENABLED = True
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    wrong = f"{(int(code_for(device)) + 1) % 10**6:06d}"
    response = browser.post(ADMIN_LOGIN, {"username": CLERK, "password": DEMO_CLERK_PASSWORD, "otp_token": wrong})
    assert response.status_code == 200 and not logged_in(browser)
    assert AccessAttempt.objects.get(username=CLERK).failures_since_start == 1


def test_the_lockout_of_the_staff_login_stops_the_admin_path(demo, device, settings):
    """Someone with the password but not the phone: the admin's login gives them no session, five
    wrong codes at the staff login lock the user name on this address, and from then on the admin
    refuses it too, even with the right code; nothing of the staff area or the admin opens."""
    settings.AXES_ENABLED = True
    admin_path = Client(HTTP_ACCEPT_LANGUAGE="en")
    admin_path.post(ADMIN_LOGIN, {"username": CLERK, "password": DEMO_CLERK_PASSWORD})
    guesser = Client(HTTP_ACCEPT_LANGUAGE="en")
    for guess in range(5):
        guesser.post(STAFF_LOGIN, {"username": CLERK, "password": DEMO_CLERK_PASSWORD, "otp_token": f"{guess:06d}"})
    assert guesser.post(STAFF_LOGIN, {"username": CLERK, "password": DEMO_CLERK_PASSWORD}).status_code == 429

    assert_no_page_opens(admin_path, demo)
    for data in ({}, {"otp_token": code_for(device)}):
        response = admin_path.post(ADMIN_LOGIN, {"username": CLERK, "password": DEMO_CLERK_PASSWORD, **data})
        assert response.status_code == 429, data
    assert not logged_in(admin_path)
    assert_no_page_opens(admin_path, demo)


def test_accounts_without_a_device_log_in_as_before_when_devices_are_not_required(demo, clerk_user):
    assert not django_settings.OTP_REQUIRED_FOR_STAFF  # the default without PRODUCTION
    browser = Client()
    assert browser.post(ADMIN_LOGIN, {"username": CLERK, "password": DEMO_CLERK_PASSWORD}).status_code == 302
    assert_every_page_opens(browser, demo)


# --- a device for every staff account ---------------------------------------------------------------


def test_devices_are_required_with_production_and_by_the_setting():
    script = (
        "from django.conf import settings; print(settings.OTP_REQUIRED_FOR_STAFF, "
        "settings.STAFF_SESSION_MAX_HOURS, settings.STAFF_SESSION_IDLE_MINUTES)"
    )
    outputs = {}
    for name, extra in {
        "default": {},
        "production": {"PRODUCTION": "1", "SECRET_KEY": "x" * 50},
        "switched on": {"OTP_REQUIRED_FOR_STAFF": "1"},
        "production, switched off": {"PRODUCTION": "1", "SECRET_KEY": "x" * 50, "OTP_REQUIRED_FOR_STAFF": "0"},
    }.items():
        env = {k: v for k, v in os.environ.items() if k not in {"PRODUCTION", "OTP_REQUIRED_FOR_STAFF"}}
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", script],
            cwd=django_settings.BASE_DIR,
            env={**env, "DJANGO_SETTINGS_MODULE": "ikz_portal.settings", **extra},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        outputs[name] = result.stdout.strip().splitlines()[-1]
    assert outputs == {
        "default": "False 10 60",
        "production": "True 10 60",
        "switched on": "True 10 60",
        "production, switched off": "False 10 60",
    }


@pytest.fixture
def devices_required(settings):
    settings.OTP_REQUIRED_FOR_STAFF = True


def setup_page_after_password(browser: Client):
    response = browser.post(STAFF_LOGIN, {"username": CLERK, "password": DEMO_CLERK_PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("clerk:second_factor_setup"))
    return response


def test_an_account_without_a_device_is_sent_to_set_one_up(demo, clerk_user, devices_required):
    browser = Client()  # German by default
    page = setup_page_after_password(browser)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Zwei-Faktor-Anmeldung einrichten" in text(page)
    assert re.search(r'<img src="data:image/svg\+xml[^"]+" alt="[^"]+"', html), "the QR code, inline as data URI"
    assert re.search(r'<code id="otp-secret" translate="no">([A-Z2-7 ]+)</code>', html), "the secret as text"
    # Nothing of the staff area, nor the admin, before the device is set up.
    for url in staff_pages(demo).values():
        response = browser.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("clerk:second_factor_setup")), (
            url
        )
    assert not TOTPDevice.objects.filter(user=clerk_user).exists()


def test_the_first_right_code_confirms_the_device_and_verifies_the_session(demo, clerk_user, devices_required):
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = setup_page_after_password(browser)
    secret = re.search(r'<code id="otp-secret" translate="no">([A-Z2-7 ]+)</code>', page.content.decode()).group(1)

    response = browser.post(
        reverse("clerk:second_factor_setup"), {"otp_token": code_of_secret(secret), "next": "/admin/"}
    )

    assert response.status_code == 302 and response["Location"] == "/admin/"
    device = TOTPDevice.objects.get(user=clerk_user)
    assert device.confirmed
    assert browser.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert_every_page_opens(browser, demo)
    # The next login needs the code of that device.
    browser.post(reverse("clerk:logout"))
    again = Client(HTTP_ACCEPT_LANGUAGE="en")
    refused = again.post(STAFF_LOGIN, {"username": CLERK, "password": DEMO_CLERK_PASSWORD})
    assert refused.status_code == 200 and not logged_in(again)


def test_a_wrong_code_at_the_setup_shows_a_german_error_and_changes_nothing(demo, clerk_user, devices_required):
    browser = Client()
    page = setup_page_after_password(browser)
    secret = re.search(r'<code id="otp-secret" translate="no">([A-Z2-7 ]+)</code>', page.content.decode()).group(1)
    wrong = f"{(int(code_of_secret(secret)) + 1) % 10**6:06d}"

    response = browser.post(reverse("clerk:second_factor_setup"), {"otp_token": wrong})

    assert response.status_code == 400
    assert "Der Code ist nicht korrekt oder abgelaufen" in text(response)
    assert not TOTPDevice.objects.filter(user=clerk_user).exists()
    assert not verified(browser)
    assert browser.get(schedule_url(demo.frankenthal))["Location"].startswith(reverse("clerk:second_factor_setup"))
    # The secret stays the same, so the app set up from the QR code still fits.
    again = browser.get(reverse("clerk:second_factor_setup"))
    assert secret in again.content.decode()


def test_the_admin_sends_an_account_without_a_device_to_the_setup(demo, devices_required):
    browser = Client()
    assert browser.post(ADMIN_LOGIN, {"username": "admin", "password": DEMO_ADMIN_PASSWORD}).status_code == 302
    response = browser.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("clerk:second_factor_setup"))


# --- session lengths -------------------------------------------------------------------------------


@pytest.fixture
def session_limits(settings):
    settings.STAFF_SESSION_MAX_HOURS = 10
    settings.STAFF_SESSION_IDLE_MINUTES = 60


def clerk_session() -> Client:
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = browser.post(STAFF_LOGIN, {"username": CLERK, "password": DEMO_CLERK_PASSWORD})
    assert response.status_code == 302
    return browser


def test_an_hour_without_activity_ends_a_staff_session(demo, clerk_user, clock, session_limits):
    browser = clerk_session()
    assert browser.get(schedule_url(demo.frankenthal)).status_code == 200
    clock.shift(dt.timedelta(minutes=59))
    assert browser.get(schedule_url(demo.frankenthal)).status_code == 200, "59 minutes: still logged in"

    clock.shift(dt.timedelta(minutes=61))
    response = browser.get(schedule_url(demo.frankenthal))

    assert response.status_code == 302 and response["Location"].startswith(STAFF_LOGIN)
    assert not logged_in(browser)
    assert "logged out after a time without activity" in text(browser.get(response["Location"]))


def test_the_self_refreshing_schedule_is_no_activity(demo, clerk_user, clock, session_limits):
    browser = clerk_session()
    fragment = reverse("clerk:schedule_fragment", args=["frankenthal", DAY.isoformat()])
    for _ in range(4):
        clock.shift(dt.timedelta(minutes=15))
        browser.get(fragment, HTTP_X_REQUESTED_WITH="fetch")
    clock.shift(dt.timedelta(minutes=1))
    assert browser.get(fragment, HTTP_X_REQUESTED_WITH="fetch").status_code == 302
    assert not logged_in(browser)


def test_a_working_day_after_the_login_ends_a_staff_session_even_when_active(demo, clerk_user, clock, session_limits):
    browser = clerk_session()
    for _ in range(19):  # a request every half hour, up to 17:00
        clock.shift(dt.timedelta(minutes=30))
        assert browser.get(schedule_url(demo.frankenthal)).status_code == 200, clock.now
    clock.shift(dt.timedelta(minutes=29))
    assert browser.get(schedule_url(demo.frankenthal)).status_code == 200, "9 h 59 min after the login"

    clock.shift(dt.timedelta(minutes=1))  # 17:30, ten hours after the login
    response = browser.get(schedule_url(demo.frankenthal))

    assert response.status_code == 302 and not logged_in(browser)
    assert "maximum time of a working day" in text(browser.get(response["Location"]))
    # A new login starts a new day.
    assert clerk_session().get(schedule_url(demo.frankenthal)).status_code == 200


def test_a_citizens_session_with_a_held_booking_is_not_affected(demo, clerk_user, clock, session_limits):
    """The clerk's session ends after the idle hour; the citizen's session, idle as long, keeps
    the reference of its held booking."""
    clerk = clerk_session()
    citizen = Client()
    held = hold_earliest(citizen)
    reference = held["Location"].rstrip("/").split("/")[-2]
    assert reference in citizen.session["holds"]

    clock.shift(dt.timedelta(hours=11))
    assert citizen.get(reverse("appointments:start")).status_code == 200
    assert clerk.get(schedule_url(demo.frankenthal)).status_code == 302

    assert reference in citizen.session["holds"]
    assert not logged_in(clerk)
