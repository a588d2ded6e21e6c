"""The configuration kept in memory between requests is never stale: every change to it, however it
is written, is seen by the next search; a change that was rolled back is not."""

import datetime as dt

import pytest
from django.db import connection, transaction

from appointments.domain.availability import find_slots
from offices import config
from offices.models import Closure, CooperationRule, Counter, OpeningHours
from tests.conftest import berlin
from tests.factories import World

NOW = berlin(2026, 11, 30, 7, 0)  # a Monday morning
TUESDAY = dt.date(2026, 12, 1)


@pytest.fixture
def world(db):
    return World()


def times(slots):
    return [f"{s.start.astimezone(berlin(2026, 1, 1).tzinfo):%H:%M}" for s in slots]


def test_hours_changed_by_a_bulk_update_are_seen_at_once(world):
    """A queryset update sends no signal: the trigger still tells the next search."""
    assert times(find_slots(request=world.request(), now=NOW))[-1] == "09:45"
    OpeningHours.objects.filter(office=world.office_ft).update(closes=dt.time(9))
    assert times(find_slots(request=world.request(), now=NOW))[-1] == "08:45"


def test_hours_changed_by_plain_sql_are_seen_at_once(world):
    find_slots(request=world.request(), now=NOW)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE offices_openinghours SET opens = %s WHERE office_id = %s", ["09:00:00", world.office_ft.id]
        )
    assert times(find_slots(request=world.request(), now=NOW))[0] == "09:00"


def test_a_closure_and_a_cooperation_rule_open_and_close_offices(world):
    """A new rule opens the partner's office; a whole-day closure removes the day."""
    assert {s.office for s in find_slots(request=world.request(), now=NOW)} == {world.office_ft}
    rule = CooperationRule.objects.create(office=world.office_rp, administration=world.ft)
    assert {s.office for s in find_slots(request=world.request(), now=NOW)} == {world.office_ft, world.office_rp}
    rule.services.set([world.long])  # a many-to-many change: now only for the long concern
    assert {s.office for s in find_slots(request=world.request(), now=NOW)} == {world.office_ft}
    Closure.objects.create(office=world.office_ft, start_date=TUESDAY, end_date=TUESDAY, reason="Betriebsausflug")
    assert find_slots(request=world.request(), now=NOW) == []


def test_a_counter_switched_off_for_online_bookings_frees_no_time(world):
    """With one Frankenthal counter kept for walk-ins, a busy other counter leaves nothing online."""
    c1, c2 = world.office_ft.counters.order_by("name")
    world.occupy(world.office_ft, c1, berlin(2026, 12, 1, 8, 0), 120)
    assert times(find_slots(request=world.request(), now=NOW))[0] == "08:00"
    Counter.objects.filter(pk=c2.pk).update(bookable_online=False)
    assert find_slots(request=world.request(), now=NOW) == []


def test_a_rolled_back_change_is_not_served(world):
    """Searched inside a transaction that then rolls back, the changed hours do not outlive it."""
    before = times(find_slots(request=world.request(), now=NOW))
    with pytest.raises(RuntimeError), transaction.atomic():
        OpeningHours.objects.filter(office=world.office_ft).update(closes=dt.time(9))
        assert times(find_slots(request=world.request(), now=NOW))[-1] == "08:45"
        raise RuntimeError("rolled back")
    assert times(find_slots(request=world.request(), now=NOW)) == before


def test_unchanged_configuration_is_read_once(world, django_assert_num_queries):
    """Two readings without a change in between: the second one costs one small query."""
    first = config.current(now=NOW)
    with django_assert_num_queries(1):
        assert config.current(now=NOW) is first
    OpeningHours.objects.filter(office=world.office_ft).update(closes=dt.time(9))
    assert config.current(now=NOW) is not first


def test_one_reading_serves_the_first_reading_without_asking_again(world, django_assert_num_queries):
    """Inside one request's reading the configuration is read once; outside it, a change is seen."""
    with config.one_reading():
        first = config.current(now=NOW)
        OpeningHours.objects.filter(office=world.office_ft).update(closes=dt.time(9))
        with django_assert_num_queries(0):
            assert config.current(now=NOW) is first
    assert config.current(now=NOW) is not first
