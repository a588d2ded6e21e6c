"""Staff and admin logins: throttled by django-axes per user name and client address, and a second
factor (TOTP, django-otp) for the accounts that have set one up.

The personas are the demo's clerks and administrator (passwords from offices.demo). Attempts come
from the test client's address 127.0.0.1 unless a test says otherwise.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.admin import OTPAdminSite
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from offices.demo import DEMO_ADMIN_PASSWORD, DEMO_CLERK_PASSWORD

LOGIN = "/mitarbeiter/anmelden/"
CLERK = "clerk-frankenthal"


def login(client: Client, username: str = CLERK, password: str = DEMO_CLERK_PASSWORD, **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.fixture(autouse=True)
def login_throttle_on(settings):
    """The rest of the suite runs without django-axes (conftest); here it is on, as in production."""
    settings.AXES_ENABLED = True


@pytest.fixture
def staff(demo):
    return get_user_model().objects.get(username=CLERK)


def current_code(device: TOTPDevice, *, offset: int = 0) -> str:
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift + offset)
    return f"{code:0{device.digits}d}"


# --- throttling -----------------------------------------------------------------------------------------


def test_the_defaults_are_five_failures_and_fifteen_minutes():
    assert django_settings.AXES_ENABLED
    assert django_settings.AXES_FAILURE_LIMIT == 5
    assert django_settings.AXES_COOLOFF_TIME == dt.timedelta(minutes=15)
    assert django_settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert django_settings.AUTHENTICATION_BACKENDS[0].startswith("axes.backends.")


def test_the_limits_come_from_the_environment():
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings; print(settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME)",
        ],
        cwd=django_settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ikz_portal.settings",
            "AXES_FAILURE_LIMIT": "3",
            "AXES_COOLOFF_MINUTES": "45",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["3", "0:45:00"]


def test_five_wrong_passwords_lock_the_user_name_even_for_the_right_one(staff):
    clerk = Client(HTTP_ACCEPT_LANGUAGE="en")
    for attempt in range(1, 5):
        response = login(clerk, password=f"wrong-{attempt}")
        assert response.status_code == 200, attempt
        assert "The user name or the password is wrong" in text(response)
    locked = login(clerk, password="wrong-5")
    assert locked.status_code == 429
    assert "Login locked for now" in text(locked) and "15 minutes" in text(locked)
    assert 'class="clerk"' in locked.content.decode()  # the staff area's page, not a bare message

    right = login(clerk)
    assert right.status_code == 429
    assert not logged_in(clerk)
    assert AccessAttempt.objects.get(username=CLERK).failures_since_start >= 5


def test_the_lock_holds_only_for_that_user_name_on_that_address(staff):
    attacker = Client(HTTP_ACCEPT_LANGUAGE="en")
    for attempt in range(5):
        login(attacker, password=f"wrong-{attempt}")
    assert login(attacker).status_code == 429
    # The clerk at their own desk (another address) still logs in; so does a colleague from the same one.
    desk = Client(REMOTE_ADDR="192.0.2.7")
    assert login(desk).status_code == 302 and logged_in(desk)
    colleague = Client()
    assert login(colleague, username="clerk-schifferstadt").status_code == 302 and logged_in(colleague)


def test_the_lock_ends_after_the_cool_off(staff):
    clerk = Client()
    for attempt in range(5):
        login(clerk, password=f"wrong-{attempt}")
    assert login(clerk).status_code == 429
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))
    response = login(clerk)
    assert response.status_code == 302 and logged_in(clerk)


def test_a_success_forgets_earlier_failures(staff):
    clerk = Client()
    for attempt in range(4):
        login(clerk, password=f"wrong-{attempt}")
    assert login(clerk).status_code == 302
    clerk.post("/mitarbeiter/abmelden/")
    for attempt in range(4):
        assert login(clerk, password=f"again-{attempt}").status_code == 200
    assert login(clerk).status_code == 302


def test_the_admin_login_is_throttled_too(demo):
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    for attempt in range(4):
        response = browser.post("/admin/login/", {"username": "admin", "password": f"wrong-{attempt}"})
        assert response.status_code == 200
    assert browser.post("/admin/login/", {"username": "admin", "password": "wrong"}).status_code == 429
    response = browser.post("/admin/login/", {"username": "admin", "password": DEMO_ADMIN_PASSWORD})
    assert response.status_code == 429
    assert not logged_in(browser)


def test_the_lockout_page_is_german_by_default(staff):
    clerk = Client()
    for attempt in range(5):
        response = login(clerk, password=f"falsch-{attempt}")
    assert response.status_code == 429
    assert "Anmeldung vorübergehend gesperrt" in text(response)


# --- two factors ----------------------------------------------------------------------------------------


@pytest.fixture
def device(staff):
    return TOTPDevice.objects.create(user=staff, name="Diensthandy", confirmed=True)


def test_without_a_device_the_password_is_enough(staff):
    clerk = Client()
    response = login(clerk)
    assert response.status_code == 302 and response["Location"] == "/mitarbeiter/"
    assert logged_in(clerk)


def test_an_unconfirmed_device_is_not_asked_for(staff):
    TOTPDevice.objects.create(user=staff, name="half set up", confirmed=False)
    assert login(Client()).status_code == 302


def test_with_a_device_the_password_alone_is_not_enough(device):
    clerk = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = login(clerk)
    assert response.status_code == 200
    assert not logged_in(clerk)
    assert "please also enter the code from your authenticator app" in text(response)
    assert 'id="id_otp_token"' in response.content.decode()


def test_the_current_code_logs_in_and_marks_the_session_verified(device):
    clerk = Client()
    response = login(clerk, otp_token=current_code(device))
    assert response.status_code == 302
    assert logged_in(clerk)
    assert clerk.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert clerk.get("/mitarbeiter/", follow=True).status_code == 200


def test_a_code_counts_once(device):
    code = current_code(device)
    first = Client()
    assert login(first, otp_token=code).status_code == 302
    second = Client()
    response = login(second, otp_token=code)
    assert response.status_code == 200 and not logged_in(second)


def test_a_wrong_code_is_a_failed_login_for_the_throttle(device):
    clerk = Client(HTTP_ACCEPT_LANGUAGE="en")
    wrong = f"{(int(current_code(device)) + 1) % 10**6:06d}"
    response = login(clerk, otp_token=wrong)
    assert response.status_code == 200 and not logged_in(clerk)
    assert "The code is not correct" in text(response)
    assert AccessAttempt.objects.get(username=CLERK).failures_since_start == 1


def test_guessing_codes_runs_into_the_lock(device, settings):
    clerk = Client()
    for guess in range(4):
        assert login(clerk, otp_token=f"{guess:06d}").status_code == 200
    assert login(clerk, otp_token="000009").status_code == 429
    # Even the right code is refused now.
    assert login(clerk, otp_token=current_code(device)).status_code == 429
    assert not logged_in(clerk)


# --- the admin with two factors required ----------------------------------------------------------------


@pytest.fixture
def otp_admin_site():
    """The admin as urls.py makes it with OTP_REQUIRED_FOR_ADMIN on."""
    site = admin.site._wrapped if hasattr(admin.site, "_wrapped") else admin.site
    original = site.__class__
    site.__class__ = OTPAdminSite
    yield site
    site.__class__ = original


def test_the_admin_needs_no_second_factor_by_default(demo):
    assert type(admin.site._wrapped) is not OTPAdminSite
    browser = Client()
    response = browser.post("/admin/login/", {"username": "admin", "password": DEMO_ADMIN_PASSWORD})
    assert response.status_code == 302
    assert browser.get("/admin/").status_code == 200


def test_with_otp_required_the_admin_refuses_a_password_only_session(demo, otp_admin_site):
    superuser = get_user_model().objects.get(username="admin")
    browser = Client()
    browser.force_login(superuser)
    response = browser.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")

    device = TOTPDevice.objects.create(user=superuser, name="Admin-Handy", confirmed=True)
    response = browser.post(
        "/admin/login/",
        {
            "username": "admin",
            "password": DEMO_ADMIN_PASSWORD,
            "otp_device": device.persistent_id,
            "otp_token": current_code(device),
        },
    )
    assert response.status_code == 302
    assert browser.get("/admin/").status_code == 200


def test_the_environment_switches_the_admin_to_otp():
    script = (
        "import django; django.setup(); import ikz_portal.urls; from django.contrib import admin; "
        "print(type(admin.site._wrapped).__name__)"
    )
    outputs = {}
    for value in ("1", ""):
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=django_settings.BASE_DIR,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "ikz_portal.settings", "OTP_REQUIRED_FOR_ADMIN": value},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        outputs[value] = result.stdout.strip().splitlines()[-1]
    assert outputs["1"] == "OTPAdminSite"
    assert outputs[""] != "OTPAdminSite"


def test_the_qr_code_page_of_a_missing_device_is_a_404_not_a_server_error(demo):
    """django-otp's admin looked the device up before anything else (a 500 for an unknown id)."""
    administrator, clerk = Client(), Client()
    administrator.force_login(get_user_model().objects.get(username="admin"))
    clerk.force_login(get_user_model().objects.get(username="clerk-schifferstadt"))
    for view in ("config", "qrcode"):
        assert administrator.get(f"/admin/otp_totp/totpdevice/999999/{view}/").status_code == 404
        assert clerk.get(f"/admin/otp_totp/totpdevice/999999/{view}/").status_code == 403
    device = TOTPDevice.objects.create(user=get_user_model().objects.get(username=CLERK), name="Diensthandy")
    response = administrator.get(f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert clerk.get(f"/admin/otp_totp/totpdevice/{device.pk}/qrcode/").status_code == 403
