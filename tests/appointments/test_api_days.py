"""`GET /api/v1/days`: per day and office, whether and how many appointments are free and the first
free time, with the parameters, the cap and the rate limit of `/slots`.

The clock stands at Tuesday 1 December 2026, 07:00 in Berlin. On Wednesday 2 December Frankenthal
works 08:00–12:00 at three counters (5-minute grid) and Schifferstadt 07:30–12:30 at six; a
change of owner (Umschreibung) takes 15 minutes.
"""

import json

import pytest
from django.core.cache import cache
from django.test import Client

from offices.models import CooperationRule
from tests.process_state import forget_local_counts

DAY = "2026-12-02"
QUERY = {"service": "umschreibung", "vehicles": 1, "municipality": "frankenthal-pfalz"}


@pytest.fixture(autouse=True)
def fresh_counters(demo, clock):
    cache.clear()
    forget_local_counts()
    yield
    cache.clear()
    forget_local_counts()


def days(address="203.0.113.7", **params):
    return Client(REMOTE_ADDR=address).get("/api/v1/days", {**QUERY, **params})


def entry(body, day, office):
    (found,) = [e for e in body["days"] if e["date"] == day and e["office"] == office]
    return found


def slots(**params):
    return Client().get("/api/v1/slots", {**QUERY, **params}).json()["slots"]


def book(start, office="frankenthal", email="erika@example.org"):
    body = {
        "services": ["umschreibung"],
        "vehicles": 1,
        "municipality": "frankenthal-pfalz",
        "office": office,
        "start": start,
        "name": "Erika Mustermann",
        "email": email,
        "privacy_consent": True,
    }
    response = Client().post("/api/v1/bookings", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def test_one_entry_per_day_and_office_with_the_contract_fields():
    response = days(date_from=DAY, date_to="2026-12-04")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["duration_minutes"] == 15
    listed = [(e["date"], e["office"]) for e in body["days"]]
    assert listed == [
        (day, office)
        for day in ("2026-12-02", "2026-12-03", "2026-12-04")
        for office in ("frankenthal", "schifferstadt")
    ], "every day of the range and every office, in the order of day and office name"
    for e in body["days"]:
        assert set(e) == {"date", "office", "free", "appointments", "first_start"}
        assert e["free"] == (e["appointments"] > 0)
        assert (e["first_start"] is None) == (not e["free"])


def test_first_start_is_the_first_of_the_days_slots():
    body = days(date_from=DAY, date_to="2026-12-08").json()
    for e in body["days"]:
        times = [s["start"] for s in slots(date_from=e["date"], date_to=e["date"], office=e["office"])]
        assert e["first_start"] == (times[0] if times else None), e


def test_the_count_means_appointments_not_start_times():
    """Four free hours at three counters are 3 × 16 appointments of 15 minutes, though the day has
    46 start times; a booking at 08:05 costs its counter two (the five minutes before it fit none)."""
    before = entry(days(date_from=DAY, date_to=DAY, office="frankenthal").json(), DAY, "frankenthal")
    assert len(slots(date_from=DAY, date_to=DAY, office="frankenthal")) == 46
    assert before == {
        "date": DAY,
        "office": "frankenthal",
        "free": True,
        "appointments": 48,
        "first_start": "2026-12-02T08:00:00+01:00",
    }

    book("2026-12-02T08:05:00+01:00")
    after = entry(days(date_from=DAY, date_to=DAY, office="frankenthal").json(), DAY, "frankenthal")
    assert after["appointments"] == 46
    assert after["first_start"] == "2026-12-02T08:00:00+01:00", "the two other counters are free at 08:00"


def test_a_fully_booked_day_says_so(settings):
    """A day whose every appointment was booked answers free: false, 0 and no first time."""
    settings.BOOKING_RATE_LIMIT = "1000/h"
    e = entry(days(date_from=DAY, date_to=DAY, office="frankenthal").json(), DAY, "frankenthal")
    for number in range(e["appointments"]):
        free = slots(date_from=DAY, date_to=DAY, office="frankenthal")
        book(free[0]["start"], email=f"citizen{number}@example.org")
    assert slots(date_from=DAY, date_to=DAY, office="frankenthal") == []
    full = entry(days(date_from=DAY, date_to=DAY, office="frankenthal").json(), DAY, "frankenthal")
    assert full == {"date": DAY, "office": "frankenthal", "free": False, "appointments": 0, "first_start": None}


def test_a_sunday_is_not_free():
    body = days(date_from="2026-12-06", date_to="2026-12-06").json()
    assert {e["office"]: e["free"] for e in body["days"]} == {"frankenthal": False, "schifferstadt": False}


def test_past_days_and_days_beyond_the_horizon_are_left_out():
    body = days(date_from="2026-11-28", date_to="2026-12-02").json()
    assert min(e["date"] for e in body["days"]) == "2026-12-01"
    horizon = days(date_from="2027-11-01", date_to="2027-11-10").json()
    assert horizon["days"] == []


def test_the_default_range_is_two_weeks():
    default = days().json()
    assert {e["date"] for e in default["days"]} == {f"2026-12-{d:02d}" for d in range(1, 15)}


def test_office_narrows_the_overview():
    body = days(date_from=DAY, date_to=DAY, office="schifferstadt").json()
    assert [e["office"] for e in body["days"]] == ["schifferstadt"]


def test_only_offices_the_cooperation_allows(demo):
    """Without the rule opening Frankenthal to Rhein-Pfalz-Kreis residents, a Lambsheim citizen's
    overview has Schifferstadt only, as the times of /slots have."""
    CooperationRule.objects.filter(office=demo.frankenthal, administration=demo.rpk).delete()
    body = days(date_from=DAY, date_to="2026-12-08", municipality="lambsheim").json()
    assert {e["office"] for e in body["days"]} == {"schifferstadt"}
    assert {s["office"] for s in slots(date_from=DAY, date_to="2026-12-08", municipality="lambsheim")} == {
        "schifferstadt"
    }


@pytest.mark.parametrize(
    "params, code, field",
    [
        ({"service": "zauberei"}, "unknown", "service"),
        ({"municipality": "ludwigshafen-am-rhein"}, "unknown", "municipality"),
        ({"office": "mannheim"}, "unknown", "office"),
        ({"vehicles": 4}, "too_many_vehicles", "vehicles"),
        ({"vehicles": 0}, "invalid", "vehicles"),
        ({"vehicles": "two"}, "invalid", "vehicles"),
        ({"date_from": "2026-12-10", "date_to": "2026-12-02"}, "invalid", "date_to"),
        ({"date_from": "2026-02-30"}, "invalid", "date_from"),
    ],
)
def test_bad_requests_answer_400_with_their_codes(params, code, field):
    response = days(**{"date_from": DAY, "date_to": DAY, **params})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code and field in body["errors"]


def test_the_range_is_capped_like_slots(settings):
    settings.SLOTS_MAX_DAYS = 31
    assert days(date_from="2026-12-01", date_to="2026-12-31").status_code == 200
    too_long = days(date_from="2026-12-01", date_to="2027-01-01")
    assert too_long.status_code == 400
    assert too_long.json()["code"] == "range_too_long" and "date_to" in too_long.json()["errors"]


def test_the_overview_is_rate_limited_with_the_searches(settings):
    settings.RATE_LIMIT_SEARCH = "3/m"
    assert days(date_from=DAY, date_to=DAY).status_code == 200
    assert Client(REMOTE_ADDR="203.0.113.7").get("/api/v1/slots", {**QUERY, "date_from": DAY}).status_code == 200
    assert days(date_from=DAY, date_to=DAY).status_code == 200
    refused = days(date_from=DAY, date_to=DAY)
    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert "Retry-After" in refused


def test_the_openapi_document_describes_the_overview():
    document = Client().get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/days"]["get"]
    assert "range_too_long" in operation["description"] and "429" in operation["responses"]
    schema = document["components"]["schemas"]["DayOut"]
    assert all(schema["properties"][name].get("description") for name in ("free", "appointments", "first_start"))
