"""The demo's bookings (`manage.py seed_demo`): a realistic picture around today, for the clerk's day,
the reports and the cost settlement, reproducible, and never in the way of a real booking.

The clock stands at Tuesday, 1 December 2026, 07:30 in Berlin (the workspace's start)."""

import datetime as dt
import io
import itertools
from collections import Counter

import pytest
from django.core.management import call_command

from appointments.demo import FUTURE_DAYS, PREFIX, seed_demo_bookings
from appointments.domain.reports import Period, settlement
from appointments.models import LIVE_STATUSES, Appointment, AppointmentEvent, Channel, Status, VisitOutcome
from ikz_portal.clock import local_date
from offices.hours import day_bounds, load_office_schedules
from offices.models import Office

pytestmark = pytest.mark.clock_start(dt.datetime(2026, 12, 1, 6, 30, tzinfo=dt.UTC))


@pytest.fixture
def seeded(desk):
    seed_demo_bookings(now=desk.clock.now)
    return desk


def demo_bookings():
    return Appointment.objects.filter(reference__startswith=PREFIX)


def test_the_past_eight_weeks_hold_every_kind_of_visit(seeded):
    now = seeded.clock.now
    past = demo_bookings().filter(start__lt=now, start__gte=now - dt.timedelta(weeks=8))
    statuses = Counter(past.values_list("status", flat=True))
    channels = Counter(past.values_list("channel", flat=True))

    assert statuses[Status.COMPLETED] > statuses[Status.NO_SHOW] > 0
    assert statuses[Status.CANCELLED] > 0
    outcomes = Counter(past.filter(status=Status.COMPLETED).values_list("outcome", flat=True))
    assert outcomes[VisitOutcome.COMPLETED] > outcomes[VisitOutcome.DOCUMENTS_INCOMPLETE] > 0
    assert outcomes[VisitOutcome.REFERRED] > 0 and outcomes[VisitOutcome.ABORTED] > 0
    assert channels[Channel.COUNTER] > 0 and channels[Channel.PHONE] > 0 and channels[Channel.ONLINE] > 0
    # Both administrations' residents at both offices: the settlement has cross-border cases.
    for office in Office.objects.all():
        homes = set(past.filter(office=office).values_list("home_administration__slug", flat=True))
        assert homes == {"rhein-pfalz-kreis", "frankenthal"}
    rows, _totals = settlement(period=Period(first=dt.date(2026, 10, 1), last=dt.date(2026, 11, 1)))
    assert any(row.is_partner for row in rows)
    # A completed visit was checked in and finished by a clerk of its office.
    visit = past.filter(status=Status.COMPLETED).first()
    steps = list(AppointmentEvent.objects.filter(appointment=visit).values_list("to_status", "user__username"))
    assert [status for status, _user in steps] == [Status.CHECKED_IN, Status.COMPLETED]
    assert all(user and user.startswith("clerk-") for _status, user in steps)


def test_the_coming_two_weeks_are_half_to_four_fifths_booked(seeded):
    now = seeded.clock.now
    today = local_date(now)
    offices = list(Office.objects.all())
    schedules = load_office_schedules(offices, today, today + dt.timedelta(days=FUTURE_DAYS))
    shares = []
    for office in offices:
        schedule = schedules[office.pk]
        for ahead in range(1, FUTURE_DAYS + 1):
            day = today + dt.timedelta(days=ahead)
            working = sum(
                (end - start).total_seconds()
                for counter in schedule.counters
                for start, end in schedule.working_intervals(counter.id, day)
            )
            if not working:
                continue
            first, after = day_bounds(day)
            booked = sum(
                (end - start).total_seconds()
                for start, end in Appointment.objects.filter(
                    office=office, start__gte=first, start__lt=after, status__in=LIVE_STATUSES
                ).values_list("start", "end")
            )
            shares.append(booked / working)
    assert len(shares) >= 2 * 8  # two offices, at least eight working days each
    assert 0.5 <= sum(shares) / len(shares) <= 0.8
    assert all(0.35 <= share <= 0.9 for share in shares), shares
    upcoming = demo_bookings().filter(start__gte=now)
    assert upcoming.filter(status=Status.UNCONFIRMED).exists()
    assert upcoming.values("items__service").distinct().count() >= 5
    assert set(upcoming.values_list("vehicles", flat=True)) >= {1, 2}
    # Never two on one counter at once.
    rows = list(
        Appointment.objects.filter(status__in=LIVE_STATUSES)
        .order_by("counter", "start")
        .values_list("counter", "start", "end")
    )
    assert not [(a, b) for a, b in itertools.pairwise(rows) if a[0] == b[0] and b[1] < a[2]]
    # The clerk's day shows them.
    assert PREFIX in seeded.frankenthal_clerk.get("/mitarbeiter/frankenthal/2026-12-02/").content.decode()


def test_the_same_day_gives_the_same_demo(desk):
    def picture():
        seed_demo_bookings(now=desk.clock.now)
        return list(demo_bookings().order_by("reference").values_list("reference", "start", "counter", "status"))

    assert picture() == picture()


def test_a_rerun_keeps_real_bookings_and_keeps_out_of_their_way(seeded):
    real = demo_bookings().filter(status=Status.CONFIRMED, start__gte=seeded.clock.now).first()
    Appointment.objects.filter(pk=real.pk).update(reference="RP-REAL01")  # now a booking of a citizen

    call_command("seed_demo", force=True, stdout=io.StringIO())

    kept = Appointment.objects.get(reference="RP-REAL01")
    assert (kept.start, kept.counter_id, kept.status) == (real.start, real.counter_id, Status.CONFIRMED)
    assert (
        not demo_bookings()
        .filter(counter=kept.counter, start__lt=kept.end, end__gt=kept.start, status__in=LIVE_STATUSES)
        .exists()
    )


def test_the_demo_offices_have_example_contact_data(demo):
    for office in Office.objects.all():
        assert office.phone.endswith("(Beispiel)")
        assert office.email.endswith(".example")


def test_the_demo_reports_show_charts_and_a_settlement_for_both_administrations(seeded):
    page = seeded.admin.get("/mitarbeiter/berichte/").content.decode()

    assert page.count('<svg class="chart"') >= 2  # per office
    assert "No completed appointments in this period." not in page
    settlement = page[page.index('id="settlement"') :]
    assert "Rhein-Pfalz-Kreis" in settlement and "Frankenthal" in settlement
    csv = seeded.admin.get("/mitarbeiter/berichte/abrechnung.csv").content.decode()
    assert len(csv.splitlines()) > 10  # a header and rows, not a header alone
