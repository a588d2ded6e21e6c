"""Bad input at scale: property-based tests (hypothesis) over what a client can send.

For the JSON API (/slots, /bookings and the manage endpoints) and the booking pages (`hold` and
`details` POSTs): random query strings, random JSON bodies, broken bodies, and well-formed requests
with one field replaced by something odd. Whatever comes in:

- the answer is never a server error (5xx), and an API error has the contract's shape;
- a refused request (4xx) changes nothing: no appointment, no outbox message, the existing booking
  as it was.

Examples are few per test (they run on every `make test`, on SQLite and on PostgreSQL; FUZZ_EXAMPLES
raises them), without a deadline (the first query of a test is slower). The clock stands at Tuesday,
1 December 2026, 07:00.
"""

from __future__ import annotations

import json
import os
import string

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from appointments.domain import booking
from appointments.models import Appointment, Notification, Status
from tests.conftest import berlin

NOW = berlin(2026, 12, 1, 7, 0)
# FUZZ_EXAMPLES=1000 make test ARGS=tests/test_fuzz.py searches longer (before a release, say).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "80"))

fuzz = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,  # no example database folder in the work tree; failures print their example
)

# --- values a client might send --------------------------------------------------------------------

SLUGS = [
    "umschreibung",
    "ausserbetriebsetzung",
    "neuzulassung",
    "frankenthal",
    "schifferstadt",
    "frankenthal-pfalz",
    "lambsheim",
    "ludwigshafen",
    "",
]
TIMES = [
    "2026-12-01T09:00:00+01:00",
    "2026-12-02T08:00:00+01:00",
    "2026-12-01T09:00:00",
    "2026-12-01",
    "9999-12-31T23:59:59+14:00",
    "0001-01-01T00:00:00-23:59",
    "2026-02-30T09:00:00+01:00",
    "2026-12-01T09:00:00+25:00",
    "2026-12-01T09:03:00+01:00",
    "2026-03-29T02:30:00+01:00",
]
DATES = ["2026-12-01", "2026-12-31", "2027-12-31", "9999-12-31", "0001-01-01", "2026-02-30", "20261201", "-1"]
weird_text = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
    st.sampled_from(
        [
            "\x00",
            "%00",
            "a\x00b",
            "../../etc/passwd",
            "' OR 1=1 --",
            "<script>",
            "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
            "x" * 5000,
            " ",
            "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
        ]
    ),
)
scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    weird_text,
    st.sampled_from(SLUGS),
    st.sampled_from(TIMES),
    st.sampled_from(DATES),
)
json_value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
query_value = st.one_of(
    st.sampled_from(SLUGS),
    st.sampled_from(DATES),
    st.sampled_from(TIMES),
    weird_text,
    st.integers().map(str),
    st.sampled_from(["1", "0", "-1", "2", "99", "1.5", "1e9", "true"]),
)


def query(keys: list[str]):
    """A query as a list of (key, value) pairs: known keys and junk, repeated or missing."""
    key = st.one_of(st.sampled_from(keys), st.text(alphabet=string.ascii_letters + "_[]", min_size=1, max_size=10))
    return st.lists(st.tuples(key, query_value), max_size=8)


def as_dict(pairs) -> dict[str, list[str]]:
    data: dict[str, list[str]] = {}
    for key, value in pairs:
        data.setdefault(key, []).append(value)
    return data


BOOKING_BODY = {
    "services": ["umschreibung"],
    "vehicles": 1,
    "municipality": "frankenthal-pfalz",
    "office": "frankenthal",
    "start": "2026-12-01T09:00:00+01:00",
    "name": "Erika Mustermann",
    "email": "erika@example.org",
    "phone": "06233 12345",
    "privacy_consent": True,
    "language": "de",
}


@st.composite
def booking_bodies(draw):
    """A well-formed booking with some fields replaced, dropped or added; or any JSON at all."""
    if draw(st.integers(0, 4)) == 0:
        return draw(json_value)
    body = dict(BOOKING_BODY)
    for field in draw(st.lists(st.sampled_from(sorted(BOOKING_BODY)), max_size=4, unique=True)):
        if draw(st.booleans()):
            body[field] = draw(json_value)
        else:
            body.pop(field)
    if draw(st.booleans()):
        body[draw(st.text(max_size=10))] = draw(json_value)
    return body


# --- fixtures -------------------------------------------------------------------------------------------


@pytest.fixture
def portal(demo, clock, settings):
    settings.BOOKING_RATE_LIMIT = "100000/h"  # the throttle has its own tests; here it would answer 429 to all
    cache.clear()
    existing, token = booking.book_in_office(
        office=demo.frankenthal,
        start=berlin(2026, 12, 2, 9, 0),
        services=[demo.umschreibung],
        vehicles=1,
        municipality=demo.frankenthal_citizen_home,
        name="Erika Mustermann",
        email="erika@example.org",
        channel="phone",
        now=NOW,
    )
    yield {"demo": demo, "booking": existing, "token": token}
    cache.clear()


def state(existing: Appointment) -> tuple:
    existing.refresh_from_db()
    return (
        Appointment.objects.count(),
        Notification.objects.count(),
        existing.status,
        existing.start,
        existing.office_id,
        existing.email,
    )


def check(response, before: tuple, after: tuple, *, api: bool = True):
    assert response.status_code < 500, response.content[:500]
    if response.status_code >= 400:
        assert after == before, f"a refused request ({response.status_code}) changed something"
        if api and response.status_code != 405:
            body = response.json()
            assert isinstance(body.get("code"), str) and isinstance(body.get("message"), str), body


# --- the API ----------------------------------------------------------------------------------------------

SLOT_QUERY = [
    ("service", "umschreibung"),
    ("municipality", "frankenthal-pfalz"),
    ("vehicles", "1"),
    ("date_from", "2026-12-01"),
    ("date_to", "2026-12-03"),
    ("office", "frankenthal"),
]


@st.composite
def slot_queries(draw):
    """A valid query with one or two values replaced (so the odd value gets past the parsing and
    reaches the lookups), or any query at all."""
    if draw(st.booleans()):
        return draw(query([key for key, _value in SLOT_QUERY]))
    pairs = list(SLOT_QUERY)
    for index in draw(st.lists(st.integers(0, len(pairs) - 1), min_size=1, max_size=2, unique=True)):
        pairs[index] = (pairs[index][0], draw(query_value))
    return pairs


@fuzz
@given(pairs=slot_queries())
def test_slots_never_fail_on_any_query(portal, pairs):
    before = state(portal["booking"])
    response = Client().get("/api/v1/slots", as_dict(pairs))
    check(response, before, state(portal["booking"]))
    if response.status_code == 200:
        assert isinstance(response.json()["slots"], list)


@fuzz
@given(body=booking_bodies())
def test_bookings_never_fail_on_any_json_body(portal, body):
    before = state(portal["booking"])
    response = Client().post("/api/v1/bookings", json.dumps(body), content_type="application/json")
    check(response, before, state(portal["booking"]))
    if response.status_code == 201:
        assert Appointment.objects.get(reference=response.json()["reference"]).status == Status.UNCONFIRMED


@fuzz
@given(
    raw=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode)),
    content_type=st.sampled_from(
        [
            "application/json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/json; charset=latin-1",
        ]
    ),
)
def test_bookings_never_fail_on_broken_bodies(portal, raw, content_type):
    before = state(portal["booking"])
    response = Client().generic("POST", "/api/v1/bookings", raw, content_type=content_type)
    check(response, before, state(portal["booking"]))


@fuzz
@given(
    endpoint=st.sampled_from(["get", "confirm", "cancel", "reschedule"]),
    reference=st.one_of(st.just("REAL"), st.text(max_size=20), st.sampled_from(["FT-AAAAAA", "ft-", "%00", "a b"])),
    token=st.one_of(st.just("REAL"), weird_text, json_value),
    body=st.one_of(
        json_value,
        st.fixed_dictionaries(
            {
                "office": st.one_of(st.sampled_from(SLUGS), json_value),
                "start": st.one_of(st.sampled_from(TIMES), json_value),
            }
        ),
    ),
)
def test_manage_endpoints_never_fail_and_refusals_change_nothing(portal, endpoint, reference, token, body):
    existing = portal["booking"]
    reference = existing.reference if reference == "REAL" else reference
    token = portal["token"] if token == "REAL" else token
    if endpoint == "cancel" and token == portal["token"]:
        token = token[::-1]  # keep the booking alive for the other examples
    before = state(existing)
    client = Client()
    path = "/api/v1/bookings/" + reference.replace("/", "%2F").replace("?", "%3F").replace("#", "%23")
    if endpoint == "get":
        response = client.get(path, {"token": token if isinstance(token, str) else json.dumps(token)})
    else:
        payload = dict(body) if isinstance(body, dict) else {"junk": body}
        payload["token"] = token
        response = client.post(f"{path}/{endpoint}", json.dumps(payload), content_type="application/json")
    check(
        response,
        before,
        state(existing),
        api=response.status_code != 404 or response["Content-Type"].startswith("application/json"),
    )


# --- the booking pages ----------------------------------------------------------------------------------


@fuzz
@given(
    pairs=query(
        [
            "service",
            "vehicles",
            "municipality",
            "office",
            "start",
            "altcha",
            "captcha_nojs",
            "captcha_question",
            "captcha_answer",
        ]
    )
)
def test_hold_never_fails_on_any_form(portal, pairs):
    before = state(portal["booking"])
    response = Client().post(reverse("appointments:hold"), as_dict(pairs))
    after = state(portal["booking"])
    check(response, before, after, api=False)
    if response.status_code == 302:
        assert Appointment.objects.filter(status=Status.HELD).exists()


@fuzz
@given(pairs=query(["name", "email", "phone", "privacy_consent", "website"]))
def test_details_never_fail_on_any_form(portal, pairs):
    demo = portal["demo"]
    client = Client()
    held = client.post(
        reverse("appointments:hold"),
        {
            "service": "umschreibung",
            "vehicles": "1",
            "municipality": "frankenthal-pfalz",
            "office": "frankenthal",
            "start": "2026-12-01T10:00:00+01:00",
        },
    )
    assert held.status_code == 302, held.content[:300]
    hold = Appointment.objects.get(status=Status.HELD, office=demo.frankenthal)
    before = (*state(portal["booking"]), hold.status, hold.email)
    response = client.post(held["Location"], as_dict(pairs))
    hold.refresh_from_db()
    after = (*state(portal["booking"]), hold.status, hold.email)
    check(response, before, after, api=False)
    Notification.objects.filter(appointment=hold).delete()
    hold.delete()  # the next example holds the same time again
