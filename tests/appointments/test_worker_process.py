"""A real Celery worker process on a real Redis broker and PostgreSQL: mail survives a lost queue."""
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from appointments import booking, tasks
from appointments.models import Notification
from tests.appointments.test_worker import celery_broker
from tests.conftest import berlin

REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not REDIS_URL, reason="needs a Redis server: set TEST_REDIS_URL"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def worker(tmp_path):
    """Starts a worker on demand, against this test's database and a folder for its mail."""
    processes = []
    mail_dir = tmp_path / "mail"

    def start():
        db = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": REDIS_URL,
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
            "IKZ_VAR_DIR": str(tmp_path / "var"),
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

    start.mail_dir = mail_dir
    yield start
    for process in processes:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_for_mail(mail_dir: Path, count: int, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = sorted(mail_dir.glob("*.log")) if mail_dir.exists() else []
        if len(files) >= count:
            return [f.read_text() for f in files]
        time.sleep(0.2)
    return [f.read_text() for f in sorted(mail_dir.glob("*.log"))] if mail_dir.exists() else []


def test_mail_queued_while_the_worker_was_down_and_the_queue_lost_is_still_sent(demo, worker, django_capture_on_commit_callbacks):
    """A booking made while no worker runs, and whose queue message is then lost (Redis restarted
    without persistence), still gets its e-mail: the sweep finds the outbox row. Exactly once."""
    import redis

    now = dt.datetime.now(dt.timezone.utc)
    start = berlin(*(now + dt.timedelta(days=7)).astimezone(berlin(2026, 1, 1).tzinfo).date().timetuple()[:3], 8, 0)
    while start.weekday() >= 4:  # Monday to Thursday: Frankenthal is open 08:00-12:00
        start += dt.timedelta(days=1)
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    with celery_broker(REDIS_URL), django_capture_on_commit_callbacks(execute=True):
        appointment = booking.book(
            office=demo.frankenthal,
            start=start,
            services=[demo.umschreibung],
            vehicles=1,
            municipality=demo.frankenthal_citizen_home,
            name="Erika Mustermann",
            email="erika@example.org",
            privacy_consent=True,
            now=now,
        )
    assert client.llen("celery") == 1, "the trigger was queued"
    client.flushdb()  # the broker forgets it

    worker()
    with celery_broker(REDIS_URL):
        tasks.sweep.delay()
    messages = wait_for_mail(worker.mail_dir, 1)
    assert len(messages) == 1
    assert appointment.reference in messages[0]
    row = Notification.objects.get(appointment=appointment)
    assert row.state == Notification.State.SENT and row.payload == {}
    with celery_broker(REDIS_URL):
        tasks.sweep.delay()
        tasks.send_due_notifications.delay()
    time.sleep(2)
    assert len(wait_for_mail(worker.mail_dir, 2, timeout=3)) == 1, "sent exactly once"
    client.flushdb()
