"""Conditional searches: `/api/v1/slots` and `/api/v1/days` carry an `ETag` made of the occupancy
numbers of the office-days searched (renewed by database triggers in the transaction of every
booking, cancellation, move or expiry), the configuration's number, the parameters and the minute;
`If-None-Match` with a current tag answers 304 without a body, and any change that can alter the
answer gives a new tag.

The clock stands at Tuesday 1 December 2026, 07:00 in Berlin; the searches cover Wednesday 2 and
Thursday 3 December.
"""

import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from appointments.domain import free_time_cache, occupancy
from appointments.models import Appointment, Status
from appointments.ui import conditional
from offices.models import Closure
from tests.conftest import berlin
from tests.process_state import forget_local_counts

QUERY = {
    "service": "umschreibung",
    "vehicles": 1,
    "municipality": "frankenthal-pfalz",
    "date_from": "2026-12-02",
    "date_to": "2026-12-03",
}
START = "2026-12-02T08:00:00+01:00"


@pytest.fixture(autouse=True)
def fresh_counters(demo, clock):
    cache.clear()
    forget_local_counts()
    yield
    cache.clear()
    forget_local_counts()


def search(path="/slots", tag=None, **params):
    headers = {"HTTP_IF_NONE_MATCH": tag} if tag else {}
    return Client().get(f"/api/v1{path}", {**QUERY, **params}, **headers)


def book(start=START, office="frankenthal"):
    body = {
        "services": ["umschreibung"],
        "municipality": "frankenthal-pfalz",
        "office": office,
        "start": start,
        "name": "Erika Mustermann",
        "email": "erika@example.org",
        "privacy_consent": True,
    }
    response = Client().post("/api/v1/bookings", json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.parametrize("path", ["/slots", "/days"])
def test_an_unchanged_search_answers_304_without_a_body(path):
    first = search(path)
    assert first.status_code == 200 and first["ETag"].startswith('"')
    assert "no-cache" in first["Cache-Control"]
    again = search(path, tag=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    assert search(path, tag='"something-else"').status_code == 200


def test_slots_and_days_have_tags_of_their_own():
    assert search("/slots")["ETag"] != search("/days")["ETag"]
    assert search("/slots")["ETag"] != search("/slots", vehicles=2)["ETag"]


def test_a_booking_in_the_range_gives_a_new_tag_and_its_time_is_gone():
    before = search()
    book()
    after = search(tag=before["ETag"])
    assert after.status_code == 200 and after["ETag"] != before["ETag"]
    frankenthal_at_eight = [s for s in after.json()["slots"] if s["office"] == "frankenthal" and s["start"] == START]
    assert len(frankenthal_at_eight) == 1, "two counters are still free at 08:00"


def test_a_booking_on_another_day_keeps_the_tag():
    before = search()
    book(start="2026-12-07T08:00:00+01:00")
    assert search(tag=before["ETag"]).status_code == 304


def test_cancellation_expiry_and_a_change_of_time_give_new_tags(clock):
    reference = book()["reference"]
    tags = {search()["ETag"]}
    Appointment.objects.filter(reference=reference).update(status=Status.CANCELLED, cancelled_at=clock.now)
    tags.add(search()["ETag"])
    Appointment.objects.filter(reference=reference).update(
        status=Status.UNCONFIRMED, start=berlin(2026, 12, 3, 9, 0), end=berlin(2026, 12, 3, 9, 15)
    )
    tags.add(search()["ETag"])
    Appointment.objects.filter(reference=reference).update(status=Status.EXPIRED)
    tags.add(search()["ETag"])
    Appointment.objects.filter(reference=reference).delete()
    tags.add(search()["ETag"])
    assert len(tags) == 5


def test_a_change_that_cannot_free_or_take_time_keeps_the_tag():
    reference = book()["reference"]
    before = search()
    Appointment.objects.filter(reference=reference).update(name="Erika Musterfrau", phone="0621 1")
    assert search(tag=before["ETag"]).status_code == 304


def test_a_closure_gives_a_new_tag(demo):
    before = search("/days")
    Closure.objects.create(
        office=demo.frankenthal,
        start_date=dt.date(2026, 12, 2),
        end_date=dt.date(2026, 12, 2),
        reason="Betriebsausflug",
    )
    after = search("/days", tag=before["ETag"])
    assert after.status_code == 200
    wednesday = [e for e in after.json()["days"] if e["date"] == "2026-12-02" and e["office"] == "frankenthal"]
    assert wednesday == [] or not wednesday[0]["free"]


def test_the_next_minute_gives_a_new_tag(clock):
    """The lead time moves with the clock: a tag holds for one minute at most."""
    clock.now = clock.now + dt.timedelta(seconds=10)
    before = search()
    clock.now = clock.now + dt.timedelta(seconds=30)
    assert search(tag=before["ETag"]).status_code == 304
    clock.now = clock.now + dt.timedelta(seconds=31)
    assert search(tag=before["ETag"]).status_code == 200


def test_errors_carry_no_tag():
    response = search(vehicles=0)
    assert response.status_code == 400 and "ETag" not in response


def test_the_versions_are_read_per_office_day(demo):
    """The triggers renew only the (office, day) of the appointment, in the same transaction."""
    days = (dt.date(2026, 12, 2), dt.date(2026, 12, 3))
    offices = [demo.frankenthal.id, demo.schifferstadt.id]
    before = occupancy.read_versions(offices, *days)
    book()
    after = occupancy.read_versions(offices, *days)
    assert after[(demo.frankenthal.id, days[0])] != before.get((demo.frankenthal.id, days[0]))
    assert after.get((demo.schifferstadt.id, days[0])) == before.get((demo.schifferstadt.id, days[0]))


def test_a_page_tag_adds_what_the_page_depends_on():
    assert conditional.page_tag(None, "de") is None
    assert conditional.page_tag("abc", "de") != conditional.page_tag("abc", "en")
    assert conditional.page_tag("abc", "de") == conditional.page_tag("abc", "de")


@pytest.mark.parametrize("path", ["/slots", "/days"])
def test_queries_per_search_do_not_grow_with_the_range(path):
    """The configuration's number, the occupancy numbers (read once, for the tag and the answer) and
    the occupied times of the office-days not yet in the free-time cache: three queries for one day
    as for four weeks (with the configuration in memory); two when they are cached, and two for a 304."""
    search(path)  # the configuration is read once per process and change
    counts, cached = [], []
    for last in ("2026-12-02", "2026-12-29"):
        free_time_cache.forget()
        with CaptureQueriesContext(connection) as queries:
            assert search(path, date_to=last).status_code == 200
        counts.append(len(queries))
        with CaptureQueriesContext(connection) as queries:
            assert search(path, date_to=last).status_code == 200
        cached.append(len(queries))
    assert counts[0] == counts[1] <= 3
    assert cached == [2, 2]
    tag = search(path)["ETag"]
    with CaptureQueriesContext(connection) as queries:
        assert search(path, tag=tag).status_code == 304
    assert len(queries) <= 2


# --- the calendar page ---------------------------------------------------------------------------

CALENDAR = "/termin/kalender/?service=umschreibung&vehicles=1&municipality=frankenthal-pfalz"


def test_the_calendar_page_answers_304_while_its_search_and_its_forms_are_current():
    """The page's tag: the search of the whole horizon, the language, the query and the CSRF secret
    of its time forms. The browser's cached page is reused only while all of them still hold."""
    browser = Client()
    first = browser.get(CALENDAR)
    assert first.status_code == 200 and first["ETag"].startswith('"')
    assert "private" in first["Cache-Control"] and "no-cache" in first["Cache-Control"]
    again = browser.get(CALENDAR, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""

    # Another chosen day, another language: other pages.
    assert browser.get(CALENDAR + "&date=2026-12-03", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
    english = browser.get(CALENDAR, HTTP_IF_NONE_MATCH=first["ETag"], HTTP_ACCEPT_LANGUAGE="en")
    assert english.status_code == 200 and "Choose a time" in english.content.decode()
    # Another browser (another CSRF secret, or none yet): its forms need their own token.
    assert Client().get(CALENDAR, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200
    stranger = Client()
    stranger.get(CALENDAR)
    assert stranger.get(CALENDAR, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 200


def test_a_booking_gives_the_calendar_page_a_new_tag():
    browser = Client()
    before = browser.get(CALENDAR)
    book()
    after = browser.get(CALENDAR, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and after["ETag"] != before["ETag"]


def test_the_calendar_page_without_a_csrf_cookie_carries_no_stale_promise(settings):
    """A browser that dropped its cookies sends an old tag: it gets the full page (with a new token)."""
    browser = Client()
    first = browser.get(CALENDAR)
    browser.cookies.clear()
    response = browser.get(CALENDAR, HTTP_IF_NONE_MATCH=first["ETag"])
    assert response.status_code == 200 and "csrfmiddlewaretoken" in response.content.decode()
