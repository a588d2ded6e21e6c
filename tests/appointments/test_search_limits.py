"""Searches cost the most work a client can ask for: `GET /api/v1/slots` and the calendar page are
rate-limited per client address and per network (429 with Retry-After), and one API search covers
at most SLOTS_MAX_DAYS days (400 `range_too_long`). The clock stands at Tuesday, 1 December 2026,
07:00 in Berlin."""

import pytest
from django.core.cache import cache
from django.test import Client

from appointments.models import BlockedAttempt
from tests.process_state import forget_local_counts

QUERY = {"service": "umschreibung", "vehicles": 1, "municipality": "frankenthal-pfalz"}
CALENDAR = "/termin/kalender/?service=umschreibung&vehicles=1&municipality=frankenthal-pfalz"


@pytest.fixture(autouse=True)
def fresh_counters(demo, clock):
    cache.clear()
    forget_local_counts()
    yield
    cache.clear()
    forget_local_counts()


def search(address="203.0.113.7", **params):
    return Client(REMOTE_ADDR=address).get(
        "/api/v1/slots", {**QUERY, "date_from": "2026-12-02", "date_to": "2026-12-02", **params}
    )


def test_slot_searches_are_limited_per_address_with_retry_after(settings):
    settings.RATE_LIMIT_SEARCH = "3/m"
    for _ in range(3):
        assert search().status_code == 200
    refused = search()
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited" and refused.json()["message"]
    assert 0 < int(refused["Retry-After"]) <= 120
    assert search(address="198.51.100.7").status_code == 200, "another client is not affected"
    assert BlockedAttempt.objects.get(reason="rate_limit_search").count == 1


def test_slot_searches_are_limited_per_network(settings):
    """Rotating addresses within a /24 does not multiply the searches."""
    settings.RATE_LIMIT_SEARCH_NETWORK = "4/m"
    for host in range(1, 5):
        assert search(address=f"203.0.113.{host}").status_code == 200
    refused = search(address="203.0.113.99")
    assert refused.status_code == 429 and "Retry-After" in refused
    assert search(address="203.0.114.1").status_code == 200


def test_the_calendar_page_answers_a_translated_429_page(settings):
    settings.RATE_LIMIT_SEARCH = "2/m"
    citizen = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(2):
        assert citizen.get(CALENDAR).status_code == 200
    refused = citizen.get(CALENDAR)
    assert refused.status_code == 429
    assert "Retry-After" in refused
    content = refused.content.decode()
    assert "<h1" in content and "Zu viele Anfragen" in content
    english = Client(REMOTE_ADDR="203.0.113.7", HTTP_ACCEPT_LANGUAGE="en").get(CALENDAR)
    assert english.status_code == 429 and "Too many requests" in english.content.decode()


def test_a_range_longer_than_the_cap_has_a_code_of_its_own(settings):
    settings.SLOTS_MAX_DAYS = 31
    within = search(date_from="2026-12-01", date_to="2026-12-31", office="frankenthal")
    assert within.status_code == 200 and within.json()["slots"]
    too_long = search(date_from="2026-12-01", date_to="2027-01-01")
    assert too_long.status_code == 400
    body = too_long.json()
    assert body["code"] == "range_too_long"
    assert "date_to" in body["errors"] and "31" in body["message"]
    ninety_two_days = search(date_from="2026-12-01", date_to="2027-03-02")
    assert ninety_two_days.status_code == 400 and ninety_two_days.json()["code"] == "range_too_long"


def test_the_default_range_stays_two_weeks():
    response = Client().get("/api/v1/slots", QUERY)
    assert response.status_code == 200
    days = {slot["start"][:10] for slot in response.json()["slots"]}
    assert max(days) <= "2026-12-14"


def test_the_openapi_document_names_the_cap_and_the_codes():
    document = Client().get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/slots"]["get"]
    assert "range_too_long" in operation["description"] and "31" in operation["description"]
    assert "429" in operation["responses"]
