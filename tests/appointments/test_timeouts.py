"""No request waits long on PostgreSQL: a lock that is not granted or a statement that runs too long
ends in 503 with Retry-After (the API's error shape, the portal's page), within a few seconds, and
what the request had written is rolled back. `migrate` runs without those timeouts."""

import json
import time
from contextlib import contextmanager

import psycopg
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client

from appointments.domain import free_time_cache
from appointments.models import Appointment, Notification
from ikz_portal.settings import postgres_options

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DAY = "2026-12-02"  # the clock fixture stands on the day before, 07:00
SLOTS = f"/api/v1/slots?service=umschreibung&vehicles=1&municipality=frankenthal-pfalz&date_from={DAY}&date_to={DAY}"
BOOKING = {
    "services": ["umschreibung"],
    "vehicles": 1,
    "municipality": "frankenthal-pfalz",
    "office": "frankenthal",
    "start": f"{DAY}T08:00:00+01:00",
    "name": "Erika Mustermann",
    "email": "erika@example.org",
    "privacy_consent": True,
    "language": "de",
}


@contextmanager
def timeouts(*, statement_ms, lock_ms):
    """Reconnect with lowered timeouts, made the way the settings make them."""
    saved = connection.settings_dict["OPTIONS"]
    connection.close()
    connection.settings_dict["OPTIONS"] = {
        **saved,
        **postgres_options(statement_timeout_ms=statement_ms, lock_timeout_ms=lock_ms, connect_timeout_seconds=3),
    }
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["OPTIONS"] = saved


@contextmanager
def locked(table):
    """Another session holds `table` in ACCESS EXCLUSIVE mode (as a long migration would) until the
    end of the block, then rolls back."""
    params = connection.get_connection_params()
    params = {key: params[key] for key in ("dbname", "user", "password", "host", "port") if params.get(key)}
    with psycopg.connect(**params) as other:
        other.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            other.rollback()


def cold_cache():
    """As after a restart: no free time computed yet, so a search has to read the appointments."""
    free_time_cache.forget()
    cache.clear()


def book(client):
    return client.post("/api/v1/bookings", json.dumps(BOOKING), content_type="application/json")


def timed(call):
    started = time.perf_counter()
    response = call()
    return response, time.perf_counter() - started


def assert_unavailable(response, elapsed):
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "5"
    assert elapsed < 3, f"took {elapsed:.1f} s"


@pytest.fixture
def client(demo, clock):
    return Client()


def timeouts_in_force() -> tuple[str, str]:
    """(statement_timeout, lock_timeout) of this process's database session, in milliseconds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT setting FROM pg_settings WHERE name = 'statement_timeout'),"
            " (SELECT setting FROM pg_settings WHERE name = 'lock_timeout')"
        )
        return cursor.fetchone()


def test_the_connections_carry_the_configured_timeouts(db, settings):
    """What the settings say is what the server applies to every connection of the portal."""
    assert timeouts_in_force() == (str(settings.DATABASE_STATEMENT_TIMEOUT_MS), str(settings.DATABASE_LOCK_TIMEOUT_MS))
    assert settings.DATABASES["default"]["OPTIONS"]["connect_timeout"] == settings.DATABASE_CONNECT_TIMEOUT_SECONDS
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


@pytest.mark.parametrize("statement_ms, lock_ms", [(5000, 500), (800, 0)], ids=["lock timeout", "statement timeout"])
def test_a_search_behind_a_locked_table_answers_503(client, statement_ms, lock_ms):
    assert client.get(SLOTS).status_code == 200
    with timeouts(statement_ms=statement_ms, lock_ms=lock_ms), locked("appointments_appointment"):
        cold_cache()
        response, elapsed = timed(lambda: client.get(SLOTS))
    assert_unavailable(response, elapsed)
    assert response.json() == {
        "code": "service_unavailable",
        "message": (
            "Der Dienst ist für einen Moment nicht erreichbar. Bitte versuchen Sie es in ein paar Sekunden erneut."
        ),
    }
    assert client.get(SLOTS).status_code == 200, "served again once the lock is gone"


def test_a_search_the_cache_knows_answers_behind_a_locked_table(client):
    """A search whose office-days are cached reads only their occupancy numbers, not the locked
    appointments: a long migration of that table does not stop citizens from searching."""
    free = client.get(SLOTS)
    assert free.status_code == 200 and free.json()["slots"]
    with timeouts(statement_ms=5000, lock_ms=500), locked("appointments_appointment"):
        response, elapsed = timed(lambda: client.get(SLOTS))
    assert response.status_code == 200 and elapsed < 3
    assert response.json()["slots"] == free.json()["slots"]


def test_a_booking_behind_a_locked_table_answers_503_in_english_on_request(client):
    with timeouts(statement_ms=5000, lock_ms=500), locked("appointments_appointment"):
        response, elapsed = timed(
            lambda: client.post(
                "/api/v1/bookings", json.dumps(BOOKING), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en"
            )
        )
    assert_unavailable(response, elapsed)
    assert response.json()["code"] == "service_unavailable"
    assert response.json()["message"].startswith("The service is unavailable for a moment.")
    assert Appointment.objects.count() == 0


def test_the_api_answers_503_in_its_own_shape_in_debug_mode_too(client, settings):
    """With DEBUG the API's framework would turn any error into a traceback page of its own; a
    database outage is still the API's 503."""
    settings.DEBUG = True
    with timeouts(statement_ms=5000, lock_ms=500), locked("appointments_appointment"):
        response, elapsed = timed(lambda: client.get(SLOTS))
    assert_unavailable(response, elapsed)
    assert response.json()["code"] == "service_unavailable"


def test_a_booking_caught_half_way_leaves_nothing_behind(client):
    """The appointment row is written, then its outbox row waits for a lock and times out: the
    transaction is rolled back as a whole, so no appointment exists without its e-mail. The same
    booking goes through once the lock is gone (so the 503 was the lock, not the input)."""
    with timeouts(statement_ms=5000, lock_ms=500):
        with locked("appointments_notification"):
            response, elapsed = timed(lambda: book(client))
        assert_unavailable(response, elapsed)
        assert Appointment.objects.count() == 0 and Notification.objects.count() == 0

        assert book(client).status_code == 201
    assert Appointment.objects.count() == 1 and Notification.objects.count() == 1


def test_a_page_behind_a_locked_table_is_the_portal_error_page(client):
    """The citizen sees the portal's page: German by default, English on request, never a 500."""
    page = f"/termin/kalender/?service=umschreibung&vehicles=1&municipality=frankenthal-pfalz&date={DAY}"
    assert client.get(page).status_code == 200
    with timeouts(statement_ms=5000, lock_ms=500), locked("appointments_appointment"):
        cold_cache()
        german, elapsed = timed(lambda: client.get(page))
        english = client.get(page, HTTP_ACCEPT_LANGUAGE="en")
    assert_unavailable(german, elapsed)
    assert english.status_code == 503 and english["Retry-After"] == "5"
    assert "Kurz nicht erreichbar" in german.content.decode()
    assert "Briefly unavailable" in english.content.decode()
    assert german["Content-Type"].startswith("text/html")


def test_migrate_runs_without_the_request_timeouts(db, settings, monkeypatch):
    """A migration that rewrites a large table or waits for a busy one is not cut off; afterwards
    the connection has its timeouts back."""
    from django.core.management.commands.migrate import Command as DjangoMigrate

    seen = []

    def handle(self, *args, **options):
        seen.append(timeouts_in_force())

    monkeypatch.setattr(DjangoMigrate, "handle", handle)
    call_command("migrate", verbosity=0)
    assert seen == [("0", "0")], "inside the migration"
    assert timeouts_in_force() == (str(settings.DATABASE_STATEMENT_TIMEOUT_MS), str(settings.DATABASE_LOCK_TIMEOUT_MS))
