"""Two small guarantees: a locked login says when to try again (Retry-After), and an installation
without SECRET_KEY never runs with a key published in the code (it refuses to start unless DEBUG is on).
"""

import datetime as dt
import os
import stat
import subprocess
import sys

import pytest
from axes.models import AccessAttempt
from django.conf import settings as django_settings
from django.test import Client

from offices.demo import DEMO_CLERK_PASSWORD

LOGIN = "/mitarbeiter/anmelden/"


@pytest.fixture(autouse=True)
def login_throttle_on(settings):
    settings.AXES_ENABLED = True


def test_the_lockout_answer_says_when_the_lock_ends(demo, settings):
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
    clerk = Client()
    for attempt in range(5):
        clerk.post(LOGIN, {"username": "clerk-frankenthal", "password": f"wrong-{attempt}"})
    locked = clerk.post(LOGIN, {"username": "clerk-frankenthal", "password": DEMO_CLERK_PASSWORD})
    assert locked.status_code == 429
    assert 14 * 60 <= int(locked["Retry-After"]) <= 15 * 60
    # Every attempt while locked counts as a failure and starts the cool-off again (django-axes).
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    later = clerk.post(LOGIN, {"username": "clerk-frankenthal", "password": "wrong-again"})
    assert later.status_code == 429
    assert 14 * 60 <= int(later["Retry-After"]) <= 15 * 60


def test_the_retry_after_counts_from_the_latest_failure(demo, settings):
    """Read from the stored attempt: ten minutes after it, about five remain."""
    from django.test import RequestFactory

    from appointments.desk.login import seconds_until_unlocked

    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
    AccessAttempt.objects.create(
        username="clerk-frankenthal", ip_address="127.0.0.1", user_agent="", failures_since_start=5
    )
    # attempt_time is set on creation; move it back.
    AccessAttempt.objects.update(attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10))
    request = RequestFactory().post(LOGIN)
    request.axes_ip_address, request.axes_user_agent, request.axes_attempt_time = "127.0.0.1", "", None
    seconds = seconds_until_unlocked(request, {"username": "clerk-frankenthal"})
    assert 4 * 60 <= seconds <= 5 * 60 + 1


def settings_key(var_dir, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "PRODUCTION")}
    environment.update(IKZ_VAR_DIR=str(var_dir), **env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)",
        ],
        cwd=django_settings.BASE_DIR,
        env={**environment, "DJANGO_SETTINGS_MODULE": "ikz_portal.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_in_development_without_a_secret_key_each_installation_makes_its_own(tmp_path):
    first = settings_key(tmp_path / "one", DEBUG="1")
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) >= 50 and "insecure" not in key
    assert "No SECRET_KEY set" in first.stderr
    key_file = tmp_path / "one" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # The same key at the next start (sessions and links survive a restart), and quietly.
    again = settings_key(tmp_path / "one", DEBUG="1")
    assert again.stdout.strip() == key and "No SECRET_KEY set" not in again.stderr
    # Another installation has another key.
    assert settings_key(tmp_path / "two", DEBUG="1").stdout.strip() != key


@pytest.mark.parametrize("env", [{}, {"DEBUG": "0"}, {"PRODUCTION": "1", "DEBUG": "1"}])
def test_without_debug_or_in_production_a_missing_secret_key_refuses_to_start(tmp_path, env):
    result = settings_key(tmp_path, **env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_a_set_secret_key_is_used_and_nothing_is_written(tmp_path):
    result = settings_key(tmp_path, SECRET_KEY="k" * 60)
    assert result.stdout.strip() == "k" * 60
    assert not (tmp_path / "secret_key").exists()
