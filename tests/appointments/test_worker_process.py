"""Real failures, real processes: a Celery worker on a real Redis broker and PostgreSQL, a Redis
that is stopped, a mail server that refuses or hangs, and a worker that is killed mid-dispatch."""

import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import connection

from appointments import tasks
from appointments.domain import booking
from appointments.models import Appointment, Notification, Status
from tests.appointments.test_worker import celery_broker
from tests.conftest import berlin

REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not REDIS_URL, reason="needs a Redis server: set TEST_REDIS_URL"),
    pytest.mark.django_db(transaction=True),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout=30.0, step=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


class SmtpServer:
    """A mail server on loopback that refuses the first `refuse` messages (451, try later), or
    hangs on the first one when `hang` is set, and records what it accepted."""

    def __init__(self, refuse=0, hang=False):
        self.refuse, self.hang = refuse, hang
        self.accepted: list[bytes] = []
        self.attempts = 0
        self.sessions: list = []  # one per connection, in the order of their first message
        self.hanging = threading.Event()
        self.controller = Controller(self, hostname="127.0.0.1", port=free_port())

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if session not in self.sessions:
            self.sessions.append(session)
        if self.hang and self.attempts == 1:
            self.hanging.set()
            await asyncio.sleep(60)  # the client is killed meanwhile; nothing is accepted
            return "451 4.4.2 Timeout"
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 Try again later"
        self.accepted.append(envelope.content)
        return "250 OK"

    @property
    def port(self):
        return self.controller.port


@pytest.fixture
def smtp():
    servers = []

    def start(**kwargs):
        server = SmtpServer(**kwargs)
        server.controller.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.controller.stop()


@pytest.fixture
def worker(tmp_path):
    """Starts Celery workers against this test's database; stops them at the end."""
    processes = []

    def start(broker=REDIS_URL, **env_overrides):
        db = connection.settings_dict
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ikz_portal.settings",  # the tests run tests.settings
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": broker,
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(tmp_path / "mail"),
            "IKZ_VAR_DIR": str(tmp_path / "var"),
            **env_overrides,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "ikz_portal", "worker", "--pool=solo", "--loglevel=warning"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        processes.append(process)
        return process

    start.mail_dir = tmp_path / "mail"
    yield start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def redis_server(tmp_path):
    """A Redis of this test's own on a free port, which the test may stop and start again."""
    port = free_port()
    command = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]

    class Server:
        url = f"redis://127.0.0.1:{port}/0"
        process = None

        def start(self):
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            assert wait_until(lambda: _answers(port), timeout=10)

        def stop(self):
            self.process.terminate()
            self.process.wait(timeout=10)
            assert not _answers(port)

    server = Server()
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


def _answers(port) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def mail_files(mail_dir: Path) -> list[str]:
    return [f.read_text() for f in sorted(mail_dir.glob("*.log"))] if mail_dir.exists() else []


def next_working_day_start(hour=8):
    now = dt.datetime.now(dt.UTC)
    day = (now + dt.timedelta(days=7)).astimezone(berlin(2026, 1, 1).tzinfo).date()
    while day.weekday() >= 4:  # Monday to Thursday: Frankenthal opens at 08:00
        day += dt.timedelta(days=1)
    return berlin(day.year, day.month, day.day, hour, 0), now


def book_now(demo, start, now, email="erika@example.org"):
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


def test_mail_queued_while_the_worker_was_down_and_the_queue_lost_is_still_sent(
    demo, worker, django_capture_on_commit_callbacks
):
    """A booking made while no worker runs, and whose queue message is then lost (Redis restarted
    without persistence), still gets its e-mail: the sweep finds the outbox row. Exactly once."""
    import redis

    start, now = next_working_day_start()
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    with celery_broker(REDIS_URL), django_capture_on_commit_callbacks(execute=True):
        appointment = book_now(demo, start, now)
    assert client.llen("celery") == 1, "the trigger was queued"
    client.flushdb()  # the broker forgets it

    worker()
    with celery_broker(REDIS_URL):
        tasks.sweep.delay()
    assert wait_until(lambda: len(mail_files(worker.mail_dir)) >= 1)
    [message] = mail_files(worker.mail_dir)
    assert appointment.reference in message
    # The worker writes the mail, then marks its row sent: wait for the mark, not just the file.
    assert wait_until(lambda: Notification.objects.get(appointment=appointment).state == Notification.State.SENT)
    assert Notification.objects.get(appointment=appointment).payload == {}
    with celery_broker(REDIS_URL):
        tasks.sweep.delay()
        tasks.send_due_notifications.delay()
    time.sleep(3)
    assert len(mail_files(worker.mail_dir)) == 1, "sent exactly once"
    client.flushdb()


def test_redis_stopped_while_a_citizen_books(demo, worker, redis_server, django_capture_on_commit_callbacks):
    """Redis is down: the booking still succeeds and its mail waits in the outbox; once Redis is
    back and a worker runs, the sweep sends it, once."""
    start, now = next_working_day_start()
    redis_server.stop()
    started = time.monotonic()
    with celery_broker(redis_server.url), django_capture_on_commit_callbacks(execute=True):
        appointment = book_now(demo, start, now)
    assert time.monotonic() - started < 15, "a broker outage must not hold the booking up for long"
    assert Appointment.objects.get(pk=appointment.pk).status == Status.UNCONFIRMED
    assert Notification.objects.get(appointment=appointment).state == Notification.State.PENDING

    redis_server.start()
    worker(broker=redis_server.url)
    with celery_broker(redis_server.url):
        tasks.sweep.delay()
    assert wait_until(lambda: len(mail_files(worker.mail_dir)) >= 1)
    time.sleep(2)
    messages = mail_files(worker.mail_dir)
    assert len(messages) == 1 and appointment.reference in messages[0]


def test_a_mail_server_that_refuses_the_first_attempts(demo, smtp, settings):
    """A loopback SMTP server answers 451 twice: the message goes out on the third attempt, once."""
    server = smtp(refuse=2)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    from appointments.outbox import notifications

    start, now = next_working_day_start()
    appointment = book_now(demo, start, now)
    when = now
    for _ in range(6):
        notifications.send_due(now=when)
        when += dt.timedelta(minutes=5)
    assert server.attempts == 3
    assert len(server.accepted) == 1 and appointment.reference.encode() in server.accepted[0]
    row = Notification.objects.get(appointment=appointment)
    assert row.state == Notification.State.SENT and row.attempts == 3


def test_due_messages_share_one_connection_and_a_refusal_opens_a_new_one(demo, smtp, settings, monkeypatch):
    """Three opt-in mails due at once go out over one SMTP session; when the server refuses the
    first, the other two follow on a new session and the refused one on the next run."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    from appointments.outbox import notifications

    monkeypatch.setattr(notifications, "trigger_dispatch", lambda: None)  # all three wait in the outbox

    start, now = next_working_day_start()
    for refuse, sessions in ((0, 1), (1, 2)):
        server = smtp(refuse=refuse)
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        for number in range(3):
            book_now(
                demo,
                start + dt.timedelta(minutes=15 * number + 60 * refuse),
                now,
                email=f"citizen{refuse}{number}@example.org",
            )
        assert notifications.send_due(now=now) == 3 - refuse
        assert len(server.accepted) == 3 - refuse and len(server.sessions) == sessions
        assert notifications.send_due(now=now + dt.timedelta(minutes=5)) == refuse
        assert len(server.accepted) == 3


def test_a_worker_killed_in_the_middle_of_a_dispatch(demo, smtp, worker, django_capture_on_commit_callbacks):
    """The first worker is killed (SIGKILL) while the mail server holds its message; the claim
    runs out and another worker sends the message, once."""
    import redis

    server = smtp(hang=True)
    mail_env = {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(server.port),
        "NOTIFICATION_CLAIM_SECONDS": "3",
    }
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    first = worker(**mail_env)
    start, now = next_working_day_start()
    with celery_broker(REDIS_URL), django_capture_on_commit_callbacks(execute=True):
        appointment = book_now(demo, start, now)
    assert server.hanging.wait(timeout=30), "the first worker reached the mail server"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    row = Notification.objects.get(appointment=appointment)
    assert row.state == Notification.State.PENDING and row.claimed_until is not None

    time.sleep(3.5)  # the dead worker's claim runs out
    client.flushdb()  # and its task message is gone with it
    worker(**mail_env)
    with celery_broker(REDIS_URL):
        tasks.sweep.delay()
    assert wait_until(lambda: len(server.accepted) >= 1)
    time.sleep(2)
    assert len(server.accepted) == 1 and appointment.reference.encode() in server.accepted[0]
    row.refresh_from_db()
    assert row.state == Notification.State.SENT
    client.flushdb()
