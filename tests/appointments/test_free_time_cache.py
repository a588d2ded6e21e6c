"""The free-time cache: each office-day's free time is computed once per change and reused by every
search (in the process, and through Redis by the other processes), keyed by the configuration's
number and the office-day's occupancy number, and valid only until time alone frees something in it.

Visible from outside: a repeated search reads no appointments; after a booking only its office-day
is read again; a hold that runs out or a cancelled time whose delay ends is offered again without
any write; a closure or new hours change the answer at once; a Redis that is down or silent changes
nothing but the speed; the booking never trusts the cache. On SQLite and on PostgreSQL.

The small world of tests/factories.py: Frankenthal (2 counters) and Schifferstadt (1 counter), open
08:00–10:00 on weekdays, a 15-minute grid, an hour's lead time; the clock at Monday 30 November 2026,
07:00; Schifferstadt may serve Frankenthal's residents.
"""

import datetime as dt
import os
import threading
import time

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from appointments.domain import availability, booking, free_time_cache, occupancy
from appointments.domain.availability import day_overview, find_slots
from appointments.errors import ErrorCode, PortalError
from appointments.models import Appointment, FreedTime, Status
from offices.models import Closure, CooperationRule, OpeningHours
from tests.conftest import berlin
from tests.factories import World

NOW = berlin(2026, 11, 30, 7, 0)  # Monday
TUESDAY = dt.date(2026, 12, 1)
UNTIL = dt.date(2026, 12, 24)
NINE = berlin(2026, 12, 1, 9, 0)


@pytest.fixture
def world(db):
    world = World()
    CooperationRule.objects.create(office=world.office_rp, administration=world.ft)
    free_time_cache.forget()
    yield world
    free_time_cache.forget()


def search(world, now=NOW, **kwargs):
    return find_slots(request=world.request(until=UNTIL, **kwargs), now=now)


def offered(slots, office, start) -> bool:
    return any(slot.office == office and slot.start == start for slot in slots)


class Reads:
    """The queries of a block, and among them those that read appointments."""

    def __enter__(self):
        self.context = CaptureQueriesContext(connection).__enter__()
        return self

    def __exit__(self, *exc):
        self.context.__exit__(*exc)

    @property
    def total(self) -> int:
        return len(self.context.captured_queries)

    @property
    def appointments(self) -> int:
        return sum('"appointments_appointment"' in q["sql"] for q in self.context.captured_queries)


@pytest.fixture
def recomputed(monkeypatch):
    """The office-days each search had to compute, as {office id: days}, one dict per computation."""
    calls: list[dict] = []
    real = availability._office_day_entries

    def spy(wanted, **kwargs):
        calls.append({office_id: list(days) for office_id, days in wanted.items()})
        return real(wanted, **kwargs)

    monkeypatch.setattr(availability, "_office_day_entries", spy)
    return calls


def test_a_repeated_search_reads_no_appointments(world):
    """The first search reads the appointments of its 4 weeks once; the same search again, the day
    overview and a search for other concerns (the cache does not depend on them) read none: the
    configuration's number and the occupancy numbers, nothing else."""
    world.occupy(world.office_rp, world.office_rp.counters.get(), NINE, 15)
    with Reads() as first:
        slots = search(world)
    assert first.appointments == 1
    assert not offered(slots, world.office_rp, NINE) and offered(slots, world.office_ft, NINE)
    with Reads() as again:
        assert search(world) == slots
    assert (again.appointments, again.total) == (0, 2)
    with Reads() as other:
        overview = day_overview(request=world.request(until=UNTIL), now=NOW)
        longer = search(world, services=[world.long], vehicles=2)
    assert other.appointments == 0
    assert any(entry.free for entry in overview) and longer and not offered(longer, world.office_rp, NINE)


def test_after_a_booking_only_its_office_day_is_read_again(world, recomputed):
    search(world)
    assert len(recomputed) == 1 and len(recomputed[0][world.office_ft.id]) > 15  # every working day, once
    world.occupy(world.office_rp, world.office_rp.counters.get(), NINE, 15)
    with Reads() as reads:
        slots = search(world)
    # PostgreSQL renews the booking's day in Berlin; SQLite, without time zones, its UTC date and the
    # next (migration 0013), so there the Wednesday is read again too.
    again = [TUESDAY] if connection.vendor == "postgresql" else [TUESDAY, TUESDAY + dt.timedelta(days=1)]
    assert recomputed[1:] == [{world.office_rp.id: again}]
    assert reads.appointments == 1
    assert not offered(slots, world.office_rp, NINE), "the booked time is gone at once"
    assert offered(slots, world.office_rp, NINE + dt.timedelta(days=1))


def test_a_hold_that_runs_out_frees_its_time_without_any_write(world):
    """The entry of the hold's day is valid until the hold's expiry: before it no appointment is read
    again and the time stays taken; from it on the time is offered, though nothing was written."""
    counter = world.office_rp.counters.get()
    hold = world.occupy(
        world.office_rp, counter, NINE, 15, status=Status.HELD, hold_expires_at=NOW + dt.timedelta(minutes=10)
    )
    versions = occupancy.read_versions([world.office_rp.id], TUESDAY, TUESDAY)
    assert not offered(search(world), world.office_rp, NINE)
    with Reads() as before:
        assert not offered(search(world, now=NOW + dt.timedelta(minutes=9, seconds=59)), world.office_rp, NINE)
    assert before.appointments == 0
    with Reads() as after:
        assert offered(search(world, now=NOW + dt.timedelta(minutes=10)), world.office_rp, NINE)
    assert after.appointments == 1
    hold.refresh_from_db()
    assert hold.status == Status.HELD
    assert occupancy.read_versions([world.office_rp.id], TUESDAY, TUESDAY) == versions, "nothing was written"


def test_a_cancelled_or_moved_away_time_comes_back_when_its_delay_ends(world, settings):
    settings.CANCELLED_SLOT_DELAY_MINUTES = 15
    counter = world.office_rp.counters.get()
    later = NINE + dt.timedelta(minutes=30)
    cancelled = world.occupy(world.office_rp, counter, NINE, 15)
    moved = world.occupy(world.office_rp, counter, later, 15)
    Appointment.objects.filter(pk=cancelled.pk).update(status=Status.CANCELLED, cancelled_at=NOW)
    # A move, as booking.reschedule_booking makes it: the new time and the old one remembered.
    Appointment.objects.filter(pk=moved.pk).update(
        start=later + dt.timedelta(days=1), end=later + dt.timedelta(days=1, minutes=15)
    )
    FreedTime.objects.create(counter=counter, start=later, end=later + dt.timedelta(minutes=15), freed_at=NOW)
    slots = search(world)
    assert not offered(slots, world.office_rp, NINE) and not offered(slots, world.office_rp, later)
    with Reads() as during:
        slots = search(world, now=NOW + dt.timedelta(minutes=14))
    assert during.appointments == 0
    assert not offered(slots, world.office_rp, NINE) and not offered(slots, world.office_rp, later)
    slots = search(world, now=NOW + dt.timedelta(minutes=15))
    assert offered(slots, world.office_rp, NINE) and offered(slots, world.office_rp, later)


def test_a_closure_or_new_hours_change_the_answer_at_once(world):
    assert offered(search(world), world.office_rp, NINE)
    Closure.objects.create(office=world.office_rp, start_date=TUESDAY, end_date=TUESDAY, reason="Betriebsausflug")
    slots = search(world)
    assert not any(s.office == world.office_rp and s.start.astimezone(NINE.tzinfo).date() == TUESDAY for s in slots)
    assert offered(slots, world.office_rp, NINE + dt.timedelta(days=7))
    OpeningHours.objects.filter(office=world.office_rp, weekday=1).update(closes=dt.time(9))
    slots = search(world)
    assert not offered(slots, world.office_rp, NINE + dt.timedelta(days=7))
    assert offered(slots, world.office_rp, NINE + dt.timedelta(days=7, minutes=-15))


def test_redis_down_or_silent_changes_nothing_but_the_speed(world, dead_redis):
    """The cache at a Redis that is not there or does not answer: searches answer as with it (from
    the process's own entries, or computed), a booking is seen at once, and Redis costs one timeout
    per process and period, not one per search."""
    counter = world.office_rp.counters.get()
    started = time.monotonic()
    slots = search(world)
    assert offered(slots, world.office_rp, NINE)
    world.occupy(world.office_rp, counter, NINE, 15)
    free_time_cache.forget()  # as in another process: nothing of its own yet
    again = search(world)
    assert not offered(again, world.office_rp, NINE)
    assert [s for s in again if s.start != NINE or s.office != world.office_rp] == [
        s for s in slots if s.start != NINE or s.office != world.office_rp
    ]
    assert time.monotonic() - started < 1.5


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs a Redis server: set TEST_REDIS_URL")
def test_other_processes_take_the_entries_from_redis(world, settings):
    from django.core.cache import cache

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["TEST_REDIS_URL"]}
    }
    cache.clear()
    try:
        slots = search(world)
        free_time_cache.forget()  # another process: an empty dict of its own, the same Redis
        with Reads() as reads:
            assert search(world) == slots
        assert reads.appointments == 0
        world.occupy(world.office_rp, world.office_rp.counters.get(), NINE, 15)
        free_time_cache.forget()
        with Reads() as reads:
            assert not offered(search(world), world.office_rp, NINE)
        assert reads.appointments == 1
    finally:
        cache.clear()


def test_the_booking_decides_from_the_database_not_from_the_cache(world, monkeypatch):
    """With cache keys that ignore the occupancy numbers the search goes stale (it still offers a
    taken time), and the booking of that time is refused all the same."""
    monkeypatch.setattr(occupancy, "read_versions", lambda *args: {})
    counter = world.office_rp.counters.get()
    search(world)
    world.occupy(world.office_rp, counter, NINE, 15)
    assert offered(search(world), world.office_rp, NINE), "the control: a cache without the numbers is stale"
    with pytest.raises(PortalError) as refused:
        booking.book(
            office=world.office_rp,
            start=NINE,
            services=[world.quick],
            vehicles=1,
            municipality=world.frankenthal_home,
            name="Erika Mustermann",
            email="erika@example.org",
            privacy_consent=True,
            now=NOW,
        )
    assert refused.value.code == ErrorCode.SLOT_TAKEN


@pytest.mark.django_db(transaction=True)
def test_a_booking_committed_while_a_search_computes_is_not_shown_free_afterwards(world, monkeypatch):
    """The race of the module's docstring: another connection commits a booking between the search's
    two reads, the occupancy numbers and the appointments (whichever came first), and the search
    stores its entry. Every later search shows the time taken. (Were the appointments read before
    the numbers, the entry without the booking would be stored under the booking's new number.)"""
    counter = world.office_rp.counters.get()
    search(world)
    world.occupy(world.office_rp, counter, NINE + dt.timedelta(minutes=30), 15)  # Tuesday is read again
    committed = []

    def commit_a_booking():
        def book():
            try:
                committed.append(world.occupy(world.office_rp, counter, NINE, 15))
            finally:
                connections.close_all()

        thread = threading.Thread(target=book)
        thread.start()
        thread.join()

    def then_commit(real):
        def read(*args, **kwargs):
            result = real(*args, **kwargs)
            if not committed:
                commit_a_booking()
            return result

        return read

    monkeypatch.setattr(occupancy, "current_versions", then_commit(occupancy.current_versions))
    monkeypatch.setattr(availability, "_office_day_rows", then_commit(availability._office_day_rows))
    search(world)
    assert committed
    monkeypatch.undo()
    assert not offered(search(world), world.office_rp, NINE)
    free_time_cache.forget()
    assert not offered(search(world), world.office_rp, NINE)
