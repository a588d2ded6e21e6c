"""The flash crowd over HTTP: gunicorn with the production settings, PostgreSQL, Redis and Celery
workers, started here on loopback ports and stopped again whatever happens.

A day's slots are released, and booking attempts from concurrent clients race for them through
the JSON API. Afterwards the database is checked: no two live appointments overlap on a counter,
every free slot of the day was taken exactly once, and every booking got its e-mail once.

The client is a small asyncio HTTP/1.1 client on the standard library (one connection per
request, as gunicorn's sync workers close them anyway). Every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection

from appointments.domain.availability import SlotRequest, find_slots, grid_starts
from appointments.domain.clerk import REFERENCE
from appointments.models import LIVE_STATUSES, Appointment, Notification
from offices.hours import BERLIN, is_public_holiday, load_office_schedules, local
from offices.models import Municipality, Office, Service

from .bench_availability import percentile

SERVICE = "ausserbetriebsetzung"  # 5 minutes, the office grid: a counter's day holds a fixed number
MUNICIPALITIES = ["schifferstadt", "frankenthal-pfalz", "lambsheim", "mutterstadt"]  # both areas
REQUEST_TIMEOUT = 30.0  # seconds for one request
PHASE_TIMEOUT = 300.0  # seconds for a whole phase (trivial load, crowd)
READY_TIMEOUT = 60.0  # seconds for servers and workers to come up
MAIL_TIMEOUT = 120.0  # seconds for the workers to send every confirmation mail
WARM_UP_PER_WORKER = 20  # trivial requests per gunicorn worker before anything is measured


# --- processes ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """gunicorn instances and Celery workers, each in its own process group, stopped on exit."""

    def __init__(
        self,
        *,
        database_url: str,
        redis_url: str,
        work_dir: Path,
        web: int,
        workers: int,
        web_workers: int = 2,
        worker_nice: int = 10,
    ):
        self.work_dir = work_dir
        self.mail_dir = work_dir / "mail"
        self.ports = [free_port() for _ in range(web)]
        self.env = {
            **os.environ,
            # The production settings, behind a TLS proxy that the client plays (X-Forwarded-Proto).
            "PRODUCTION": "1",
            "DEBUG": "0",
            "SECRET_KEY": "benchmark-secret-key-not-for-production-0123456789",
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(self.mail_dir),
            "IKZ_VAR_DIR": str(work_dir / "var"),
            "PORTAL_BASE_URL": "https://termine.bench.example",
            "CAPTCHA_ENABLED": "0",
            # Every client comes from 127.0.0.1: the per-address and per-e-mail limits are raised
            # by their settings, as a load test should.
            "BOOKING_RATE_LIMIT": "1000000/h",
            "RATE_LIMIT_HOLD": "1000000/h",
            "RATE_LIMIT_SUBMIT": "1000000/h",
            "RATE_LIMIT_EMAIL": "1000000/h",
            "RATE_LIMIT_CONFIRM": "1000000/h",
            "RATE_LIMIT_SEARCH": "1000000/m",
            "RATE_LIMIT_SEARCH_NETWORK": "1000000/m",
            "HOARD_MAX_PER_ADDRESS": "0",
            "HOARD_MAX_PER_NETWORK": "0",
            "HOARD_NETWORK_DAY_SHARE_PERCENT": "0",
            "LOG_LEVEL": "WARNING",
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.web_workers = web_workers
        self.worker_nice = worker_nice
        self.worker_count = workers
        self.web: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.logs: list = []

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen:
        log = open(self.work_dir / f"{name}.log", "wb")  # noqa: SIM115 - the process writes to it; stop() closes it
        self.logs.append(log)
        return subprocess.Popen(
            args, cwd=settings.BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start(self) -> None:
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        for port in self.ports:
            self.web.append(
                self._spawn(
                    [
                        sys.executable,
                        "-m",
                        "gunicorn",
                        "ikz_portal.wsgi",
                        "--workers",
                        str(self.web_workers),
                        "--bind",
                        f"127.0.0.1:{port}",
                        "--timeout",
                        "60",
                    ],
                    f"gunicorn-{port}",
                )
            )
        for number in range(1, self.worker_count + 1):
            # At a lower priority than gunicorn, as the README advises where both share a host:
            # in a rush the confirmations wait a moment for a free core, not the bookings.
            self.workers.append(
                self._spawn(
                    [
                        "nice",
                        "-n",
                        str(self.worker_nice),
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "ikz_portal",
                        "worker",
                        "--pool=solo",
                        "-n",
                        f"bench{number}@%h",
                        "--loglevel=info",
                        "--without-gossip",
                        "--without-mingle",
                    ],
                    f"celery-{number}",
                )
            )
        deadline = time.monotonic() + READY_TIMEOUT
        for port in self.ports:
            while asyncio.run(request(port, "GET", "/api/v1/offices", timeout=5)).status != 200:
                self._check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn on port {port} did not answer; see {self.work_dir}")
                time.sleep(0.3)
        for number in range(1, self.worker_count + 1):
            log = self.work_dir / f"celery-{number}.log"
            while b" ready." not in log.read_bytes():
                self._check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Celery worker {number} did not start; see {log}")
                time.sleep(0.3)

    def _check_alive(self) -> None:
        for process in self.web + self.workers:
            if process.poll() is not None:
                raise RuntimeError(
                    f"{' '.join(process.args[:4])}… exited with {process.returncode}; see {self.work_dir}"
                )

    def stop(self) -> None:
        processes = self.web + self.workers
        for process in processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 20
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout=10)
        for log in self.logs:
            log.close()

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def memory(self) -> dict[str, float]:
        """Resident memory (MB) of every gunicorn worker and Celery worker process."""
        web = [rss_mb(pid) for process in self.web for pid in children(process.pid)]
        celery = [rss_mb(process.pid) for process in self.workers]
        celery += [rss_mb(pid) for process in self.workers for pid in children(process.pid)]
        return {
            "web_max": max(web, default=float("nan")),
            "web_all": web,
            "worker_max": max(celery, default=float("nan")),
            "worker_all": celery,
        }

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) used so far by the gunicorn workers and the Celery workers."""
        web = sum(cpu_of(pid) for process in self.web for pid in children(process.pid))
        workers = sum(cpu_of(process.pid) for process in self.workers)
        return {"web": web, "workers": workers}


def processes_named(*names: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def machine_cpu_seconds() -> float:
    """CPU time the whole machine has been busy (all cores, not idle or waiting for the disk; not
    the time the hypervisor gave to other machines, "steal", which no process here used)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


BACKEND_CLIENT = re.compile(r"\S+\(\d+\)|\[local\]")  # "127.0.0.1(51234)" in a backend's title


def postgres_pids(database: str) -> list[int]:
    """PostgreSQL's processes working for the benchmark: the backends and autovacuum workers of its
    own database (and their parallel workers), and the server's background processes (postmaster,
    checkpointer, WAL writer, ...), which serve every database. Not the backends of other databases
    on the same server: other people's tests are not the benchmark's cost."""
    ours: list[int] = []
    parallel: list[tuple[int, int]] = []
    for pid in processes_named("postgres"):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        words = title.split()
        if database in words:
            ours.append(pid)
        elif "parallel worker for PID" in title:
            leader = re.search(r"parallel worker for PID (\d+)", title)
            if leader:
                parallel.append((pid, int(leader.group(1))))
        elif not (BACKEND_CLIENT.search(title) or "autovacuum worker" in title or "walsender" in title):
            ours.append(pid)
    return ours + [pid for pid, leader in parallel if leader in ours]


class CpuMeter:
    """Where the CPU time of a phase went: the gunicorn workers, the Celery workers, PostgreSQL's
    processes of the benchmark's database (database.DB_NAME), Redis, this process (the load
    client) and the machine as a whole. PostgreSQL's backends come and go (a gunicorn worker's
    connection is renewed after CONN_MAX_AGE): a thread reads them every second, so that one that
    ends during the phase keeps the time it had used."""

    SAMPLE_SECONDS = 1.0

    def __init__(self, stack: Stack):
        from .database import DB_NAME

        self.stack = stack
        self.database = DB_NAME
        self._postgres: dict[int, float] = {}
        self._stop = threading.Event()

    def _sample_postgres(self) -> None:
        for pid in postgres_pids(self.database):
            seconds = cpu_of(pid)
            if seconds >= self._postgres.get(pid, 0.0):
                self._postgres[pid] = seconds

    def _sampler(self) -> None:
        while not self._stop.wait(self.SAMPLE_SECONDS):
            self._sample_postgres()

    def _read(self) -> dict:
        return {
            "stack": self.stack.cpu_seconds(),
            "redis": sum(cpu_of(pid) for pid in processes_named("redis-server")),
            "client": time.process_time(),
            "machine": machine_cpu_seconds(),
        }

    def __enter__(self):
        self._sample_postgres()
        self.postgres_began = dict(self._postgres)
        self._thread = threading.Thread(target=self._sampler, daemon=True)
        self._thread.start()
        self.began = self._read()
        return self

    def __exit__(self, *exc):
        end = self._read()
        self._stop.set()
        self._thread.join()
        self._sample_postgres()
        began = self.began
        # A PostgreSQL process that started during the phase counts from zero.
        postgres = sum(seconds - self.postgres_began.get(pid, 0.0) for pid, seconds in self._postgres.items())
        self.seconds = {
            "web": end["stack"]["web"] - began["stack"]["web"],
            "workers": end["stack"]["workers"] - began["stack"]["workers"],
            "postgres": postgres,
            "redis": end["redis"] - began["redis"],
            "client": end["client"] - began["client"],
            "machine": end["machine"] - began["machine"],
        }

    def per_request_ms(self, requests: int) -> dict:
        return {name: seconds * 1000 / max(requests, 1) for name, seconds in self.seconds.items()}


def cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are fields 14 and 15 of stat; after the ")" the list starts at field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command may contain spaces and parentheses: the parent pid follows the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# --- the client -----------------------------------------------------------------------------------


@dataclass
class Response:
    status: int  # 0: no answer (connection refused, reset, timeout)
    body: dict | list | None
    seconds: float
    error: str = ""

    @property
    def code(self) -> str:
        if isinstance(self.body, dict):
            return str(self.body.get("code", ""))
        return ""


def _dechunk(data: bytes) -> bytes:
    out, rest = b"", data
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


async def request(port: int, method: str, path: str, body=None, timeout: float = REQUEST_TIMEOUT) -> Response:
    began = time.perf_counter()
    payload = json.dumps(body).encode() if body is not None else b""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n"
        "Accept: application/json\r\nX-Forwarded-Proto: https\r\n"
    )
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    writer = None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
        writer.write(head.encode() + b"\r\n" + payload)
        raw = await asyncio.wait_for(reader.read(), timeout)
    except (TimeoutError, OSError) as exc:
        return Response(0, None, time.perf_counter() - began, error=type(exc).__name__)
    finally:
        if writer is not None:
            writer.close()
    seconds = time.perf_counter() - began
    header, _, content = raw.partition(b"\r\n\r\n")
    try:
        status = int(header.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return Response(0, None, seconds, error="bad response")
    if b"transfer-encoding: chunked" in header.lower():
        content = _dechunk(content)
    try:
        parsed = json.loads(content) if content else None
    except ValueError:
        parsed = None
    return Response(status, parsed, seconds)


def latency(responses: list[Response]) -> dict:
    ms = [r.seconds * 1000 for r in responses]
    return {"p50": percentile(ms, 50), "p95": percentile(ms, 95), "p99": percentile(ms, 99)}


async def trivial_load(ports: list[int], *, total: int, clients: int) -> dict:
    """Requests per second for a trivial JSON view (the office list: one small query)."""
    remaining = total
    responses: list[Response] = []
    deadline = time.monotonic() + PHASE_TIMEOUT

    async def client(number: int):
        nonlocal remaining
        port = ports[number % len(ports)]
        while remaining > 0 and time.monotonic() < deadline:
            remaining -= 1
            responses.append(await request(port, "GET", "/api/v1/offices"))

    began = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    seconds = time.perf_counter() - began
    ok = [r for r in responses if r.status == 200]
    return {
        "requests": len(responses),
        "ok": len(ok),
        "seconds": seconds,
        "rps": len(responses) / seconds,
        **latency(responses),
    }


# --- the flash crowd ------------------------------------------------------------------------------


@dataclass
class Crowd:
    attempts: int = 0
    successes: int = 0
    slot_taken: int = 0
    other_4xx: dict = field(default_factory=dict)
    server_errors: int = 0
    transport_errors: int = 0
    seconds: float = 0.0
    latency: dict = field(default_factory=dict)
    references: list = field(default_factory=list)
    slot_list_ms: dict = field(default_factory=dict)
    web_cpu_ms: float = 0.0  # gunicorn CPU per request of the crowd (bookings and slot lists)
    cpu: dict = field(default_factory=dict)  # CPU ms per request of the crowd, by process (CpuMeter)
    worker_cpu_ms: float = 0.0  # Celery CPU during the crowd (sending the mails)


def release_day(after: dt.date, taken: set) -> dt.date:
    """A Monday, Wednesday or Friday (morning hours only at both offices) without holiday or
    closure, to be released: none of its appointments stay."""
    from offices.models import Closure

    day = after
    while (
        day.weekday() not in (0, 2, 4)
        or is_public_holiday(day)
        or day in taken
        or Closure.objects.filter(start_date__lte=day, end_date__gte=day).exists()
    ):
        day += dt.timedelta(days=1)
    offices = Office.objects.filter(slug__in=["schifferstadt", "frankenthal"])
    Appointment.objects.filter(
        office__in=offices, start__gte=local(day, dt.time(0)), start__lt=local(day + dt.timedelta(days=1), dt.time(0))
    ).delete()
    return day


def capacity(day: dt.date, now: dt.datetime) -> int:
    """(counter, start) pairs the day offers for the 5-minute service: what the crowd can book."""
    service = Service.objects.get(slug=SERVICE)
    offices = list(Office.objects.filter(slug__in=["schifferstadt", "frankenthal"]))
    schedules = load_office_schedules(offices, day, day)
    total = 0
    for office in offices:
        schedule = schedules[office.id]
        not_before = now + dt.timedelta(minutes=office.min_lead_minutes)
        for counter in schedule.counters_for({service.id}):
            for interval in schedule.working_intervals(counter.id, day):
                total += len(list(grid_starts(interval, service.minutes_for(1), office.slot_minutes, not_before)))
    return total


async def flash_crowd(ports: list[int], *, day: dt.date, attempts: int, clients: int, tag: str, seed: int) -> Crowd:
    rng = random.Random(seed)
    result = Crowd()
    budget = attempts
    responses: list[Response] = []
    slot_fetches: list[Response] = []
    deadline = time.monotonic() + PHASE_TIMEOUT
    query = {"service": SERVICE, "vehicles": 1, "date_from": day.isoformat(), "date_to": day.isoformat()}

    async def client(number: int):
        nonlocal budget
        port = ports[number % len(ports)]
        municipality = MUNICIPALITIES[number % len(MUNICIPALITIES)]
        fetched = await request(port, "GET", "/api/v1/slots?" + urlencode({**query, "municipality": municipality}))
        slot_fetches.append(fetched)
        listed = (fetched.body or {}).get("slots", []) if fetched.status == 200 else []
        candidates = list(listed)
        offered: list = []
        while budget > 0 and time.monotonic() < deadline:
            budget -= 1
            # A time offered with the last "just taken" answer, else any time of the list fetched
            # at the start (stale by now), else any time at all: every attempt targets the day.
            pool = offered or candidates or listed
            if not pool:
                break
            slot = rng.choice(pool)
            attempt = number * 100000 + len(responses)
            response = await request(
                port,
                "POST",
                "/api/v1/bookings",
                {
                    "services": [SERVICE],
                    "vehicles": 1,
                    "municipality": municipality,
                    "office": slot["office"],
                    "start": slot["start"],
                    "name": "Crowd Citizen",
                    "email": f"crowd-{tag}-{attempt}@bench.example",
                    "privacy_consent": True,
                    "language": "de",
                },
            )
            responses.append(response)
            offered = []
            if response.status == 201:
                result.references.append(response.body["reference"])
            elif response.status == 409 and response.code == "slot_taken":
                if slot in candidates:
                    candidates.remove(slot)
                offered = [a for a in response.body.get("alternatives", []) if a["start"][:10] == day.isoformat()]

    began = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    result.seconds = time.perf_counter() - began
    result.attempts = len(responses)
    for response in responses:
        if response.status == 201:
            result.successes += 1
        elif response.status == 409 and response.code == "slot_taken":
            result.slot_taken += 1
        elif 400 <= response.status < 500:
            result.other_4xx[f"{response.status} {response.code}"] = (
                result.other_4xx.get(f"{response.status} {response.code}", 0) + 1
            )
        elif response.status >= 500:
            result.server_errors += 1
        else:
            result.transport_errors += 1
    result.latency = latency(responses)
    result.slot_list_ms = latency(slot_fetches)
    return result


# --- the search crowd and the mixed crowd -------------------------------------------------------

SEARCH_DAYS = 28  # a citizen's first look: four weeks, any office


@dataclass
class SearchCrowd:
    """Latency and throughput per kind of request ("page": the citizen's first results page, the
    calendar of an any-office search; "days": the API day overview of four weeks; "slots": the API's
    4-week any-office list of start times; "booking" in the mixed crowd)."""

    name: str
    seconds: float = 0.0
    by_kind: dict = field(default_factory=dict)  # kind -> {"requests", "ok", "4xx", "5xx", "none", p50, p95, p99}
    requests: int = 0
    cpu: dict = field(default_factory=dict)
    trivial: dict = field(default_factory=dict)  # the trivial view measured just before this crowd

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _search_paths(first: dt.date, municipality: str) -> dict[str, str]:
    query = urlencode(
        {
            "service": SERVICE,
            "vehicles": 1,
            "municipality": municipality,
            "date_from": first.isoformat(),
            "date_to": (first + dt.timedelta(days=SEARCH_DAYS - 1)).isoformat(),
        }
    )
    page = urlencode({"service": SERVICE, "vehicles": 1, "municipality": municipality})
    return {
        # The citizen's first results page: the day strip of the whole horizon and the first day's times.
        "page": "/termin/kalender/?" + page,
        "slots": "/api/v1/slots?" + query,
        "days": "/api/v1/days?" + query,
    }


def _summarise(crowd: SearchCrowd, responses: dict[str, list[Response]]) -> None:
    for kind, answers in responses.items():
        crowd.by_kind[kind] = {
            "requests": len(answers),
            "ok": sum(1 for r in answers if 200 <= r.status < 300),
            "4xx": sum(1 for r in answers if 400 <= r.status < 500),
            "5xx": sum(1 for r in answers if r.status >= 500),
            "none": sum(1 for r in answers if r.status == 0),
            **(latency(answers) if answers else {"p50": 0.0, "p95": 0.0, "p99": 0.0}),
        }
    crowd.requests = sum(len(answers) for answers in responses.values())


async def search_crowd(ports: list[int], *, first: dt.date, total: int, clients: int) -> SearchCrowd:
    """`clients` citizens at once, each asking for the first results page of an any-office search
    and the API's day overview of four weeks in turn (first looks: no If-None-Match), until `total`
    requests are sent."""
    crowd = SearchCrowd("search")
    remaining = total
    responses: dict[str, list[Response]] = {"page": [], "days": []}
    deadline = time.monotonic() + PHASE_TIMEOUT

    async def client(number: int):
        nonlocal remaining
        port = ports[number % len(ports)]
        paths = _search_paths(first, MUNICIPALITIES[number % len(MUNICIPALITIES)])
        kinds = ["page", "days"] if number % 2 else ["days", "page"]
        turn = 0
        while remaining > 0 and time.monotonic() < deadline:
            remaining -= 1
            kind = kinds[turn % 2]
            turn += 1
            responses[kind].append(await request(port, "GET", paths[kind]))

    began = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    crowd.seconds = time.perf_counter() - began
    _summarise(crowd, responses)
    return crowd


async def mixed_crowd(
    ports: list[int], *, first: dt.date, avoid: dt.date, total: int, clients: int, tag: str, seed: int
) -> SearchCrowd:
    """Nine searches to one booking: each client searches (the results page, the day overview and
    the slot list in turn) and, every tenth request, books a random time of its last slot list (not
    on `avoid`, the flash crowd's day)."""
    rng = random.Random(seed)
    crowd = SearchCrowd("mixed")
    remaining = total
    responses: dict[str, list[Response]] = {"page": [], "days": [], "slots": [], "booking": []}
    deadline = time.monotonic() + PHASE_TIMEOUT

    async def client(number: int):
        nonlocal remaining
        port = ports[number % len(ports)]
        municipality = MUNICIPALITIES[number % len(MUNICIPALITIES)]
        paths = _search_paths(first, municipality)
        listed: list = []
        turn = number  # the clients' bookings do not all come at once
        while remaining > 0 and time.monotonic() < deadline:
            remaining -= 1
            turn += 1
            if turn % 10 == 0 and listed:
                slot = rng.choice(listed)
                body = {
                    "services": [SERVICE],
                    "vehicles": 1,
                    "municipality": municipality,
                    "office": slot["office"],
                    "start": slot["start"],
                    "name": "Mixed Citizen",
                    "email": f"mixed-{tag}-{number}-{turn}@bench.example",
                    "privacy_consent": True,
                    "language": "de",
                }
                responses["booking"].append(await request(port, "POST", "/api/v1/bookings", body))
                continue
            kind = ("slots", "page", "days")[turn % 3] if listed else "slots"
            response = await request(port, "GET", paths[kind])
            responses[kind].append(response)
            if kind == "slots" and response.status == 200 and isinstance(response.body, dict):
                listed = [s for s in response.body.get("slots", []) if s["start"][:10] != avoid.isoformat()]

    began = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    crowd.seconds = time.perf_counter() - began
    _summarise(crowd, responses)
    return crowd


# --- checks ---------------------------------------------------------------------------------------

OVERLAPS_SQL = """
SELECT count(*) FROM appointments_appointment a
JOIN appointments_appointment b
  ON a.counter_id = b.counter_id AND a.id < b.id AND a.start < b."end" AND b.start < a."end"
WHERE a.status = ANY(%(live)s) AND b.status = ANY(%(live)s)
"""


def overlaps() -> int:
    """Pairs of live appointments that overlap on one counter, in the whole table."""
    with connection.cursor() as cursor:
        cursor.execute(OVERLAPS_SQL, {"live": [str(s) for s in LIVE_STATUSES]})
        return cursor.fetchone()[0]


def booked_on(day: dt.date) -> int:
    return Appointment.objects.filter(
        status__in=LIVE_STATUSES,
        start__gte=local(day, dt.time(0)),
        start__lt=local(day + dt.timedelta(days=1), dt.time(0)),
        office__slug__in=["schifferstadt", "frankenthal"],
    ).count()


def still_free(day: dt.date, now: dt.datetime) -> int:
    """Free slots of the released day after the crowd, as a citizen would see them."""
    request = SlotRequest(
        services=(Service.objects.get(slug=SERVICE),),
        vehicles=1,
        municipality=Municipality.objects.select_related("administration").get(slug=MUNICIPALITIES[0]),
        date_from=day,
        date_to=day,
    )
    return len(find_slots(request=request, now=now))


def wait_for_mail(references: list[str]) -> float:
    """Seconds until no opt-in message of these bookings is pending any more (bounded)."""
    began = time.monotonic()
    while time.monotonic() - began < MAIL_TIMEOUT:
        pending = Notification.objects.filter(
            appointment__reference__in=references, kind=Notification.Kind.OPT_IN, state=Notification.State.PENDING
        ).count()
        if not pending:
            break
        time.sleep(0.5)
    return time.monotonic() - began


def outbox_states(references: list[str]) -> tuple[dict[str, int], dt.datetime | None]:
    """The outbox's word on the opt-in messages of these bookings: how many are in each state
    (sent, dropped, failed, pending), and when the last one was sent."""
    rows = Notification.objects.filter(appointment__reference__in=references, kind=Notification.Kind.OPT_IN)
    states: dict[str, int] = {}
    for state in rows.values_list("state", flat=True):
        states[str(state)] = states.get(str(state), 0) + 1
    last = rows.filter(state=Notification.State.SENT).order_by("-sent_at").values_list("sent_at", flat=True).first()
    return states, last


MAIL_SEPARATOR = b"\n" + b"-" * 79 + b"\n"  # what Django's file backend writes after each message


def mails(mail_dir: Path) -> tuple[dict[str, int], int]:
    """Messages per booking reference, from the file backend's files (a file holds every message
    sent through one connection, each followed by a line of 79 dashes), and the number of messages
    whose subject names no reference. A reference is read as the portal writes it ("K7Q-4MZP", and
    the earlier "FT-AB2CD3"): with the pattern the clerks' search reads it with."""
    counts: dict[str, int] = {}
    unmatched = 0
    for path in sorted(mail_dir.glob("*")):
        for chunk in path.read_bytes().split(MAIL_SEPARATOR):
            if not chunk.strip():
                continue
            message = email.message_from_bytes(chunk.lstrip(b"\n"), policy=email.policy.default)
            found = REFERENCE.search(str(message.get("subject", "")))
            if found:
                counts[found.group(0)] = counts.get(found.group(0), 0) + 1
            else:
                unmatched += 1
    return counts, unmatched


@dataclass
class MailCheck:
    """Every booking of the crowd got its opt-in mail once: from the mail files, and the outbox's
    states of the same messages beside them."""

    bookings: int
    sent: int  # messages in the files for the crowd's bookings
    missing: int  # bookings without a message
    twice: int  # bookings with more than one
    unmatched: int  # messages in the files whose subject names no reference
    states: dict  # outbox state -> opt-in messages of the crowd's bookings
    seconds: float | None  # from the crowd's start until the last one was sent (None: none sent)

    @property
    def ok(self) -> bool:
        return self.sent == self.bookings and not self.missing and not self.twice


def check_mails(mail_dir: Path, references: list[str], began: dt.datetime) -> MailCheck:
    found, unmatched = mails(mail_dir)
    wanted = set(references)
    states, last = outbox_states(references)
    return MailCheck(
        bookings=len(wanted),
        sent=sum(found.get(ref, 0) for ref in wanted),
        missing=sum(1 for ref in wanted if ref not in found),
        twice=sum(1 for ref in wanted if found.get(ref, 0) > 1),
        unmatched=unmatched,
        states=states,
        seconds=(last - began).total_seconds() if last else None,
    )


@dataclass
class CrowdRun:
    name: str
    web: int
    workers: int
    day: dt.date
    capacity: int
    trivial: dict  # the trivial view measured just before the flash crowd, on the same warm server
    crowd: Crowd
    overlaps: int
    booked: int
    still_free: int
    mail: MailCheck
    memory: dict
    web_workers: int = 2
    worker_nice: int = 10
    searches: list = field(default_factory=list)  # SearchCrowd: the search crowd, the mixed crowd
    phases: list = field(default_factory=list)  # Phase: where the CPU went, phase by phase

    @property
    def attempts_per_second(self) -> float:
        return self.crowd.attempts / self.crowd.seconds if self.crowd.seconds else 0.0

    @property
    def bookings_per_second(self) -> float:
        return self.crowd.successes / self.crowd.seconds if self.crowd.seconds else 0.0


@dataclass
class Phase:
    """One measured phase of a run: its CPU per request by process and the load average (1 min)
    when it began."""

    name: str
    cpu: dict
    load: float


def load_now() -> float:
    return os.getloadavg()[0]


def measure_trivial(stack: Stack, *, total: int, clients: int, phases: list, label: str) -> dict:
    """The trivial view's requests/s on this server as it is now (warm), with its CPU: the yardstick
    of the crowd measured right after it."""
    load = load_now()
    with CpuMeter(stack) as meter:
        trivial = asyncio.run(trivial_load(stack.ports, total=total, clients=clients))
    trivial["cpu"] = meter.per_request_ms(trivial["requests"])
    trivial["cpu_ms"] = trivial["cpu"]["web"]
    phases.append(Phase(label, trivial["cpu"], load))
    return trivial


def run_crowd(
    *,
    name: str,
    web: int,
    workers: int,
    day: dt.date,
    database_url: str,
    redis_url: str,
    work_dir: Path,
    attempts: int,
    clients: int,
    trivial_requests: int,
    seed: int,
    web_workers: int = 2,
    worker_nice: int = 10,
    search_requests: int = 0,
) -> CrowdRun:
    """Start the stack, warm it up, and measure each crowd right after the trivial view on the same
    warm server, so that every crowd's share of the trivial view compares like with like."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # the benchmark's own database number: counters, queues
    now = dt.datetime.now(dt.UTC)
    supply = capacity(day, now)
    work_dir.mkdir(parents=True, exist_ok=True)
    phases: list[Phase] = []
    with Stack(
        database_url=database_url,
        redis_url=redis_url,
        work_dir=work_dir,
        web=web,
        workers=workers,
        web_workers=web_workers,
        worker_nice=worker_nice,
    ) as stack:
        # Every worker process answers a few requests first (its database connection, the
        # configuration in memory, Django's lazy set-up): no baseline pays for a cold start.
        asyncio.run(trivial_load(stack.ports, total=WARM_UP_PER_WORKER * web * web_workers, clients=clients))
        trivial = measure_trivial(
            stack, total=trivial_requests, clients=clients, phases=phases, label="trivial view, before the flash crowd"
        )
        # The mails of the crowd's bookings are sent while it runs and after: their cost is the
        # Celery workers' share, counted until the last one is sent.
        load = load_now()
        began = dt.datetime.now(dt.UTC)
        with CpuMeter(stack) as crowd_cpu:
            crowd = asyncio.run(
                flash_crowd(stack.ports, day=day, attempts=attempts, clients=clients, tag=name, seed=seed)
            )
            wait_for_mail(crowd.references)
        # CPU per request: what one booking costs each part beside one trivial request.
        crowd.cpu = crowd_cpu.per_request_ms(crowd.attempts + clients)
        crowd.web_cpu_ms = crowd.cpu["web"]
        crowd.worker_cpu_ms = crowd_cpu.seconds["workers"] * 1000
        phases.append(Phase("flash crowd (and its mails)", crowd.cpu, load))
        searches = []
        if search_requests:
            first = (now + dt.timedelta(days=1)).astimezone(BERLIN).date()
            for kind in ("search", "mixed"):
                baseline = measure_trivial(
                    stack,
                    total=trivial_requests,
                    clients=clients,
                    phases=phases,
                    label=f"trivial view, before the {kind} crowd",
                )
                load = load_now()
                with CpuMeter(stack) as meter:
                    if kind == "search":
                        found = asyncio.run(
                            search_crowd(stack.ports, first=first, total=search_requests, clients=clients)
                        )
                    else:
                        found = asyncio.run(
                            mixed_crowd(
                                stack.ports,
                                first=first,
                                avoid=day,
                                total=search_requests,
                                clients=clients,
                                tag=name,
                                seed=seed,
                            )
                        )
                found.cpu = meter.per_request_ms(found.requests)
                found.trivial = baseline
                phases.append(Phase(f"{kind} crowd", found.cpu, load))
                searches.append(found)
        memory = stack.memory()
    # Read after the workers stopped: every file the mail backend wrote is closed.
    mail = check_mails(stack.mail_dir, crowd.references, began)
    return CrowdRun(
        name=name,
        web=web,
        workers=workers,
        day=day,
        capacity=supply,
        trivial=trivial,
        crowd=crowd,
        overlaps=overlaps(),
        booked=booked_on(day),
        still_free=still_free(day, dt.datetime.now(dt.UTC)),
        mail=mail,
        memory=memory,
        web_workers=web_workers,
        worker_nice=worker_nice,
        searches=searches,
        phases=phases,
    )
