"""Redis goes down in a running installation, started as the README's production section starts it:
gunicorn, a Celery worker and beat, against this test's PostgreSQL database, a Redis of the test's
own (cache and broker) and a loopback mail server.

While Redis is stopped, citizens still book through the API (201, each within a bound) and pages
still load, for citizens and for a clerk; every booking's message waits in the outbox. When Redis
is started again on the same port, the worker and beat reconnect and the sweep sends every
message, exactly once. The figures are printed (`pytest -s`).

The processes run on the real clock: the booking times come from the portal's own /api/v1/slots.
"""

from __future__ import annotations

import email
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from appointments.models import Appointment, Heartbeat, Notification
from offices.demo import DEMO_CLERK_PASSWORD
from tests.appointments.test_worker_process import SmtpServer, _answers, free_port, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BIN = Path(sys.executable).parent
BOOKINGS_BEFORE, BOOKINGS_DURING = 2, 5
BOOKING_SECONDS_MAX = 2.0  # per request while Redis is down (its timeouts are 0.5 s)
SWEEP_SECONDS = 5  # beat's sweep interval here (production: 60)
OUTAGE_SECONDS = 20  # Redis stays down at least this long: beat's sends fail, the worker retries
SEARCH = {"service": "umschreibung", "municipality": "frankenthal-pfalz"}


class RedisServer:
    """A Redis of this test's own on a free port, stopped and started again on the same port."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.process: subprocess.Popen | None = None

    def start(self):
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_until(lambda: _answers(self.port), timeout=10), "redis-server did not start"

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        assert not _answers(self.port)


class Installation:
    """gunicorn, a Celery worker and beat, with their output in log files."""

    def __init__(self, directory: Path, env: dict[str, str]):
        self.directory, self.env = directory, env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str, command: list[str]):
        log = open(self.directory / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_web_and_worker(self):
        self.start(
            "gunicorn", [str(BIN / "gunicorn"), "ikz_portal.wsgi", "--workers", "2", "--bind", f"127.0.0.1:{self.port}"]
        )
        self.start("worker", [str(BIN / "celery"), "-A", "ikz_portal", "worker", "--loglevel=info"])

    def start_beat(self):
        self.start(
            "beat",
            [
                str(BIN / "celery"),
                "-A",
                "ikz_portal",
                "beat",
                "--loglevel=info",
                "-s",
                str(self.directory / "celerybeat-schedule"),
            ],
        )

    def log(self, name: str) -> str:
        return (self.directory / f"{name}.log").read_text(errors="replace")

    def stop_all(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@pytest.fixture
def installation(tmp_path, demo):
    """Everything started; yields (installation, redis, mail server). Stops it all at the end."""
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command
    smtp = SmtpServer()
    smtp.controller.start()
    redis = RedisServer(tmp_path)
    redis.start()
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env = {
        **{key: value for key, value in os.environ.items() if key not in ("CELERY_BROKER_URL", "DEBUG")},
        "DJANGO_SETTINGS_MODULE": "ikz_portal.settings",  # the tests run tests.settings
        "DATABASE_URL": (
            f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": redis.url,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "CAPTCHA_ENABLED": "0",
        # Every booking comes from 127.0.0.1: the budgets per address and network are off here.
        "HOARD_MAX_PER_ADDRESS": "0",
        "HOARD_MAX_PER_NETWORK": "0",
        "HOARD_NETWORK_DAY_SHARE_PERCENT": "0",
        "IKZ_VAR_DIR": str(tmp_path / "var"),
        "OUTBOX_SWEEP_SECONDS": str(SWEEP_SECONDS),
        "PYTHONUNBUFFERED": "1",
    }
    portal = Installation(tmp_path, env)
    try:
        yield portal, redis, smtp
    finally:
        portal.stop_all()
        redis.stop()
        smtp.controller.stop()
        for name in portal.processes:
            if os.environ.get("OUTAGE_SHOW_LOGS"):
                print(f"--- {name} ---\n{portal.log(name)[-4000:]}")


def timed(method: str, url: str, session: requests.Session | None = None, **kwargs) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = (session or requests).request(method, url, timeout=30, **kwargs)
    return response, time.monotonic() - started


def bookable_starts(base: str, count: int) -> list[tuple[str, str]]:
    """`count` free (office, start) pairs from the portal's own search, each at least one
    appointment's length after the previous one at its office, so no booking takes another's time."""
    response = requests.get(f"{base}/api/v1/slots", params=SEARCH, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    from datetime import datetime, timedelta

    length = timedelta(minutes=body["duration_minutes"])
    last: dict[str, datetime] = {}
    chosen = []
    for slot in body["slots"]:
        start = datetime.fromisoformat(slot["start"])
        if slot["office"] in last and start < last[slot["office"]] + length:
            continue
        last[slot["office"]] = start
        chosen.append((slot["office"], slot["start"]))
        if len(chosen) == count:
            return chosen
    pytest.fail(f"only {len(chosen)} free times in the next two weeks")


def book(base: str, office: str, start: str, number: int) -> tuple[requests.Response, float]:
    return timed(
        "POST",
        f"{base}/api/v1/bookings",
        json={
            "services": ["umschreibung"],
            "vehicles": 1,
            "municipality": "frankenthal-pfalz",
            "office": office,
            "start": start,
            "name": "Erika Mustermann",
            "email": f"citizen{number}@example.org",
            "privacy_consent": True,
        },
    )


def clerk_pages(base: str) -> dict[str, tuple[int, float]]:
    """Log in as the Frankenthal clerk (session in PostgreSQL) and open the day's schedule."""
    session = requests.Session()
    login_url = f"{base}/mitarbeiter/anmelden/"
    page, seconds = timed("GET", login_url, session)
    results = {"GET /mitarbeiter/anmelden/": (page.status_code, seconds)}
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, "the login form carries a CSRF token"
    response, seconds = timed(
        "POST",
        login_url,
        session,
        data={"csrfmiddlewaretoken": token.group(1), "username": "clerk-frankenthal", "password": DEMO_CLERK_PASSWORD},
        headers={"Referer": login_url},
        allow_redirects=False,
    )
    results["POST /mitarbeiter/anmelden/"] = (response.status_code, seconds)
    response, seconds = timed("GET", f"{base}/mitarbeiter/", session)  # on to today's schedule
    assert "/anmelden/" not in response.url, "logged in"
    results["GET /mitarbeiter/ → today's schedule"] = (response.status_code, seconds)
    return results


def recipients(smtp: SmtpServer) -> Counter:
    return Counter(email.message_from_bytes(content)["To"] for content in smtp.accepted)


def test_bookings_go_on_while_redis_is_down_and_every_mail_goes_out_once(installation):
    portal, redis, smtp = installation

    def note(name, value):
        print(f"\n  {name}: {value}", end="")

    print("\nRedis outage, figures:", end="")
    # Up. Beat starts only after the worker's first sweep, so that sweep is the worker's own, at start.
    started = time.monotonic()
    portal.start_web_and_worker()
    assert wait_until(lambda: _get_status(f"{portal.base}/api/v1/services") == 200, timeout=60), portal.log("gunicorn")
    assert wait_until(lambda: Heartbeat.objects.filter(name="sweep").exists(), timeout=60), portal.log("worker")
    note(
        "seconds from starting gunicorn and the worker until the worker's first sweep (no beat yet)",
        round(time.monotonic() - started, 1),
    )
    portal.start_beat()

    starts = bookable_starts(portal.base, BOOKINGS_BEFORE + BOOKINGS_DURING)
    for number, (office, start) in enumerate(starts[:BOOKINGS_BEFORE]):
        response, _seconds = book(portal.base, office, start, number)
        assert response.status_code == 201, response.text
    assert wait_until(lambda: len(smtp.accepted) == BOOKINGS_BEFORE, timeout=30), portal.log("worker")

    # Down: bookings and pages go on; the messages wait in the outbox.
    redis.stop()
    down = time.monotonic()
    outage = []
    for number, (office, start) in enumerate(starts[BOOKINGS_BEFORE:], start=BOOKINGS_BEFORE):
        response, seconds = book(portal.base, office, start, number)
        outage.append((response.status_code, round(seconds, 3)))
    pages = {}
    for path, params in (("/termin/", None), ("/api/v1/slots", SEARCH)):
        response, seconds = timed("GET", f"{portal.base}{path}", params=params)
        pages[f"GET {path}"] = (response.status_code, round(seconds, 3))
    pages.update({name: (status, round(seconds, 3)) for name, (status, seconds) in clerk_pages(portal.base).items()})
    pending = Notification.objects.filter(state=Notification.State.PENDING).count()
    note("bookings while Redis was down (status, seconds)", outage)
    note("pages while Redis was down (status, seconds)", pages)
    note("messages waiting in the outbox", pending)

    assert [status for status, _seconds in outage] == [201] * BOOKINGS_DURING, outage
    assert max(seconds for _status, seconds in outage) < BOOKING_SECONDS_MAX, outage
    assert pages["GET /termin/"][0] == 200 and pages["GET /api/v1/slots"][0] == 200, pages
    assert pages["POST /mitarbeiter/anmelden/"][0] == 302 and pages["GET /mitarbeiter/ → today's schedule"][0] == 200, (
        pages
    )
    assert pending == BOOKINGS_DURING
    assert len(smtp.accepted) == BOOKINGS_BEFORE

    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down)))
    assert len(smtp.accepted) == BOOKINGS_BEFORE, "nothing can be sent without the broker"
    assert all(process.poll() is None for process in portal.processes.values()), "every process survived"

    # Back: the worker and beat reconnect by themselves; the sweep sends what waited.
    redis.start()
    back = time.monotonic()
    note("seconds Redis was down", round(back - down, 1))
    everyone = BOOKINGS_BEFORE + BOOKINGS_DURING
    assert wait_until(lambda: len(smtp.accepted) >= everyone, timeout=120, step=0.5), (
        portal.log("worker")[-3000:] + portal.log("beat")[-2000:]
    )
    note(
        f"seconds from Redis back until every mail was out (beat sweeps every {SWEEP_SECONDS} s here)",
        round(time.monotonic() - back, 1),
    )
    time.sleep(2 * SWEEP_SECONDS + 2)  # more sweeps: nothing may go out twice

    counts = recipients(smtp)
    note("mails per recipient", dict(sorted(counts.items())))
    note("bookings in the database", Appointment.objects.count())
    print()
    assert counts == Counter({f"citizen{number}@example.org": 1 for number in range(everyone)})
    assert Appointment.objects.count() == everyone
    assert Notification.objects.filter(state=Notification.State.SENT).count() == everyone


def _get_status(url: str) -> int | None:
    try:
        return requests.get(url, timeout=5).status_code
    except requests.RequestException:
        return None
