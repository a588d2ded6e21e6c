"""/healthz (the load balancer's: can this process serve?) and /healthz/full (the monitor's: is the
whole installation well?), in every state: all up, broker down or hanging, sweep stale or never
run, a failed mail, an overdue mail, and a database that refuses or never answers."""

import datetime as dt
import os
import socket
import time
from contextlib import contextmanager

import pytest
from django.db import connection

from appointments.domain import booking
from appointments.models import Heartbeat, Notification
from tests.appointments.test_worker import celery_broker
from tests.appointments.test_worker_process import free_port
from tests.conftest import berlin

START = berlin(2026, 12, 3, 8, 0)  # a Thursday, Frankenthal is open
CLOSED_BROKER = "redis://127.0.0.1:1/0"


def get(client, path):
    response = client.get(path)
    assert "no-cache" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]
    return response.status_code, response.json()


def a_booking(demo, now):
    """A booking by the Lambsheim citizen; its double-opt-in message is due at `now`."""
    return booking.book(
        office=demo.frankenthal,
        start=START,
        services=[demo.umschreibung],
        vehicles=1,
        municipality=demo.lambsheim_citizen_home,
        name="Erika Mustermann",
        email="erika@example.org",
        privacy_consent=True,
        now=now,
    )


@pytest.fixture
def swept(db, clock):
    """The worker swept half a minute ago."""
    Heartbeat.beat("sweep", clock.now - dt.timedelta(seconds=30))
    return clock


@contextmanager
def silent_server():
    """A port that accepts connections and never says a word: a hung server."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


class TestAllUp:
    def test_both_answer_200_and_name_each_check(self, client, swept):
        status, body = get(client, "/healthz")
        assert status == 200
        assert body["status"] == "ok" and body["database"] == "ok" and body["failing"] == []
        assert body["last_sweep_age_seconds"] == 30
        assert body["broker"] == "in-process", "without a broker the tasks run in the web process"

        status, body = get(client, "/healthz/full")
        assert status == 200, body
        assert body["status"] == "ok" and body["failing"] == []
        assert body["database"] == "ok" and body["broker"] == "in-process"
        assert body["last_sweep_age_seconds"] == 30
        assert body["failed_mails"] == 0 and body["overdue_mails"] == 0
        assert body["limits"]["last_sweep_age_seconds"] == 300

    @pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs a Redis server: set TEST_REDIS_URL")
    def test_a_real_broker_is_ok(self, client, swept):
        with celery_broker(os.environ["TEST_REDIS_URL"]):
            assert get(client, "/healthz")[1]["broker"] == "ok"
            status, body = get(client, "/healthz/full")
        assert status == 200 and body["broker"] == "ok"


class TestBrokerDown:
    def test_only_the_monitor_fails(self, client, swept):
        """Without the broker the portal still books (mail waits in the outbox): the load balancer
        keeps the host, the monitor raises the alarm."""
        with celery_broker(CLOSED_BROKER):
            status, body = get(client, "/healthz")
            assert status == 200 and body["status"] == "ok"
            assert body["broker"].startswith("failing")

            status, body = get(client, "/healthz/full")
        assert status == 503 and body["status"] == "failing"
        assert body["failing"] == ["broker"] and body["broker"].startswith("failing")

    def test_a_broker_that_never_answers_is_given_up_quickly(self, client, db, settings):
        """A hung broker costs one short timeout, one try: the check does not hang."""
        Heartbeat.beat("sweep", dt.datetime.now(dt.UTC))
        settings.HEALTH_CHECK_TIMEOUT_SECONDS = 1
        with silent_server() as port, celery_broker(f"redis://127.0.0.1:{port}/0"):
            started = time.monotonic()
            status, body = get(client, "/healthz/full")
            elapsed = time.monotonic() - started
        assert status == 503 and body["failing"] == ["broker"]
        assert elapsed < 3, f"took {elapsed:.1f} s"


class TestSweep:
    def test_stale_sweep_fails_only_the_monitor(self, client, db, clock, settings):
        Heartbeat.beat("sweep", clock.now - dt.timedelta(seconds=settings.HEALTH_SWEEP_MAX_AGE_SECONDS + 10))
        status, body = get(client, "/healthz")
        assert status == 200 and body["last_sweep_age_seconds"] == settings.HEALTH_SWEEP_MAX_AGE_SECONDS + 10

        status, body = get(client, "/healthz/full")
        assert status == 503 and body["failing"] == ["last_sweep_age_seconds"]
        assert body["last_sweep_age_seconds"] == settings.HEALTH_SWEEP_MAX_AGE_SECONDS + 10

    def test_a_sweep_just_within_the_limit_is_fine(self, client, db, clock, settings):
        Heartbeat.beat("sweep", clock.now - dt.timedelta(seconds=settings.HEALTH_SWEEP_MAX_AGE_SECONDS))
        assert get(client, "/healthz/full")[0] == 200

    def test_no_sweep_yet(self, client, db, clock):
        """A worker that never ran: the portal serves, the monitor says so."""
        status, body = get(client, "/healthz")
        assert status == 200 and body["last_sweep_age_seconds"] is None

        status, body = get(client, "/healthz/full")
        assert status == 503 and body["failing"] == ["last_sweep_age_seconds"]
        assert body["last_sweep_age_seconds"] is None


class TestMail:
    def test_a_failed_mail_fails_the_monitor_for_a_day(self, client, demo, swept, settings):
        """A message given up on after its attempts: the monitor fails until it is sent again (the
        admin's action) or the window has passed; the load balancer does not care."""
        appointment = a_booking(demo, swept.now)
        Notification.objects.filter(appointment=appointment).update(state=Notification.State.FAILED, due_at=swept.now)

        assert get(client, "/healthz")[0] == 200
        status, body = get(client, "/healthz/full")
        assert status == 503 and body["failing"] == ["failed_mails"] and body["failed_mails"] == 1

        settings.HEALTH_FAILED_MAILS_MAX = 1
        assert get(client, "/healthz/full")[0] == 200, "one failure is tolerated when so configured"
        settings.HEALTH_FAILED_MAILS_MAX = 0

        swept.now = swept.now + dt.timedelta(hours=settings.HEALTH_FAILED_MAILS_WINDOW_HOURS, minutes=1)
        Heartbeat.beat("sweep", swept.now)
        status, body = get(client, "/healthz/full")
        assert status == 200 and body["failed_mails"] == 0

    def test_a_failed_mail_sent_again_clears_the_alarm(self, client, demo, swept):
        appointment = a_booking(demo, swept.now)
        Notification.objects.filter(appointment=appointment).update(state=Notification.State.FAILED, due_at=swept.now)
        assert get(client, "/healthz/full")[0] == 503
        Notification.objects.filter(appointment=appointment).update(state=Notification.State.SENT, sent_at=swept.now)
        assert get(client, "/healthz/full")[0] == 200

    def test_an_overdue_mail_fails_the_monitor(self, client, demo, swept, settings):
        """A due message nobody sent for longer than the allowed delay: the workers are not working."""
        appointment = a_booking(demo, swept.now)
        [opt_in] = Notification.objects.filter(appointment=appointment)
        assert opt_in.state == Notification.State.PENDING

        swept.now = opt_in.due_at + dt.timedelta(seconds=settings.HEALTH_MAIL_MAX_DELAY_SECONDS - 5)
        Heartbeat.beat("sweep", swept.now)
        assert get(client, "/healthz/full")[0] == 200, "due a little while ago: still in time"

        swept.now = opt_in.due_at + dt.timedelta(seconds=settings.HEALTH_MAIL_MAX_DELAY_SECONDS + 5)
        Heartbeat.beat("sweep", swept.now)
        assert get(client, "/healthz")[0] == 200
        status, body = get(client, "/healthz/full")
        assert status == 503 and body["failing"] == ["overdue_mails"] and body["overdue_mails"] == 1


@contextmanager
def database_at(port, connect_timeout=None):
    """Point this process's database connection at 127.0.0.1:port for the duration."""
    saved = {key: connection.settings_dict[key] for key in ("HOST", "PORT", "OPTIONS")}
    connection.close()
    options = dict(saved["OPTIONS"])
    if connect_timeout:
        options["connect_timeout"] = connect_timeout
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(port), OPTIONS=options)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class TestDatabaseDown:
    def test_a_database_that_refuses_connections(self, client):
        """No server on the port: both answer 503 at once and say why; no 500."""
        Heartbeat.beat("sweep", dt.datetime.now(dt.UTC))
        with database_at(free_port()):
            started = time.monotonic()
            status, body = get(client, "/healthz")
            assert time.monotonic() - started < 3
            assert status == 503 and body["status"] == "failing" and body["failing"] == ["database"]
            assert body["database"] == "failing: OperationalError"
            assert body["broker"] == "in-process" and body["last_sweep_age_seconds"] is None

            status, body = get(client, "/healthz/full")
            assert status == 503 and body["failing"] == ["database"]
            assert body["last_sweep_age_seconds"] is None and body["failed_mails"] is None
        assert get(client, "/healthz")[0] == 200, "back as soon as the database is"

    def test_a_database_that_never_answers(self, client):
        """A server that accepts the connection and hangs: 503 after the connect timeout."""
        with silent_server() as port, database_at(port, connect_timeout=2):
            started = time.monotonic()
            status, body = get(client, "/healthz")
            elapsed = time.monotonic() - started
        assert status == 503 and body["failing"] == ["database"]
        assert elapsed < 4, f"took {elapsed:.1f} s"
