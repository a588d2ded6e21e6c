"""Pool-excluded services: a cooperation rule can keep a concern with the home authority, so that
residents of either administration are offered it only at their own office, while every other
concern stays pooled. Checked through the availability engine and the JSON API.

The clock stands at Tuesday 1 December 2026, 07:00 in Berlin; the searches are for Wednesday 2 December,
when both demo offices work.
"""

import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.test import Client

from appointments.domain.availability import SlotRequest, find_slots
from appointments.models import Appointment
from offices.models import CooperationRule, Service
from tests.conftest import berlin

NOW = berlin(2026, 12, 1, 7, 0)
DAY = dt.date(2026, 12, 2)
HOME_ONLY = "ersatz-zulassungsbescheinigung"


@pytest.fixture
def pool(demo):
    """The demo cooperation, with the replacement of a lost registration certificate kept at home:
    both rules cover all services except that one."""
    demo.home_only = Service.objects.get(slug=HOME_ONLY)
    for rule in CooperationRule.objects.all():
        rule.scope = CooperationRule.Scope.EXCEPT
        rule.save()
        rule.services.set([demo.home_only])
    return demo


def offices_offered(demo, municipality, services):
    request = SlotRequest(services=tuple(services), vehicles=1, municipality=municipality, date_from=DAY, date_to=DAY)
    return {slot.office.slug for slot in find_slots(request=request, now=NOW)}


def test_a_pool_excluded_service_is_offered_only_at_the_home_office(pool):
    """A Frankenthal resident gets it only in Frankenthal, a Lambsheim resident only in Schifferstadt."""
    assert offices_offered(pool, pool.frankenthal_citizen_home, [pool.home_only]) == {"frankenthal"}
    assert offices_offered(pool, pool.lambsheim_citizen_home, [pool.home_only]) == {"schifferstadt"}


def test_the_other_services_stay_pooled(pool):
    assert offices_offered(pool, pool.frankenthal_citizen_home, [pool.umschreibung]) == {"frankenthal", "schifferstadt"}
    assert offices_offered(pool, pool.lambsheim_citizen_home, [pool.umschreibung]) == {"frankenthal", "schifferstadt"}


def test_a_request_that_includes_a_pool_excluded_service_goes_home(pool):
    """One appointment for both concerns can only be at the office that may do both."""
    both = [pool.umschreibung, pool.home_only]
    assert offices_offered(pool, pool.frankenthal_citizen_home, both) == {"frankenthal"}
    assert offices_offered(pool, pool.lambsheim_citizen_home, both) == {"schifferstadt"}


def test_without_the_exclusion_the_service_is_pooled(demo):
    """Control: the demo rules cover all services, so the same request reaches both offices."""
    service = Service.objects.get(slug=HOME_ONLY)
    assert offices_offered(demo, demo.frankenthal_citizen_home, [service]) == {"frankenthal", "schifferstadt"}


def test_rules_add_up_a_second_rule_can_open_the_service_again(pool):
    """An administrator who adds an unrestricted rule for the same residents opens the office again:
    the exclusion is a property of the rules, not a ban across them."""
    CooperationRule.objects.create(office=pool.schifferstadt, administration=pool.ft, note="Sonderregel")
    assert offices_offered(pool, pool.frankenthal_citizen_home, [pool.home_only]) == {"frankenthal", "schifferstadt"}
    assert offices_offered(pool, pool.lambsheim_citizen_home, [pool.home_only]) == {"schifferstadt"}


def test_an_allowlist_rule_without_the_service_excludes_it_too(demo):
    """The older form, a rule listing only the pooled services, has the same effect."""
    home_only = Service.objects.get(slug=HOME_ONLY)
    rule = CooperationRule.objects.get(office=demo.schifferstadt, administration=demo.ft)
    rule.services.set(Service.objects.exclude(pk=home_only.pk))
    assert offices_offered(demo, demo.frankenthal_citizen_home, [home_only]) == {"frankenthal"}
    assert offices_offered(demo, demo.frankenthal_citizen_home, [demo.umschreibung]) == {"frankenthal", "schifferstadt"}


# --- the same through the JSON API -----------------------------------------------------------------


@pytest.fixture
def api(pool, clock):
    cache.clear()
    yield Client()
    cache.clear()


def api_offices(client, municipality, services):
    response = client.get(
        "/api/v1/slots",
        {"service": services, "municipality": municipality, "date_from": DAY.isoformat(), "date_to": DAY.isoformat()},
    )
    assert response.status_code == 200, response.content
    return {slot["office"] for slot in response.json()["slots"]}


def test_the_api_offers_a_pool_excluded_service_only_at_the_home_office(api):
    assert api_offices(api, "frankenthal-pfalz", [HOME_ONLY]) == {"frankenthal"}
    assert api_offices(api, "lambsheim", [HOME_ONLY]) == {"schifferstadt"}
    assert api_offices(api, "frankenthal-pfalz", ["umschreibung"]) == {"frankenthal", "schifferstadt"}
    assert api_offices(api, "lambsheim", ["umschreibung", HOME_ONLY]) == {"schifferstadt"}


def test_the_api_refuses_to_book_a_pool_excluded_service_at_the_partner_office(api):
    """What is not shown cannot be booked: the booking service asks the same rules."""
    body = {
        "services": [HOME_ONLY],
        "vehicles": 1,
        "municipality": "frankenthal-pfalz",
        "office": "schifferstadt",
        "start": "2026-12-02T08:00:00+01:00",
        "name": "Erika Mustermann",
        "email": "erika@example.org",
        "privacy_consent": True,
        "language": "en",
    }
    response = api.post("/api/v1/bookings", json.dumps(body), content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "not_allowed"
    assert not Appointment.objects.exists()

    at_home = api.post(
        "/api/v1/bookings", json.dumps({**body, "office": "frankenthal"}), content_type="application/json"
    )
    assert at_home.status_code == 201, at_home.content
