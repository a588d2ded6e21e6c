"""The availability engine: which start times a citizen is offered, per office."""

import datetime as dt

import pytest

from appointments.domain import booking
from appointments.domain.availability import AvailabilityError, find_slots
from appointments.errors import ErrorCode, PortalError
from appointments.models import Appointment, Status
from offices.hours import BERLIN
from offices.models import Closure, CooperationRule, HolidayOpening, OpeningHours
from tests.conftest import berlin
from tests.factories import World

NOW = berlin(2026, 11, 30, 7, 0)  # a Monday morning


@pytest.fixture
def world(db):
    return World()


def starts(slots, office=None):
    return [s.start for s in slots if office is None or s.office == office]


def times(slots, office=None):
    return [
        f"{s.start.astimezone(berlin(2026, 1, 1).tzinfo):%H:%M}" for s in slots if office is None or s.office == office
    ]


def test_free_day_offers_every_grid_start_that_fits(world):
    """A 10-minute concern in 08:00–10:00 on a 15-minute grid: 08:00 … 09:45, at the home office only."""
    slots = find_slots(request=world.request(), now=NOW)
    assert times(slots) == ["08:00", "08:15", "08:30", "08:45", "09:00", "09:15", "09:30", "09:45"]
    assert {s.office for s in slots} == {world.office_ft}, "no cooperation rule yet: only the home office"
    assert all(s.end - s.start == dt.timedelta(minutes=10) for s in slots)


def test_one_entry_per_office_and_start_however_many_counters(world):
    """Two free counters at Frankenthal still give one entry per start time."""
    slots = find_slots(request=world.request(), now=NOW)
    assert len(slots) == len({s.start for s in slots})


def test_cooperation_rule_opens_the_partner_office(world):
    """With a rule, a Frankenthal resident is also offered Schifferstadt; without, not."""
    CooperationRule.objects.create(office=world.office_rp, administration=world.ft)
    slots = find_slots(request=world.request(), now=NOW)
    assert {s.office for s in slots} == {world.office_ft, world.office_rp}
    only_rp = find_slots(request=world.request(offices=[world.office_rp]), now=NOW)
    assert {s.office for s in only_rp} == {world.office_rp}


def test_cooperation_rule_limited_to_services_and_validity(world):
    """A rule for one service and from a date on does not open the office for others or earlier."""
    rule = CooperationRule.objects.create(
        office=world.office_rp, administration=world.ft, valid_from=dt.date(2026, 12, 2)
    )
    rule.services.set([world.quick])
    week = find_slots(request=world.request(day=dt.date(2026, 12, 1), until=dt.date(2026, 12, 2)), now=NOW)
    rp_days = {s.start.date() for s in week if s.office == world.office_rp}
    assert rp_days == {dt.date(2026, 12, 2)}
    long = find_slots(request=world.request(services=[world.long], day=dt.date(2026, 12, 2)), now=NOW)
    assert world.office_rp not in {s.office for s in long}


def test_busy_counters_block_and_the_other_counter_stays_free(world):
    """A slot disappears only when every counter is busy for its whole length."""
    c1, c2 = world.office_ft.counters.order_by("name")
    start = berlin(2026, 12, 1, 8, 0)
    world.occupy(world.office_ft, c1, start, 60)
    assert "08:00" in times(find_slots(request=world.request(), now=NOW))
    world.occupy(world.office_ft, c2, start, 20)
    result = times(find_slots(request=world.request(), now=NOW))
    assert result[:2] == ["08:30", "08:45"], "08:20 is free on counter 2 but off the 15-minute grid"


def test_cancelled_expired_and_stale_holds_do_not_block(world):
    """Cancelled, expired and held-but-run-out appointments free their counter; a live hold blocks."""
    c1, c2 = world.office_ft.counters.order_by("name")
    start = berlin(2026, 12, 1, 8, 0)
    world.occupy(world.office_ft, c1, start, 15, status=Status.CANCELLED)
    stale = world.occupy(
        world.office_ft, c2, start, 15, status=Status.HELD, hold_expires_at=NOW - dt.timedelta(minutes=1)
    )
    assert times(find_slots(request=world.request(), now=NOW))[0] == "08:00"
    stale.status = Status.EXPIRED  # as the sweep (or the next booking on that counter) does
    stale.save()
    world.occupy(world.office_ft, c1, start, 15, status=Status.HELD, hold_expires_at=NOW + dt.timedelta(minutes=5))
    world.occupy(
        world.office_ft, c2, start, 15, status=Status.UNCONFIRMED, hold_expires_at=NOW + dt.timedelta(minutes=50)
    )
    assert times(find_slots(request=world.request(), now=NOW))[0] == "08:15"


def test_multi_service_and_multi_vehicle_duration(world):
    """Umschreibung (30 + 15 per further vehicle) and Außerbetriebsetzung (10 + 5), 2 vehicles: 60 min."""
    slots = find_slots(request=world.request(services=[world.quick, world.long], vehicles=2), now=NOW)
    assert all(s.end - s.start == dt.timedelta(minutes=60) for s in slots)
    assert times(slots) == ["08:00", "08:15", "08:30", "08:45", "09:00"]


def test_too_many_vehicles_is_rejected(world):
    with pytest.raises(AvailabilityError) as error:
        find_slots(request=world.request(vehicles=4), now=NOW)
    assert error.value.code == ErrorCode.TOO_MANY_VEHICLES


def test_counters_that_offer_only_some_services(world):
    """A counter restricted to Außerbetriebsetzung is not used for Umschreibung."""
    c1, c2 = world.office_ft.counters.order_by("name")
    c2.services.set([world.quick])
    start = berlin(2026, 12, 1, 8, 0)
    world.occupy(world.office_ft, c1, start, 120)
    assert times(find_slots(request=world.request(services=[world.long]), now=NOW)) == []
    assert times(find_slots(request=world.request(services=[world.quick]), now=NOW))[0] == "08:00"


def test_service_not_offered_at_an_office(world):
    CooperationRule.objects.create(office=world.office_rp, administration=world.ft)
    world.long.offices.set([world.office_ft])
    slots = find_slots(request=world.request(services=[world.long]), now=NOW)
    assert {s.office for s in slots} == {world.office_ft}


def test_per_counter_hours_replace_the_office_hours(world):
    """Counter 2 works only 14:00–15:00 on Tuesdays; counter 1 keeps the office hours."""
    c1, c2 = world.office_ft.counters.order_by("name")
    OpeningHours.objects.create(office=world.office_ft, counter=c2, weekday=1, opens=dt.time(14), closes=dt.time(15))
    result = times(find_slots(request=world.request(), now=NOW))
    assert result[:1] == ["08:00"] and "14:00" in result and "14:45" in result and "15:00" not in result
    world.occupy(world.office_ft, c1, berlin(2026, 12, 1, 8), 120)
    assert times(find_slots(request=world.request(), now=NOW)) == ["14:00", "14:15", "14:30", "14:45"]


def test_closures_whole_day_partial_and_single_counter(world):
    c1, c2 = world.office_ft.counters.order_by("name")
    Closure.objects.create(
        office=world.office_ft, start_date=dt.date(2026, 12, 2), end_date=dt.date(2026, 12, 2), reason="Betriebsausflug"
    )
    assert find_slots(request=world.request(day=dt.date(2026, 12, 2)), now=NOW) == []
    Closure.objects.create(
        office=world.office_ft,
        start_date=dt.date(2026, 12, 1),
        end_date=dt.date(2026, 12, 1),
        start_time=dt.time(8, 30),
        end_time=dt.time(9, 30),
        reason="Personalversammlung",
    )
    assert times(find_slots(request=world.request(), now=NOW)) == ["08:00", "08:15", "09:30", "09:45"]
    Closure.objects.create(
        office=world.office_ft,
        counter=c1,
        start_date=dt.date(2026, 12, 3),
        end_date=dt.date(2026, 12, 3),
        reason="Schulung",
    )
    world.occupy(world.office_ft, c2, berlin(2026, 12, 3, 8), 120)
    assert find_slots(request=world.request(day=dt.date(2026, 12, 3)), now=NOW) == []


@pytest.mark.parametrize(
    "holiday",
    [dt.date(2026, 12, 25), dt.date(2027, 5, 27), dt.date(2027, 11, 1)],
    ids=["25.12.", "Fronleichnam", "Allerheiligen"],
)
def test_public_holidays_are_closed_unless_opened(world, holiday):
    """Rhineland-Palatinate holidays close the office; an administrator can still open on one."""
    world.office_ft.booking_horizon_days = 365
    world.office_ft.save()
    now = dt.datetime.combine(holiday - dt.timedelta(days=7), dt.time(7), tzinfo=NOW.tzinfo)
    assert holiday.weekday() < 5
    assert find_slots(request=world.request(day=holiday), now=now) == []
    HolidayOpening.objects.create(office=world.office_ft, date=holiday)
    assert times(find_slots(request=world.request(day=holiday), now=now))[0] == "08:00"


def test_lead_time_and_horizon(world):
    """Nothing earlier than now + lead time, nothing beyond the booking horizon."""
    now = berlin(2026, 12, 1, 8, 20)  # lead 60 min: the first bookable start is 09:20 → 09:30
    assert times(find_slots(request=world.request(), now=now)) == ["09:30", "09:45"]
    horizon_end = now.date() + dt.timedelta(days=28)
    slots = find_slots(request=world.request(day=now.date(), until=now.date() + dt.timedelta(days=60)), now=now)
    assert max(s.start.date() for s in slots) <= horizon_end
    assert find_slots(request=world.request(day=dt.date(2026, 11, 20), until=dt.date(2026, 11, 27)), now=now) == []


def test_the_first_free_slot_across_the_pool_is_the_partners_when_home_is_full(world):
    """The earliest free slot: the partner's office when the home office is full that day."""
    CooperationRule.objects.create(office=world.office_rp, administration=world.ft)
    for counter in world.office_ft.counters.all():
        world.occupy(world.office_ft, counter, berlin(2026, 12, 1, 8), 120)
    slot = find_slots(request=world.request(), now=NOW)[0]
    assert slot.office == world.office_rp and slot.start == berlin(2026, 12, 1, 8)


def test_bounded_number_of_queries_whatever_the_range(world, django_assert_num_queries):
    """A four-week search over both offices costs exactly as many queries as a one-day search: the
    configuration's number, the occupancy numbers and the appointments of the office-days not yet in
    the free-time cache, once the configuration is in memory (a repeated search reads no
    appointments); the first search after a change also reads it (offices, rules + their services,
    counters + their services, office services, hours, closures, holiday openings, services + their
    documents, municipalities)."""
    CooperationRule.objects.create(office=world.office_rp, administration=world.ft)
    Closure.objects.create(
        office=world.office_ft, start_date=dt.date(2026, 12, 8), end_date=dt.date(2026, 12, 8), reason="x"
    )
    for day in range(1, 20):
        world.occupy(
            world.office_ft, world.office_ft.counters.first(), berlin(2026, 12, 1, 8) + dt.timedelta(days=day), 15
        )
    with django_assert_num_queries(15):
        one_day = find_slots(request=world.request(), now=NOW)
    with django_assert_num_queries(3):
        four_weeks = find_slots(request=world.request(until=dt.date(2026, 12, 28)), now=NOW)
    with django_assert_num_queries(2):
        assert find_slots(request=world.request(), now=NOW) == one_day
    assert len(four_weeks) > 10 * len(one_day) > 0


class TestDaylightSaving:
    """Offices open on a Sunday night across the clock change: real lengths, right offsets."""

    @pytest.fixture
    def night_office(self, world):
        OpeningHours.objects.create(office=world.office_ft, weekday=6, opens=dt.time(1), closes=dt.time(4))
        world.office_ft.slot_minutes = 30
        world.office_ft.booking_horizon_days = 200
        world.office_ft.save()
        return world

    def test_autumn_change_2026_10_25_has_four_real_hours(self, night_office):
        """01:00–04:00 wall clock on 25.10.2026 is four real hours: 02:00 and 02:30 happen twice."""
        world = night_office
        slots = find_slots(request=world.request(day=dt.date(2026, 10, 25)), now=berlin(2026, 10, 20, 7))
        iso = [s.start.astimezone(BERLIN).isoformat() for s in slots]
        assert len(slots) == 8
        assert iso[:3] == ["2026-10-25T01:00:00+02:00", "2026-10-25T01:30:00+02:00", "2026-10-25T02:00:00+02:00"]
        assert iso[3:] == [
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T02:30:00+01:00",
            "2026-10-25T03:00:00+01:00",
            "2026-10-25T03:30:00+01:00",
        ]
        assert all(s.end - s.start == dt.timedelta(minutes=10) for s in slots)

    def test_spring_change_2027_03_28_skips_the_missing_hour(self, night_office):
        """01:00–04:00 wall clock on 28.3.2027 is two real hours: no start in the 02:00–03:00 gap."""
        world = night_office
        slots = find_slots(request=world.request(day=dt.date(2027, 3, 28)), now=berlin(2027, 3, 20, 7))
        local = [s.start.astimezone(berlin(2027, 3, 28).tzinfo).strftime("%H:%M%z") for s in slots]
        assert local == ["01:00+0100", "01:30+0100", "03:00+0200", "03:30+0200"]

    @pytest.mark.parametrize("day,utc_hour", [(dt.date(2026, 10, 26), 7), (dt.date(2027, 3, 30), 6)])
    def test_working_day_after_the_change_opens_at_eight_wall_clock(self, night_office, day, utc_hour):
        """08:00 after the change is 08:00 local time: 07:00 UTC in winter, 06:00 in summer.
        (29.3.2027 is Easter Monday, a holiday: the Tuesday is the first working day.)"""
        world = night_office
        slots = find_slots(
            request=world.request(day=day),
            now=dt.datetime.combine(day - dt.timedelta(days=3), dt.time(7), tzinfo=NOW.tzinfo),
        )
        first = slots[0].start.astimezone(dt.UTC)
        assert (first.hour, first.minute) == (utc_hour, 0)

    @pytest.mark.parametrize("day", [dt.date(2026, 10, 25), dt.date(2027, 3, 28)], ids=["autumn", "spring"])
    def test_grid_that_does_not_divide_the_hour_counts_from_midnight_on_the_wall_clock(self, world, day):
        """A 45-minute grid on a day of 25 or 23 hours: 08:15, 09:00 and 09:45 as on any other day
        (not every 45 real minutes since midnight, which would be 08:00 or 08:30), and such a start
        can be booked. The office form accepts only grids that divide the hour; the engine must
        still be right for the others."""
        OpeningHours.objects.create(office=world.office_ft, weekday=6, opens=dt.time(8), closes=dt.time(10))
        world.office_ft.slot_minutes = 45
        world.office_ft.booking_horizon_days = 200
        world.office_ft.save()
        now = dt.datetime.combine(day - dt.timedelta(days=3), dt.time(7), tzinfo=BERLIN)
        slots = find_slots(request=world.request(day=day), now=now)
        assert times(slots) == ["08:15", "09:00", "09:45"]
        appointment = booking.book(
            office=world.office_ft,
            start=slots[1].start,
            services=[world.quick],
            vehicles=1,
            municipality=world.frankenthal_home,
            name="Frankenthalerin",
            email="f@example.org",
            privacy_consent=True,
            now=now,
        )
        assert appointment.start == berlin(day.year, day.month, day.day, 9, 0)


class TestLocalReserve:
    """Frankenthal keeps half its counter time for its own residents until 3 days before the day."""

    @pytest.fixture
    def reserve(self, world):
        CooperationRule.objects.create(office=world.office_ft, administration=world.rp)
        world.office_ft.local_reserve_percent = 50
        world.office_ft.reserve_release_days = 3
        world.office_ft.save()
        # 2 counters × 08:00–10:00 = 240 counter-minutes on 10.12.; the partner may fill 120.
        return world

    DAY = dt.date(2026, 12, 10)

    def partner_booking(self, world, start_hour, minute, counter):
        appointment = world.occupy(world.office_ft, counter, berlin(2026, 12, 10, start_hour, minute), 60)
        Appointment.objects.filter(pk=appointment.pk).update(
            home_administration=world.rp, municipality=world.lambsheim_home
        )

    def test_partner_residents_get_only_the_open_share_until_release(self, reserve):
        world = reserve
        c1, _c2 = world.office_ft.counters.order_by("name")
        self.partner_booking(world, 8, 0, c1)
        self.partner_booking(world, 9, 0, c1)  # 120 partner minutes: the open share is used up
        partner = world.request(municipality=world.lambsheim_home, day=self.DAY, offices=[world.office_ft])
        resident = world.request(municipality=world.frankenthal_home, day=self.DAY, offices=[world.office_ft])
        assert find_slots(request=partner, now=NOW) == []
        assert len(find_slots(request=resident, now=NOW)) == 8, "counter 2 is free for Frankenthal residents"
        with pytest.raises(PortalError) as error:
            booking.book(
                office=world.office_ft,
                start=berlin(2026, 12, 10, 8, 0),
                services=[world.quick],
                vehicles=1,
                municipality=world.lambsheim_home,
                name="Lambsheimer",
                email="l@example.org",
                privacy_consent=True,
                now=NOW,
            )
        assert error.value.code == ErrorCode.SLOT_TAKEN
        # Three days before the day the reserve opens to everyone.
        released = berlin(2026, 12, 7, 7, 0)
        assert len(find_slots(request=partner, now=released)) == 8

    def test_the_reserve_leaves_the_partner_its_share(self, reserve):
        world = reserve
        c1, _c2 = world.office_ft.counters.order_by("name")
        self.partner_booking(world, 8, 0, c1)  # 60 of 120 partner minutes used
        partner = world.request(municipality=world.lambsheim_home, day=self.DAY, offices=[world.office_ft])
        assert len(find_slots(request=partner, now=NOW)) == 8
        appointment = booking.book(
            office=world.office_ft,
            start=berlin(2026, 12, 10, 9, 0),
            services=[world.quick],
            vehicles=1,
            municipality=world.lambsheim_home,
            name="Lambsheimer",
            email="l@example.org",
            privacy_consent=True,
            now=NOW,
        )
        assert appointment.home_administration == world.rp


@pytest.mark.postgres
@pytest.mark.parametrize("online,with_home,ignore", [(True, False, False), (True, True, False), (False, False, True)])
def test_occupied_times_from_the_compiled_query_are_those_the_orm_reads(world, settings, online, with_home, ignore):
    """The occupancy query compiled once per shape finds exactly what the ORM's queryset finds:
    live bookings, a live hold, a time cancelled within the delay; not a run-out hold, an older
    cancellation or the appointment being moved."""
    from appointments.domain import availability as engine

    settings.CANCELLED_SLOT_DELAY_MINUTES = 15
    c1, c2 = world.office_ft.counters.order_by("name")
    day = berlin(2026, 12, 1, 8, 0)
    moved = world.occupy(world.office_ft, c1, day, 15)
    world.occupy(
        world.office_ft,
        c1,
        day + dt.timedelta(minutes=30),
        15,
        status=Status.HELD,
        hold_expires_at=NOW + dt.timedelta(minutes=5),
    )
    world.occupy(world.office_ft, c2, day, 15, status=Status.HELD, hold_expires_at=NOW - dt.timedelta(minutes=1))
    recent = world.occupy(world.office_ft, c2, day + dt.timedelta(minutes=30), 15, status=Status.CANCELLED)
    old = world.occupy(world.office_ft, c2, day + dt.timedelta(minutes=60), 15, status=Status.CANCELLED)
    Appointment.objects.filter(pk=recent.pk).update(cancelled_at=NOW - dt.timedelta(minutes=5))
    Appointment.objects.filter(pk=old.pk).update(cancelled_at=NOW - dt.timedelta(minutes=30))
    world.occupy(world.office_ft, c2, berlin(2026, 12, 3, 8, 0), 15)  # outside the range
    args = ([c1.id, c2.id], berlin(2026, 12, 1, 0, 0), berlin(2026, 12, 2, 0, 0), NOW)
    kwargs = {"ignore": moved.pk if ignore else None, "online": online, "with_home": with_home}
    columns = ["counter_id", "start", "end"] + (["home_administration_id"] if with_home else [])
    expected = sorted(
        engine._fetch(engine._occupying(*args, ignore=kwargs["ignore"], online=online).values_list(*columns))
    )
    engine._compiled.clear()
    first = sorted(engine._occupied_rows(*args, **kwargs))
    again = sorted(engine._occupied_rows(*args, **kwargs))
    assert first == again == expected
    assert len(expected) == (1 if ignore else 2) + (1 if online else 0)
    assert all(engine._compiled.values()), "the shape was compiled, not left to the ORM"
