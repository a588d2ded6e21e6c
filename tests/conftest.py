"""Shared fixtures: the demo data of both administrations, named personas and the one clock.

PostgreSQL-only tests carry `@pytest.mark.postgres`; on SQLite they are skipped with a reason.

Time: a test that depends on the date asks for `clock` and never patches a module's helper. The
fixture freezes every reading of the time in the process (time-machine: `ikz_portal.clock`,
`timezone.now`, `time.time`, `date.today`) at Tuesday, 1 December 2026, 07:00 in Berlin; a test
moves it with `clock.now = …`, a module with another start says so with
`pytestmark = pytest.mark.clock_start(moment)`.
The suite must pass whatever the machine's date is: CI runs it once with the system clock moved.

Fixtures live here (or in the conftest.py of a package) and are never imported from another test
module; helpers (plain functions, constants) are.

Slow groups carry markers, set here by path: `browser` (tests/browser), `processes` (tests that
start gunicorn, Celery, PostgreSQL or Redis), `fuzz` (Hypothesis, Schemathesis), each also `slow`;
`make test ARGS="-m 'not slow'"` is the quick loop.
"""

import datetime as dt
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection

from offices.hours import BERLIN

TESTS = Path(__file__).parent

# The slow groups, by path below tests/: each also gets `slow`.
SLOW_GROUPS = {
    "browser": ["browser/"],
    "processes": ["test_outage.py", "test_database_restart.py", "appointments/test_worker_process.py"],
    "fuzz": ["test_fuzz.py", "test_openapi_fuzz.py"],
}


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    for item in items:
        path = item.path.relative_to(TESTS).as_posix() if item.path.is_relative_to(TESTS) else ""
        for group, prefixes in SLOW_GROUPS.items():
            if path.startswith(tuple(prefixes)):
                item.add_marker(group)
                item.add_marker("slow")

    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://… to run it")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def abuse_defences_off(settings):
    """The defences against hoarding (caps, rate limits, the delay before a cancelled time comes
    back) have tests of their own that switch them on; elsewhere many bookings share an address."""
    settings.MAX_ACTIVE_BOOKINGS_PER_EMAIL = 0
    settings.RATE_LIMIT_HOLD = settings.RATE_LIMIT_SUBMIT = "0"
    settings.RATE_LIMIT_EMAIL = settings.RATE_LIMIT_CONFIRM = "0"
    settings.RATE_LIMIT_BAD_TOKEN = "0"
    settings.CANCELLED_SLOT_DELAY_MINUTES = 0
    settings.HOARD_MAX_PER_ADDRESS = settings.HOARD_MAX_PER_NETWORK = 0
    settings.HOARD_NETWORK_DAY_SHARE_PERCENT = 0
    settings.API_UNCONFIRMED_MINUTES = 0  # as long as UNCONFIRMED_MINUTES
    settings.RATE_LIMIT_SEARCH = settings.RATE_LIMIT_SEARCH_NETWORK = "0"


@pytest.fixture(autouse=True)
def redis_failures_forgotten():
    """A process leaves a Redis that failed alone for a few seconds (appointments.shared_cache); a
    test that broke its Redis on purpose must not leave the next test without one."""
    from tests.process_state import forget_redis_failures

    forget_redis_failures()
    yield
    forget_redis_failures()


@pytest.fixture(autouse=True)
def login_throttle_off(settings):
    """django-axes needs the request in every authenticate() call (client.login() has none) and would
    lock the demo accounts after a few deliberate wrong passwords; tests/test_login_security.py
    switches it on and tests the throttle through the login pages."""
    settings.AXES_ENABLED = False


@pytest.fixture(autouse=True)
def staff_session_limits_off(settings):
    """Staff sessions end after a working day and an idle hour; tests that move the clock by hours
    between a clerk's requests would be logged out. tests/test_second_factor.py switches them on."""
    settings.STAFF_SESSION_MAX_HOURS = settings.STAFF_SESSION_IDLE_MINUTES = 0


@pytest.fixture
def demo(db):
    """Both administrations, all municipalities, the Schifferstadt and Frankenthal offices,
    the service catalogue and the cooperation rules, exactly as `manage.py seed_demo` makes them."""
    from offices.demo import seed_demo
    from offices.models import Administration, Municipality, Office, Service

    seed_demo()
    return SimpleNamespace(
        rpk=Administration.objects.get(slug="rhein-pfalz-kreis"),
        ft=Administration.objects.get(slug="frankenthal"),
        schifferstadt=Office.objects.get(slug="schifferstadt"),
        frankenthal=Office.objects.get(slug="frankenthal"),
        # Personas' homes: a Frankenthal citizen and a Lambsheim (Rhein-Pfalz-Kreis) citizen.
        frankenthal_citizen_home=Municipality.objects.get(slug="frankenthal-pfalz"),
        lambsheim_citizen_home=Municipality.objects.get(slug="lambsheim"),
        umschreibung=Service.objects.get(slug="umschreibung"),
        ausserbetriebsetzung=Service.objects.get(slug="ausserbetriebsetzung"),
        neuzulassung=Service.objects.get(slug="neuzulassung"),
    )


class FrozenClock:
    """The tests' handle on the one clock: reading `now` gives the frozen instant, setting it moves
    the whole process there (standing still until the next move)."""

    def __init__(self, traveller):
        self._traveller = traveller

    @property
    def now(self) -> dt.datetime:
        from ikz_portal import clock

        return clock.now()

    @now.setter
    def now(self, moment: dt.datetime) -> None:
        self._traveller.move_to(moment, tick=False)

    def __call__(self) -> dt.datetime:
        return self.now

    def shift(self, delta: dt.timedelta) -> None:
        self.now = self.now + delta


CLOCK_START = dt.datetime(2026, 12, 1, 7, 0, tzinfo=BERLIN)


@pytest.fixture
def clock(request, time_machine):
    """The frozen clock, at Tuesday, 1 December 2026, 07:00 in Berlin, or where the test's
    `clock_start` marker says; `clock.now = …` moves it."""
    frozen = FrozenClock(time_machine)
    start = request.node.get_closest_marker("clock_start")
    frozen.now = start.args[0] if start else CLOCK_START
    return frozen


def berlin(year, month, day, hour=0, minute=0):
    """An aware Europe/Berlin datetime, for readable test times."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=BERLIN)


@pytest.fixture
def citizen(demo, clock):
    """A Frankenthal citizen's browser, German by default."""
    from django.test import Client

    return Client()


@pytest.fixture
def desk(demo, clock):
    """The staff workspace's personas (tests/appointments/clerk_personas.py): the demo data, the
    browsers of the Frankenthal clerk, the Schifferstadt clerk and the administrator, and an
    anonymous one, all asking for English pages. Modules of the workspace start the clock at 07:30
    (`clock_start`)."""
    from tests.appointments.clerk_personas import client_for

    return SimpleNamespace(
        demo=demo,
        clock=clock,
        frankenthal_clerk=client_for("clerk-frankenthal"),
        schifferstadt_clerk=client_for("clerk-schifferstadt"),
        admin=client_for("admin"),
        anonymous=client_for(None),
    )


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"
