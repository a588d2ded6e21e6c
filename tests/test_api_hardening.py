"""The API against requests from elsewhere: writes only as JSON (415), one answer for an unknown
reference and a wrong token (404 not_found) with wrong tokens rate-limited per address (429), a too
large body in the API's error shape (413 too_large), and booking answers that no cache keeps.

Persona: Erika Mustermann of Frankenthal books through the API; a guesser tries references and
tokens from another address. The clock stands at Tuesday 1 December 2026, 07:00 (the `clock` fixture).
"""

import json
import re

import pytest
from django.core.cache import cache
from django.test import Client

from appointments.models import Appointment, Notification

START = "2026-12-02T08:00:00+01:00"
LATER = "2026-12-02T10:00:00+01:00"
BOOKING = {
    "services": ["umschreibung"],
    "vehicles": 1,
    "municipality": "frankenthal-pfalz",
    "office": "frankenthal",
    "start": START,
    "name": "Erika Mustermann",
    "email": "erika@example.org",
    "privacy_consent": True,
}


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def erika(demo, clock):
    return Client()


@pytest.fixture
def booked(erika):
    response = erika.post("/api/v1/bookings", json.dumps(BOOKING), content_type="application/json")
    assert response.status_code == 201, response.content
    reference = response.json()["reference"]
    token = (
        Notification.objects.filter(appointment__reference=reference, kind=Notification.Kind.OPT_IN)
        .latest("id")
        .payload["token"]
    )
    return reference, token


def page_without(response, reference: str) -> str:
    """The page with the reference and the form token (new on every page) taken out."""
    html = response.content.decode().replace(reference, "")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code and isinstance(body["message"], str) and body["message"], body
    return body


# --- 8: JSON only -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""]
)
def test_a_booking_sent_as_anything_but_json_is_refused_with_415(erika, content_type):
    """What a form or a fetch without preflight on another site can send books nothing."""
    response = erika.generic("POST", "/api/v1/bookings", json.dumps(BOOKING), content_type=content_type)
    assert_error(response, 415, "unsupported_media_type")
    assert not Appointment.objects.exists()


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"]
)
def test_json_with_or_without_a_charset_books(erika, content_type):
    response = erika.generic("POST", "/api/v1/bookings", json.dumps(BOOKING), content_type=content_type)
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_every_api_write_needs_json(booked, method):
    reference, token = booked
    client = Client()
    for path in (f"/api/v1/bookings/{reference}/cancel", f"/api/v1/bookings/{reference}/confirm", "/api/v1/bookings"):
        response = client.generic(method, path, json.dumps({"token": token}), content_type="text/plain")
        assert_error(response, 415, "unsupported_media_type")
    assert Appointment.objects.get(reference=reference).status == "unconfirmed"


def test_the_415_message_follows_the_language(erika):
    german = erika.generic("POST", "/api/v1/bookings", "{}", content_type="text/plain")
    english = erika.generic("POST", "/api/v1/bookings", "{}", content_type="text/plain", HTTP_ACCEPT_LANGUAGE="en")
    assert "JSON" in german.json()["message"] and german.json()["message"] != english.json()["message"]


def test_reads_need_no_content_type(erika):
    assert erika.get("/api/v1/services").status_code == 200


def test_the_portals_own_scripts_write_to_the_api_only_as_json():
    """The pages work without the API's writes; a script that posts to it must send JSON."""
    from django.conf import settings

    for script in (settings.BASE_DIR / "static" / "js").glob("*.js"):
        source = script.read_text()
        if "/api/v1" in source and "method" in source:
            assert "application/json" in source, script.name


# --- 9: no reference oracle --------------------------------------------------------------------------


def manage_requests(reference, token):
    return [
        ("GET", f"/api/v1/bookings/{reference}", {"token": token}),
        ("POST", f"/api/v1/bookings/{reference}/confirm", {"token": token}),
        ("POST", f"/api/v1/bookings/{reference}/cancel", {"token": token}),
        ("POST", f"/api/v1/bookings/{reference}/reschedule", {"token": token, "office": "frankenthal", "start": LATER}),
    ]


def send(client, method, path, data):
    if method == "GET":
        return client.get(path, data)
    return client.post(path, json.dumps(data), content_type="application/json")


def test_an_unknown_reference_and_a_wrong_token_answer_alike(booked):
    """The answers for Erika's real reference with a guessed token and for a reference that does not
    exist are the same in status, code and message: nobody learns which references exist."""
    reference, _token = booked
    guesser = Client(REMOTE_ADDR="198.51.100.9")
    for (method, path, data), (_m, unknown_path, unknown_data) in zip(
        manage_requests(reference, "guess"), manage_requests("FT-ZZZZZZ", "guess"), strict=True
    ):
        real = assert_error(send(guesser, method, path, data), 404, "not_found")
        unknown = assert_error(send(guesser, method, unknown_path, unknown_data), 404, "not_found")
        assert real == unknown, path
    assert Appointment.objects.get(reference=reference).status == "unconfirmed"


def test_wrong_tokens_are_rate_limited_per_address(booked, settings):
    reference, token = booked
    settings.RATE_LIMIT_BAD_TOKEN = "5/h"
    guesser = Client(REMOTE_ADDR="198.51.100.9")
    for attempt in range(5):
        assert guesser.get(f"/api/v1/bookings/FT-ZZZZZ{attempt}", {"token": "guess"}).status_code == 404
    limited = guesser.get(f"/api/v1/bookings/{reference}", {"token": "guess"})
    assert_error(limited, 429, "rate_limited")
    assert int(limited["Retry-After"]) > 0
    assert_error(
        guesser.post(
            f"/api/v1/bookings/{reference}/cancel", json.dumps({"token": "guess"}), content_type="application/json"
        ),
        429,
        "rate_limited",
    )
    # Erika, from her own address, is not affected; nor is a right token from the guesser's address.
    assert Client().get(f"/api/v1/bookings/{reference}", {"token": token}).status_code == 200
    assert guesser.get(f"/api/v1/bookings/{reference}", {"token": token}).status_code == 200


def test_the_manage_pages_answer_alike_and_are_rate_limited(booked, settings):
    reference, token = booked
    settings.RATE_LIMIT_BAD_TOKEN = "3/h"
    guesser = Client(REMOTE_ADDR="198.51.100.9")
    real = guesser.get(f"/termin/{reference}/?token=guess")
    unknown = guesser.get("/termin/FT-ZZZZZZ/?token=guess")
    assert real.status_code == unknown.status_code == 404
    assert page_without(real, reference) == page_without(unknown, "FT-ZZZZZZ")
    guesser.get("/termin/FT-ZZZZZY/?token=guess")
    limited = guesser.get(f"/termin/{reference}/?token=guess")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert Client().get(f"/termin/{reference}/?token={token}").status_code == 200


def test_another_browsers_reservation_and_an_unknown_one_answer_alike(demo, clock):
    """The page for a held time (before any e-mail): only the session that held it sees it."""
    from django.urls import reverse

    from tests.appointments.test_pages import hold_earliest

    citizen = Client()
    held = hold_earliest(citizen)
    reference = held["Location"].rstrip("/").split("/")[-2]
    stranger = Client()
    theirs = stranger.get(held["Location"])
    unknown = stranger.get(reverse("appointments:details", args=["FT-ZZZZZZ"]))
    assert theirs.status_code == unknown.status_code == 404
    assert page_without(theirs, reference) == page_without(unknown, "FT-ZZZZZZ")


# --- 10: too large a body, no caching ------------------------------------------------------------------


def test_a_body_over_the_limit_answers_413_in_the_api_shape(erika, settings):
    body = json.dumps({**BOOKING, "name": "x" * (3 * 1024 * 1024)})
    response = erika.post("/api/v1/bookings", body, content_type="application/json")
    assert_error(response, 413, "too_large")
    assert not Appointment.objects.exists()


def test_booking_answers_are_not_stored_by_any_cache(booked):
    reference, token = booked
    answers = [
        Client().get(f"/api/v1/bookings/{reference}", {"token": token}),
        Client().get(f"/api/v1/bookings/{reference}", {"token": "guess"}),
        Client().post(
            "/api/v1/bookings",
            json.dumps({**BOOKING, "start": LATER, "email": "max@example.org"}),
            content_type="application/json",
        ),
        Client().post(
            f"/api/v1/bookings/{reference}/confirm", json.dumps({"token": token}), content_type="application/json"
        ),
    ]
    for response in answers:
        assert response.status_code < 500
        assert "no-store" in response["Cache-Control"], response.status_code
