"""The public JSON API v1: the paths, fields, status codes and error codes other programs rely on.

The clock stands at Tuesday 1 December 2026, 07:00 in Berlin (the `clock` fixture); the
bookings go to Wednesday 2 December, when Frankenthal works 08:00–12:00 at three counters and
Schifferstadt 07:30–12:30 at six.
"""

import datetime as dt
import json
import re

import pytest
from django.core.cache import cache
from django.test import Client

from appointments.api import endpoints as api_module
from appointments.models import Appointment, Channel, Notification, Status
from appointments.outbox import notifications
from offices.models import CooperationRule
from tests.conftest import berlin

NOW = berlin(2026, 12, 1, 7, 0)
DAY = "2026-12-02"
START = "2026-12-02T08:00:00+01:00"
LATER = "2026-12-02T10:00:00+01:00"


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    # The booking rate limit counts in the cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client(demo, clock):
    return Client()


def get(client, path, params=None, **environ):
    return client.get(f"/api/v1{path}", params or {}, **environ)


def post(client, path, body, **environ):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(f"/api/v1{path}", data, content_type="application/json", **environ)


def booking_body(**overrides):
    body = {
        "services": ["umschreibung"],
        "vehicles": 1,
        "municipality": "frankenthal-pfalz",
        "office": "frankenthal",
        "start": START,
        "name": "Erika Mustermann",
        "email": "erika@example.org",
        "phone": "06233 12345",
        "privacy_consent": True,
        "language": "de",
    }
    body.update(overrides)
    return body


def book(client, **overrides):
    response = post(client, "/bookings", booking_body(**overrides))
    assert response.status_code == 201, response.content
    return response.json()


def opt_in_token(reference):
    """The secret of the confirmation link, from the outbox row the e-mail is made from."""
    notification = Notification.objects.filter(appointment__reference=reference, kind=Notification.Kind.OPT_IN).latest(
        "id"
    )
    return notification.payload["token"]


def slots(client, **params):
    query = {
        "service": ["umschreibung"],
        "vehicles": 1,
        "municipality": "frankenthal-pfalz",
        "date_from": DAY,
        "date_to": DAY,
        **params,
    }
    response = get(client, "/slots", query)
    assert response.status_code == 200, response.content
    return response.json()


def assert_error(response, status, code, field=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    if field:
        assert field in body["errors"], body
        assert all(isinstance(m, str) and m for m in body["errors"][field])
    return body


# --- catalogue -----------------------------------------------------------------------------------


def test_services_list_durations_limits_and_documents(client):
    """Every concern comes with its minutes, its vehicle cap and its document checklist."""
    response = get(client, "/services")
    assert response.status_code == 200
    services = {s["slug"]: s for s in response.json()}
    assert len(services) == 14
    umschreibung = services["umschreibung"]
    assert umschreibung["name"] == "Umschreibung / Halterwechsel"
    assert (umschreibung["minutes_first_vehicle"], umschreibung["minutes_per_extra_vehicle"]) == (15, 15)
    assert umschreibung["max_vehicles"] == 3
    assert "Zulassungsbescheinigung Teil II (Fahrzeugbrief)" in umschreibung["documents"]
    assert services["wechselkennzeichen"]["max_vehicles"] == 2


def test_services_in_english(client):
    services = {s["slug"]: s for s in get(client, "/services", HTTP_ACCEPT_LANGUAGE="en").json()}
    assert services["umschreibung"]["name"] == "Change of keeper"
    assert "Registration certificate part II (Fahrzeugbrief)" in services["umschreibung"]["documents"]


def test_offices_list_both_offices_with_their_administration(client):
    response = get(client, "/offices")
    assert response.status_code == 200
    offices = {o["slug"]: o for o in response.json()}
    assert set(offices) == {"schifferstadt", "frankenthal"}
    assert offices["frankenthal"]["administration"] == {
        "slug": "frankenthal",
        "name": "Stadtverwaltung Frankenthal (Pfalz)",
    }
    assert offices["frankenthal"]["address"] == "Hammstraße 20, 67227 Frankenthal (Pfalz)"
    assert offices["schifferstadt"]["administration"]["slug"] == "rhein-pfalz-kreis"
    assert offices["schifferstadt"]["address"] == "Bahnhofstraße 37, 67105 Schifferstadt"
    assert offices["schifferstadt"]["hours_are_example"] is True


def test_municipalities_by_postcode(client):
    """67259 is shared by four municipalities of the Verbandsgemeinde Lambsheim-Heßheim."""
    response = get(client, "/municipalities", {"postcode": "67259"})
    assert response.status_code == 200
    found = response.json()
    assert [m["name"] for m in found] == [
        "Beindersheim",
        "Großniedesheim",
        "Heuchelheim bei Frankenthal",
        "Kleinniedesheim",
    ]
    assert all(m["postcode"] == "67259" and m["administration"]["slug"] == "rhein-pfalz-kreis" for m in found)
    frankenthal = get(client, "/municipalities", {"postcode": "67227"}).json()
    assert [(m["slug"], m["administration"]["slug"]) for m in frankenthal] == [("frankenthal-pfalz", "frankenthal")]


@pytest.mark.parametrize("postcode", ["67229", "67059", "67346", "10115"])
def test_municipalities_outside_both_areas_is_an_empty_list(client, postcode):
    response = get(client, "/municipalities", {"postcode": postcode})
    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize("postcode", ["6725", "672599", "6725x", "abcde", "", "６７２５９"])
def test_municipalities_malformed_postcode_is_400(client, postcode):
    assert_error(get(client, "/municipalities", {"postcode": postcode}), 400, "invalid", "postcode")


def test_municipalities_without_postcode_lists_all(client):
    found = get(client, "/municipalities").json()
    assert len(found) == 26


# --- slots ---------------------------------------------------------------------------------------


def test_slots_for_a_frankenthal_resident_cover_both_offices(client):
    """The cooperation lets a Frankenthal resident book in Schifferstadt as well; one entry per
    office and start, in time order, with Berlin offsets."""
    result = slots(client)
    assert result["duration_minutes"] == 15
    entries = result["slots"]
    assert {s["office"] for s in entries} == {"frankenthal", "schifferstadt"}
    starts = [dt.datetime.fromisoformat(s["start"]) for s in entries]
    assert starts == sorted(starts)
    assert len({(s["office"], s["start"]) for s in entries}) == len(entries), "one entry per office and start"
    assert {
        "office": "schifferstadt",
        "start": "2026-12-02T07:30:00+01:00",
        "end": "2026-12-02T07:45:00+01:00",
    } in entries
    assert {"office": "frankenthal", "start": START, "end": "2026-12-02T08:15:00+01:00"} in entries
    assert all(s["start"].endswith("+01:00") and s["end"].endswith("+01:00") for s in entries)
    # Frankenthal closes at 12:00: the last 15-minute slot starts at 11:45.
    assert max(s["start"] for s in entries if s["office"] == "frankenthal") == "2026-12-02T11:45:00+01:00"


def test_slots_office_narrows_the_search(client):
    result = slots(client, office=["frankenthal"])
    assert result["slots"] and {s["office"] for s in result["slots"]} == {"frankenthal"}
    both = slots(client, office=["frankenthal", "schifferstadt"])
    assert {s["office"] for s in both["slots"]} == {"frankenthal", "schifferstadt"}


def test_slots_of_several_services_and_vehicles_add_up(client):
    """Umschreibung 15 + 15, Außerbetriebsetzung 5 + 5: two vehicles take 40 minutes."""
    result = slots(client, service=["umschreibung", "ausserbetriebsetzung"], vehicles=2, office=["frankenthal"])
    assert result["duration_minutes"] == 40
    first = result["slots"][0]
    assert (first["start"], first["end"]) == (START, "2026-12-02T08:40:00+01:00")


def test_slots_respect_the_lead_time_today(client):
    """At 07:00 with two hours' lead time, today's first slot is at 09:00."""
    result = slots(client, date_from="2026-12-01", date_to="2026-12-01", office=["frankenthal"])
    assert result["slots"][0]["start"] == "2026-12-01T09:00:00+01:00"


def test_a_booked_time_disappears_only_when_every_counter_is_taken(client):
    for _ in range(2):
        book(client)
    assert START in [s["start"] for s in slots(client, office=["frankenthal"])["slots"]]
    book(client)
    assert START not in [s["start"] for s in slots(client, office=["frankenthal"])["slots"]]


@pytest.mark.parametrize(
    "dates",
    [
        {"date_from": "9999-12-01", "date_to": "9999-12-31"},
        {"date_from": "9999-12-31"},
        {"date_from": "0001-01-01", "date_to": "0001-01-02"},
        {"date_from": "2020-01-01", "date_to": "2020-01-31"},
    ],
)
def test_slots_outside_any_horizon_are_empty_not_an_error(client, dates):
    query = {"service": ["umschreibung"], "municipality": "frankenthal-pfalz", **dates}
    response = get(client, "/slots", query)
    assert response.status_code == 200, response.content
    assert response.json()["slots"] == []


def test_slots_default_to_the_next_two_weeks(client):
    result = get(client, "/slots", {"service": "umschreibung", "municipality": "frankenthal-pfalz"}).json()
    days = {s["start"][:10] for s in result["slots"]}
    assert min(days) == "2026-12-01" and max(days) == "2026-12-14"


def test_a_stray_value_error_is_a_400_not_a_500(client, monkeypatch):
    """Input the schema lets through but the domain code chokes on must not become a 500."""

    def choke(**kwargs):
        raise ValueError("year 10000 is out of range")

    monkeypatch.setattr(api_module, "find_slots", choke)
    response = get(client, "/slots", {"service": "umschreibung", "municipality": "frankenthal-pfalz"})
    assert_error(response, 400, "invalid")


@pytest.mark.parametrize(
    "params, status, code, field",
    [
        ({"service": ["zauberei"]}, 400, "unknown", "service"),
        ({"municipality": "ludwigshafen-am-rhein"}, 400, "unknown", "municipality"),
        ({"office": ["mannheim"]}, 400, "unknown", "office"),
        ({"vehicles": 4}, 400, "too_many_vehicles", "vehicles"),
        ({"vehicles": 0}, 400, "invalid", "vehicles"),
        ({"vehicles": "two"}, 400, "invalid", "vehicles"),
        ({"date_from": "2026-12-10", "date_to": "2026-12-02"}, 400, "invalid", "date_to"),
        ({"date_from": "2026-12-02", "date_to": "2027-03-04"}, 400, "range_too_long", "date_to"),
        ({"date_from": "2026-02-30"}, 400, "invalid", "date_from"),
        ({"date_to": "next week"}, 400, "invalid", "date_to"),
        ({"service": []}, 400, "invalid", "service"),
        ({"municipality": "x" * 1000}, 400, "invalid", "municipality"),
    ],
)
def test_slots_reject_bad_requests(client, params, status, code, field):
    query = {
        "service": ["umschreibung"],
        "vehicles": 1,
        "municipality": "frankenthal-pfalz",
        "date_from": DAY,
        "date_to": DAY,
        **params,
    }
    if query["service"] == []:
        del query["service"]
    assert_error(get(client, "/slots", query), status, code, field)


def test_slots_accept_a_range_up_to_the_cap(client):
    """31 days (SLOTS_MAX_DAYS) in one search; tests/appointments/test_search_limits.py the longer ones."""
    result = slots(client, date_from="2026-12-01", date_to="2026-12-31", office=["frankenthal"])
    assert result["slots"]


def test_slots_for_a_service_not_bookable_online(client, demo):
    demo.umschreibung.bookable_online = False
    demo.umschreibung.save()
    response = get(client, "/slots", {"service": "umschreibung", "municipality": "frankenthal-pfalz"})
    assert_error(response, 400, "not_bookable_online", "services")


# --- booking -------------------------------------------------------------------------------------


def test_booking_is_unconfirmed_and_queues_the_opt_in_mail(client):
    """201 with the contract's fields; the double-opt-in message waits in the outbox."""
    response = post(client, "/bookings", booking_body())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "unconfirmed"
    assert body["office"] == "frankenthal"
    assert (body["start"], body["end"]) == (START, "2026-12-02T08:15:00+01:00")
    assert body["confirm_by"] == "2026-12-01T08:00:00+01:00"  # now + UNCONFIRMED_MINUTES
    assert re.fullmatch(r"[A-Z2-9]{3}-[A-Z2-9]{4}", body["reference"])
    assert body["services"] == ["umschreibung"] and body["vehicles"] == 1
    assert "eVB-Nummer (elektronische Versicherungsbestätigung Ihrer Kfz-Versicherung)" in body["documents"]
    assert "token" not in json.dumps(body), "the secret travels only by e-mail"

    appointment = Appointment.objects.get(reference=body["reference"])
    assert appointment.channel == Channel.API
    assert appointment.status == Status.UNCONFIRMED
    assert appointment.language == "de"
    assert (appointment.name, appointment.email) == ("Erika Mustermann", "erika@example.org")
    assert appointment.home_administration.slug == "frankenthal"
    notification = Notification.objects.get(appointment=appointment)
    assert notification.kind == Notification.Kind.OPT_IN
    assert notification.state == Notification.State.PENDING
    assert appointment.token_matches(notification.payload["token"])


def test_the_opt_in_mail_carries_the_link_that_confirms(client, mailoutbox):
    """The e-mail goes to the address given; the token in its link confirms through the API."""
    body = book(client)
    assert notifications.send_due(now=NOW) == 1
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["erika@example.org"]
    assert body["reference"] in message.body
    match = re.search(rf"/{body['reference']}/\S*\?token=([\w-]+)", message.body)
    assert match, message.body
    response = post(client, f"/bookings/{body['reference']}/confirm", {"token": match.group(1)})
    assert response.status_code == 200 and response.json()["status"] == "confirmed"


def test_booking_language_is_stored(client):
    english = book(client, language="en")
    assert Appointment.objects.get(reference=english["reference"]).language == "en"


def test_booking_language_defaults_to_the_request_language(client):
    body = booking_body()
    del body["language"]
    response = post(client, "/bookings", body, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 201
    assert Appointment.objects.get(reference=response.json()["reference"]).language == "en"
    response = post(client, "/bookings", {**body, "start": LATER})
    assert Appointment.objects.get(reference=response.json()["reference"]).language == "de"


def test_booking_in_the_partner_office(client):
    """A Lambsheim (Rhein-Pfalz-Kreis) resident books in Frankenthal; the home administration is kept."""
    body = book(client, municipality="lambsheim")
    appointment = Appointment.objects.get(reference=body["reference"])
    assert appointment.office.slug == "frankenthal"
    assert appointment.home_administration.slug == "rhein-pfalz-kreis"


def test_booking_with_the_same_service_twice_counts_it_once(client):
    body = book(client, services=["umschreibung", "umschreibung"])
    assert body["services"] == ["umschreibung"]
    assert body["end"] == "2026-12-02T08:15:00+01:00"


def test_booking_an_equivalent_offset_is_the_same_time(client):
    body = book(client, start="2026-12-02T07:00:00Z")
    assert body["start"] == START


def test_slot_taken_offers_alternatives_when_every_counter_is_taken(client):
    """Frankenthal has three counters: the fourth booking at 08:00 gets 409 and nearby slots."""
    for _ in range(3):
        book(client)
    before = Appointment.objects.count()
    response = post(client, "/bookings", booking_body(email="late@example.org"))
    body = assert_error(response, 409, "slot_taken")
    alternatives = body["alternatives"]
    assert alternatives and len(alternatives) <= 5
    assert all(set(a) == {"office", "start", "end"} for a in alternatives)
    assert all(a["start"].startswith("2026-12-0") and a["start"].endswith("+01:00") for a in alternatives)
    assert {"office": "frankenthal", "start": START, "end": "2026-12-02T08:15:00+01:00"} not in alternatives
    assert Appointment.objects.count() == before


PAST = "2026-11-30T08:00:00+01:00"


@pytest.mark.parametrize(
    "overrides, code, field",
    [
        ({"start": PAST}, "invalid_time", "start"),
        ({"start": "2026-12-01T08:00:00+01:00"}, "invalid_time", "start"),  # within the lead time
        ({"start": "2026-12-02T08:03:00+01:00"}, "invalid_time", "start"),  # off the 5-minute grid
        ({"start": "2026-12-02T13:00:00+01:00"}, "invalid_time", "start"),  # Frankenthal is closed
        ({"start": "2026-12-02T11:50:00+01:00"}, "invalid_time", "start"),  # would end after 12:00
        ({"start": "2026-12-05T09:00:00+01:00"}, "invalid_time", "start"),  # a Saturday
        ({"start": "2027-06-02T08:00:00+02:00"}, "invalid_time", "start"),  # beyond the horizon
        ({"start": "9999-12-31T23:55:00+00:00"}, "invalid_time", "start"),
        ({"start": "2026-12-02T08:00:00"}, "invalid", "start"),  # no offset
        ({"start": "tomorrow at eight"}, "invalid", "start"),
        ({"start": 12}, "invalid_time", "start"),  # a Unix timestamp: 1970 is long past
        ({"services": ["zauberei"]}, "unknown", "services"),
        ({"services": []}, "invalid", "services"),
        ({"services": "umschreibung"}, "invalid", "services"),
        ({"services": ["umschreibung"] * 21}, "invalid", "services"),
        ({"vehicles": 4}, "too_many_vehicles", "vehicles"),
        ({"vehicles": 0}, "invalid", "vehicles"),
        ({"vehicles": "2"}, "invalid", "vehicles"),
        ({"vehicles": 1.5}, "invalid", "vehicles"),
        ({"municipality": "ludwigshafen-am-rhein"}, "unknown", "municipality"),
        ({"municipality": None}, "invalid", "municipality"),
        ({"office": "mannheim"}, "unknown", "office"),
        ({"privacy_consent": False}, "invalid", "privacy_consent"),
        ({"privacy_consent": "yes"}, "invalid", "privacy_consent"),
        ({"privacy_consent": 1}, "invalid", "privacy_consent"),
        ({"email": "erika(at)example.org"}, "invalid", "email"),
        ({"email": ""}, "invalid", "email"),
        ({"email": "a" * 250 + "@example.org"}, "invalid", "email"),
        ({"name": "x" * 10_000}, "invalid", "name"),
        ({"name": "   "}, "invalid", "name"),
        ({"name": ["Erika"]}, "invalid", "name"),
        ({"phone": "call me maybe"}, "invalid", "phone"),
        ({"phone": "0" * 500}, "invalid", "phone"),
        ({"language": "fr"}, "invalid", "language"),
    ],
)
def test_bad_booking_input_is_rejected_without_a_booking(client, overrides, code, field):
    response = post(client, "/bookings", booking_body(**overrides))
    assert_error(response, 400, code, field)
    assert not Appointment.objects.exists()
    assert not Notification.objects.exists()


@pytest.mark.parametrize("missing", ["services", "municipality", "office", "start", "name", "email", "privacy_consent"])
def test_missing_booking_fields_are_named(client, missing):
    body = booking_body()
    del body[missing]
    assert_error(post(client, "/bookings", body), 400, "invalid", missing)
    assert not Appointment.objects.exists()


def test_all_field_errors_come_at_once(client):
    body = assert_error(
        post(client, "/bookings", booking_body(name="", email="nope", privacy_consent=False)), 400, "invalid"
    )
    assert set(body["errors"]) == {"name", "email", "privacy_consent"}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"services": ["umschreibung"], ',
        b"not json at all",
        b"\xff\xfe\x00",
        b"[1, 2, 3]",
        b'"a string"',
        b"null",
        b"",
    ],
)
def test_malformed_bodies_are_400_not_500(client, raw):
    response = post(client, "/bookings", raw)
    assert_error(response, 400, "invalid")
    assert not Appointment.objects.exists()


def test_a_cooperation_that_does_not_allow_it_is_not_allowed(client, demo):
    """Without the rule opening Frankenthal to Rhein-Pfalz-Kreis residents, Lambsheim may not book there."""
    CooperationRule.objects.filter(office=demo.frankenthal, administration=demo.rpk).delete()
    response = post(client, "/bookings", booking_body(municipality="lambsheim"))
    assert_error(response, 400, "not_allowed", "office")
    assert not Appointment.objects.exists()
    # and the search no longer offers Frankenthal to them
    result = slots(client, municipality="lambsheim")
    assert {s["office"] for s in result["slots"]} == {"schifferstadt"}


def test_a_service_the_office_does_not_offer(client, demo):
    demo.umschreibung.offices.remove(demo.frankenthal)
    response = post(client, "/bookings", booking_body())
    assert_error(response, 400, "service_not_offered", "office")
    assert not Appointment.objects.exists()


def test_a_service_not_bookable_online(client, demo):
    demo.umschreibung.bookable_online = False
    demo.umschreibung.save()
    assert_error(post(client, "/bookings", booking_body()), 400, "not_bookable_online", "services")
    assert not Appointment.objects.exists()


def test_booking_is_rate_limited_with_retry_after(client, settings):
    settings.BOOKING_RATE_LIMIT = "2/h"
    book(client)
    book(client, start=LATER)
    response = post(client, "/bookings", booking_body(start="2026-12-02T11:00:00+01:00"))
    assert_error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0
    assert Appointment.objects.count() == 2


# --- confirm, read, cancel, reschedule ---------------------------------------------------------


@pytest.fixture
def booked(client):
    body = book(client)
    return body["reference"], opt_in_token(body["reference"])


def test_confirm_with_the_token_from_the_mail(client, booked):
    reference, token = booked
    response = post(client, f"/bookings/{reference}/confirm", {"token": token})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "confirmed" and body["reference"] == reference
    assert body["confirm_by"] is None
    assert Appointment.objects.get(reference=reference).status == Status.CONFIRMED
    assert Notification.objects.filter(appointment__reference=reference, kind=Notification.Kind.CONFIRMATION).exists()
    # A second click on the link changes nothing.
    again = post(client, f"/bookings/{reference}/confirm", {"token": token})
    assert again.status_code == 200 and again.json()["status"] == "confirmed"


def test_confirm_with_a_wrong_token_answers_like_an_unknown_reference(client, booked):
    reference, token = booked
    assert_error(post(client, f"/bookings/{reference}/confirm", {"token": token[:-2] + "xx"}), 404, "not_found")
    assert_error(post(client, f"/bookings/{reference}/confirm", {"token": ""}), 404, "not_found")
    assert Appointment.objects.get(reference=reference).status == Status.UNCONFIRMED


def test_confirm_an_unknown_reference_is_404(client, booked):
    _, token = booked
    assert_error(post(client, "/bookings/FT-ZZZZZZ/confirm", {"token": token}), 404, "not_found")
    assert_error(post(client, f"/bookings/{'X' * 300}/confirm", {"token": token}), 404, "not_found")


def test_confirm_after_the_hold_ran_out_is_410(client, booked, clock):
    reference, token = booked
    clock.now = NOW + dt.timedelta(minutes=61)
    assert_error(post(client, f"/bookings/{reference}/confirm", {"token": token}), 410, "expired")
    assert Appointment.objects.get(reference=reference).status != Status.CONFIRMED


def test_confirm_just_before_the_deadline_works(client, booked, clock):
    reference, token = booked
    clock.now = NOW + dt.timedelta(minutes=59)
    assert post(client, f"/bookings/{reference}/confirm", {"token": token}).json()["status"] == "confirmed"


def test_confirm_a_cancelled_booking_is_409(client, booked):
    reference, token = booked
    post(client, f"/bookings/{reference}/cancel", {"token": token})
    assert_error(post(client, f"/bookings/{reference}/confirm", {"token": token}), 409, "invalid_state")


def test_confirm_without_a_token_is_400(client, booked):
    reference, _ = booked
    assert_error(post(client, f"/bookings/{reference}/confirm", {}), 400, "invalid", "token")
    assert_error(post(client, f"/bookings/{reference}/confirm", {"token": 42}), 400, "invalid", "token")


def test_read_a_booking(client, booked):
    reference, token = booked
    response = get(client, f"/bookings/{reference}", {"token": token})
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("reference", "status", "office", "start", "end", "services", "vehicles")} == {
        "reference": reference,
        "status": "unconfirmed",
        "office": "frankenthal",
        "start": START,
        "end": "2026-12-02T08:15:00+01:00",
        "services": ["umschreibung"],
        "vehicles": 1,
    }
    assert body["office_name"] == "Zulassungsstelle Frankenthal (Pfalz)"
    assert body["address"] == "Hammstraße 20, 67227 Frankenthal (Pfalz)"
    assert body["documents"]
    # References are read out on the phone: lower case works too.
    assert get(client, f"/bookings/{reference.lower()}", {"token": token}).status_code == 200


def test_read_a_booking_needs_its_token(client, booked):
    reference, token = booked
    assert_error(get(client, f"/bookings/{reference}", {"token": "guess"}), 404, "not_found")
    assert_error(get(client, f"/bookings/{reference}"), 400, "invalid", "token")
    assert_error(get(client, "/bookings/FT-ZZZZZZ", {"token": token}), 404, "not_found")


def test_cancel_frees_the_time(client, booked):
    reference, token = booked
    book(client)
    book(client)
    assert START not in [s["start"] for s in slots(client, office=["frankenthal"])["slots"]]
    response = post(client, f"/bookings/{reference}/cancel", {"token": token})
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert Appointment.objects.get(reference=reference).status == Status.CANCELLED
    assert START in [s["start"] for s in slots(client, office=["frankenthal"])["slots"]]
    # Cancelling twice is harmless.
    assert post(client, f"/bookings/{reference}/cancel", {"token": token}).json()["status"] == "cancelled"


def test_cancel_with_a_wrong_token_or_reference(client, booked):
    reference, token = booked
    assert_error(post(client, f"/bookings/{reference}/cancel", {"token": "nope"}), 404, "not_found")
    assert_error(post(client, "/bookings/FT-ZZZZZZ/cancel", {"token": token}), 404, "not_found")
    assert Appointment.objects.get(reference=reference).status == Status.UNCONFIRMED


def test_cancel_after_the_appointment_began_is_409(client, booked, clock):
    reference, token = booked
    post(client, f"/bookings/{reference}/confirm", {"token": token})
    clock.now = berlin(2026, 12, 2, 8, 5)
    assert_error(post(client, f"/bookings/{reference}/cancel", {"token": token}), 409, "invalid_state")
    assert Appointment.objects.get(reference=reference).status == Status.CONFIRMED


def test_reschedule_moves_the_booking(client, booked):
    reference, token = booked
    post(client, f"/bookings/{reference}/confirm", {"token": token})
    response = post(
        client,
        f"/bookings/{reference}/reschedule",
        {"token": token, "office": "schifferstadt", "start": "2026-12-03T14:00:00+01:00"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["reference"], body["status"]) == (reference, "confirmed")
    assert (body["office"], body["start"], body["end"]) == (
        "schifferstadt",
        "2026-12-03T14:00:00+01:00",
        "2026-12-03T14:15:00+01:00",
    )
    appointment = Appointment.objects.get(reference=reference)
    assert appointment.office.slug == "schifferstadt"
    assert Notification.objects.filter(appointment=appointment, kind=Notification.Kind.RESCHEDULE).exists()


def test_reschedule_to_a_taken_time_keeps_the_old_one(client, booked):
    """Every Frankenthal counter is taken at 10:00: 409 with alternatives, and 08:00 stays booked."""
    reference, token = booked
    for _ in range(3):
        book(client, start=LATER)
    response = post(
        client, f"/bookings/{reference}/reschedule", {"token": token, "office": "frankenthal", "start": LATER}
    )
    body = assert_error(response, 409, "slot_taken")
    assert body["alternatives"]
    assert all(a["end"].endswith("+01:00") for a in body["alternatives"])
    appointment = Appointment.objects.get(reference=reference)
    assert appointment.start == dt.datetime.fromisoformat(START)
    assert appointment.status == Status.UNCONFIRMED
    assert get(client, f"/bookings/{reference}", {"token": token}).json()["start"] == START


def test_reschedule_rejects_bad_input(client, booked):
    reference, token = booked
    path = f"/bookings/{reference}/reschedule"
    assert_error(post(client, path, {"token": "nope", "office": "frankenthal", "start": LATER}), 404, "not_found")
    assert_error(
        post(client, "/bookings/FT-ZZZZZZ/reschedule", {"token": token, "office": "frankenthal", "start": LATER}),
        404,
        "not_found",
    )
    assert_error(post(client, path, {"token": token, "office": "mannheim", "start": LATER}), 400, "unknown", "office")
    assert_error(
        post(client, path, {"token": token, "office": "frankenthal", "start": PAST}), 400, "invalid_time", "start"
    )
    assert_error(
        post(client, path, {"token": token, "office": "frankenthal", "start": "2026-12-02T10:00:00"}),
        400,
        "invalid",
        "start",
    )
    assert_error(post(client, path, {"token": token, "office": "frankenthal"}), 400, "invalid", "start")
    assert_error(post(client, path, b"{oops"), 400, "invalid")
    assert Appointment.objects.get(reference=reference).start == dt.datetime.fromisoformat(START)


def test_reschedule_after_the_hold_ran_out_is_410(client, booked, clock):
    reference, token = booked
    clock.now = NOW + dt.timedelta(minutes=61)
    response = post(
        client, f"/bookings/{reference}/reschedule", {"token": token, "office": "frankenthal", "start": LATER}
    )
    assert_error(response, 410, "expired")


def test_reschedule_a_cancelled_booking_is_409(client, booked):
    reference, token = booked
    post(client, f"/bookings/{reference}/cancel", {"token": token})
    response = post(
        client, f"/bookings/{reference}/reschedule", {"token": token, "office": "frankenthal", "start": LATER}
    )
    assert_error(response, 409, "invalid_state")


# --- language ------------------------------------------------------------------------------------


def test_messages_in_english_on_request(client, booked):
    reference, _ = booked
    response = post(client, "/bookings", booking_body(email="nope", privacy_consent=False), HTTP_ACCEPT_LANGUAGE="en")
    body = assert_error(response, 400, "invalid")
    assert body["message"] == "Please correct the marked fields."
    assert body["errors"]["email"] == ["Please enter a valid e-mail address."]
    assert response["Content-Language"] == "en"
    response = post(client, f"/bookings/{reference}/confirm", {"token": "x"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["message"] == "There is no booking with this reference, or the link is not valid for it."
    response = post(client, "/bookings", booking_body(vehicles=4), HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["message"] == "At most 3 vehicles can be handled in one appointment for these concerns."
    response = post(client, "/bookings", b"{", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["message"] == "The request body is not valid JSON."
    body = post(client, "/bookings", {"vehicles": 1}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["errors"]["email"] == ["This field is required."]


def test_german_is_the_default_language(client):
    response = post(client, "/bookings", booking_body(email="nope"))
    assert response.status_code == 400
    assert response["Content-Language"] == "de"
    response = post(client, "/bookings", booking_body(email="nope"), HTTP_ACCEPT_LANGUAGE="fr")
    assert response["Content-Language"] == "de"


# --- documentation -------------------------------------------------------------------------------


def test_openapi_document_lists_every_path(client):
    response = get(client, "/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    paths = document["paths"]
    assert {
        "/api/v1/services": {"get"},
        "/api/v1/offices": {"get"},
        "/api/v1/municipalities": {"get"},
        "/api/v1/slots": {"get"},
        "/api/v1/days": {"get"},
        "/api/v1/bookings": {"post"},
        "/api/v1/bookings/{reference}": {"get"},
        "/api/v1/bookings/{reference}/confirm": {"post"},
        "/api/v1/bookings/{reference}/cancel": {"post"},
        "/api/v1/bookings/{reference}/reschedule": {"post"},
    } == {path: set(methods) for path, methods in paths.items()}
    assert set(paths["/api/v1/bookings"]["post"]["responses"]) >= {"201", "400", "409", "429"}
    assert set(paths["/api/v1/bookings/{reference}/confirm"]["post"]["responses"]) >= {
        "200",
        "403",
        "404",
        "409",
        "410",
    }


def test_docs_are_served_without_third_party_requests(client):
    response = get(client, "/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assert not re.search(r"(?:https?:)?//(?!testserver\b)[\w.-]+", html), "no request to another host"
    static_urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any(url.endswith(".js") for url in static_urls) and any(url.endswith(".css") for url in static_urls)
    for url in static_urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        if hasattr(asset, "close"):
            asset.close()
