"""Shared fixtures: the demo data of both administrations and named personas.

PostgreSQL-only tests carry `@pytest.mark.postgres`; on SQLite they are skipped with a reason.
"""
import datetime as dt
from types import SimpleNamespace

import pytest
from django.db import connection

from offices.hours import BERLIN


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

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
    settings.CANCELLED_SLOT_DELAY_MINUTES = 0


@pytest.fixture(autouse=True)
def login_throttle_off(settings):
    """django-axes needs the request in every authenticate() call (client.login() has none) and would
    lock the demo accounts after a few deliberate wrong passwords; tests/test_login_security.py
    switches it on and tests the throttle through the login pages."""
    settings.AXES_ENABLED = False


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


def berlin(year, month, day, hour=0, minute=0):
    """An aware Europe/Berlin datetime, for readable test times."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=BERLIN)


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"
