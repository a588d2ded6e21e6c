"""A PostgreSQL restart under live traffic is a few 503s with Retry-After, never an error page.

The test runs its own PostgreSQL server (initdb into a temporary folder) and the portal under
gunicorn with kept connections (CONN_MAX_AGE=60), drives searches, pages and bookings from
threads, restarts the server with `pg_ctl restart -m fast`, then stops it for a few seconds:

- no response is a 500; every answer is a success or a 503 with Retry-After;
- once the server is back, every request succeeds again, also the first one on a connection kept
  from before the restart (tested before use and replaced, not failed on);
- with the server stopped, /healthz answers 503 within seconds and a booking 503 with the API's
  error shape; after the start, 200 again;
- no booking is left half-done: every appointment has its e-mail in the outbox.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.appointments.test_worker_process import free_port, wait_until

BASE_DIR = Path(__file__).resolve().parent.parent


def postgres_bin() -> Path | None:
    """Where initdb and pg_ctl are: on the PATH, or in Debian's versioned folders (newest first)."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: p.parent.name, reverse=True):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def server_user() -> str | None:
    """PostgreSQL refuses to run as root: then its programs run as the `postgres` user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return ""
    return "postgres"


PG_BIN = postgres_bin()
pytestmark = [
    pytest.mark.skipif(PG_BIN is None, reason="needs PostgreSQL's initdb and pg_ctl"),
    pytest.mark.skipif(server_user() == "", reason="running as root needs a `postgres` user to run the server"),
]


class PostgresServer:
    def __init__(self, folder: Path):
        self.folder, self.data, self.port = folder, folder / "data", free_port()
        self.user = server_user()

    def run(self, program: str, *args: str, check=True) -> subprocess.CompletedProcess:
        command = [str(PG_BIN / program), *args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=60)

    def ctl(self, *args: str) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", *args)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        self.ctl("-o", options, "start")

    def initialise(self) -> None:
        if self.user:
            shutil.chown(self.folder, user=self.user)
        self.run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"
        )
        self.start()
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as db:
            db.execute("CREATE DATABASE ikz")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/ikz"

    def query(self, sql: str):
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="ikz") as db:
            return db.execute(sql).fetchone()


@dataclass
class Answer:
    started: float
    seconds: float
    method: str
    path: str
    status: int  # 0: no HTTP answer at all
    retry_after: str | None
    body: bytes


class Portal:
    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"

    def request(self, path: str, body: dict | None = None, timeout=15.0) -> Answer:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method="GET" if body is None else "POST")
        if body is not None:
            request.add_header("Content-Type", "application/json")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, headers, content = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, content = error.code, error.headers, error.read()
        except OSError as error:  # no answer: refused, reset, timed out
            status, headers, content = 0, {}, repr(error).encode()
        return Answer(
            started, time.monotonic() - started, request.method, path, status, headers.get("Retry-After"), content
        )


@pytest.fixture(scope="module")
def server():
    folder = Path(tempfile.mkdtemp(prefix="ikz-restart-"))
    postgres = PostgresServer(folder)
    try:
        postgres.initialise()
        yield postgres
    finally:
        postgres.run("pg_ctl", "-D", str(postgres.data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def portal(server):
    var = server.folder / "var"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "CELERY_BROKER_URL", "PRODUCTION", "DEBUG", "SQLITE_PATH"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="ikz_portal.settings",  # the tests run tests.settings
        DATABASE_URL=server.url,
        CONN_MAX_AGE="60",
        IKZ_VAR_DIR=str(var),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        BOOKING_RATE_LIMIT="0",
        RATE_LIMIT_HOLD="0",
        RATE_LIMIT_SUBMIT="0",
        RATE_LIMIT_EMAIL="0",
        RATE_LIMIT_CONFIRM="0",
        MAX_ACTIVE_BOOKINGS_PER_EMAIL="0",
        # Every thread comes from 127.0.0.1: the budgets per address and network are off here.
        HOARD_MAX_PER_ADDRESS="0",
        HOARD_MAX_PER_NETWORK="0",
        HOARD_NETWORK_DAY_SHARE_PERCENT="0",
        RATE_LIMIT_SEARCH="0",
        RATE_LIMIT_SEARCH_NETWORK="0",
        CAPTCHA_ENABLED="0",
    )
    # The configuration only: the demo bookings would take the times the test books.
    for command in (["migrate", "--noinput"], ["seed_demo", "--force", "--no-bookings"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=BASE_DIR, env=env, check=True, capture_output=True, timeout=300
        )
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "ikz_portal.wsgi",
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--timeout",
            "30",
            "--graceful-timeout",
            "5",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(server.folder / "gunicorn.log", "wb"),  # noqa: SIM115 - gunicorn writes to it until it stops
    )
    portal = Portal(port)
    try:
        assert wait_until(lambda: portal.request("/healthz", timeout=3).status == 200, timeout=60), (
            server.folder / "gunicorn.log"
        ).read_text()[-3000:]
        yield portal
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


SLOTS = "/api/v1/slots?service=umschreibung&vehicles=1&municipality=frankenthal-pfalz"
READS = ["/api/v1/offices", SLOTS, "/termin/", "/healthz"]


class Traffic:
    """Threads that read (offices, slots, the search page, /healthz) and book (the free slots
    found at the start, one each) until stopped."""

    def __init__(self, portal: Portal):
        self.portal = portal
        self.answers: list[Answer] = []
        self.stop = threading.Event()
        slots = json.loads(portal.request(SLOTS).body)["slots"]
        self.free = list(slots)
        self.threads = [threading.Thread(target=self.read, daemon=True) for _ in range(2)]
        self.threads.append(threading.Thread(target=self.book, daemon=True))

    def read(self):
        i = 0
        while not self.stop.is_set():
            self.answers.append(self.portal.request(READS[i % len(READS)]))
            i += 1
            time.sleep(0.02)

    def book(self):
        n = 0
        while not self.stop.is_set() and self.free:
            slot = self.free.pop(0)
            n += 1
            self.answers.append(
                self.portal.request(
                    "/api/v1/bookings",
                    {
                        "services": ["umschreibung"],
                        "vehicles": 1,
                        "municipality": "frankenthal-pfalz",
                        "office": slot["office"],
                        "start": slot["start"],
                        "name": "Erika Mustermann",
                        "email": f"erika{n}@example.org",
                        "privacy_consent": True,
                        "language": "de",
                    },
                )
            )
            time.sleep(0.05)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


def figures(answers: list[Answer]) -> dict:
    counts: dict[str, int] = {}
    for a in answers:
        key = f"{a.method} {a.path.split('?')[0]} {a.status}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def test_a_restart_under_traffic_is_503_with_retry_after_and_then_200(server, portal):
    with Traffic(portal) as traffic:
        time.sleep(2)
        restart_begins = time.monotonic()
        server.ctl("-m", "fast", "restart")
        back = time.monotonic()
        time.sleep(4)
    answers = traffic.answers
    print(f"\nrestart took {back - restart_begins:.2f} s; {len(answers)} requests:", figures(answers))

    assert len(answers) > 50 and any(a.started > back for a in answers)
    assert not [a for a in answers if a.status >= 500 and a.status != 503], "no error page, no 500"
    assert not [a for a in answers if a.status == 0], "every request got an answer"
    # /healthz's 503 is its answer to the load balancer; everyone else is told when to come back.
    unavailable = [a for a in answers if a.status == 503 and a.path != "/healthz"]
    assert all(a.retry_after == "5" for a in unavailable), [(a.path, a.retry_after) for a in unavailable]
    allowed = {"GET": {200, 503}, "POST": {201, 503}}
    assert all(a.status in allowed[a.method] for a in answers), figures(answers)
    after = [a for a in answers if a.started > back + 0.5]
    assert after and all(a.status in (200, 201) for a in after), figures(after)

    # A booking caught by the restart was rolled back as a whole: no appointment without its mail.
    appointments, orphans = server.query(
        "SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM appointments_notification n"
        " WHERE n.appointment_id = a.id)) FROM appointments_appointment a"
    )
    booked = sum(1 for a in answers if a.status == 201)
    print(f"bookings: {booked} answered 201, {appointments} in the database, {orphans} without their mail")
    assert appointments >= booked > 0 and orphans == 0


def test_a_restart_between_requests_is_not_noticed(server, portal):
    """Kept connections that died with the restart (a quiet night) are tested before use and
    replaced: the next requests on every web worker succeed, none hits the dead connection."""
    assert all(portal.request(path).status == 200 for path in READS * 3)
    server.ctl("-m", "fast", "restart")
    answers = [portal.request(path) for path in READS * 3]
    print(f"\nafter a restart between requests: {figures(answers)}")
    assert all(a.status == 200 for a in answers), figures(answers)


def test_a_stopped_server_is_503_and_a_started_one_200(server, portal):
    slot = json.loads(portal.request(SLOTS).body)["slots"][-1]
    server.ctl("-m", "fast", "stop")
    try:
        time.sleep(1)
        health = portal.request("/healthz")
        assert health.status == 503 and health.seconds < 3, (health.status, health.seconds)
        assert json.loads(health.body)["database"].startswith("failing")

        booking = portal.request(
            "/api/v1/bookings",
            {
                "services": ["umschreibung"],
                "vehicles": 1,
                "municipality": "frankenthal-pfalz",
                "office": slot["office"],
                "start": slot["start"],
                "name": "Erika Mustermann",
                "email": "erika.stopped@example.org",
                "privacy_consent": True,
                "language": "de",
            },
        )
        assert booking.status == 503 and booking.retry_after == "5" and booking.seconds < 3
        body = json.loads(booking.body)
        assert body["code"] == "service_unavailable" and body["message"].startswith("Der Dienst ist")

        page = portal.request("/termin/kalender/?service=umschreibung&vehicles=1&municipality=frankenthal-pfalz")
        assert page.status == 503 and page.retry_after == "5"
        assert "Kurz nicht erreichbar" in page.body.decode()
        time.sleep(2)
    finally:
        server.start()
    assert wait_until(lambda: portal.request("/healthz").status == 200, timeout=10)
    answers = [portal.request(path) for path in READS * 3]
    assert all(a.status == 200 for a in answers), figures(answers)
    print(
        f"\nwith the server stopped: /healthz {health.status} in {health.seconds:.2f} s, "
        f"booking {booking.status} in {booking.seconds:.2f} s, page {page.status}; after the start: {figures(answers)}"
    )
