"""The booking service: holds, double opt-in, confirm, cancel, reschedule, and no double booking."""

import datetime as dt
import importlib
import re
import threading
import time

import pytest
from django.db import IntegrityError, connection, connections, transaction

from appointments.domain import availability, booking
from appointments.errors import ErrorCode, PortalError
from appointments.models import Appointment, Notification, Status
from offices.models import CooperationRule
from tests.conftest import berlin
from tests.factories import World

NOW = berlin(2026, 11, 30, 7, 0)
START = berlin(2026, 12, 1, 8, 0)
CONTACT = {"name": "Erika Mustermann", "email": "erika@example.org", "phone": "06233 12345", "privacy_consent": True}


@pytest.fixture
def world(db):
    return World()


def book(world, start=START, services=None, vehicles=1, municipality=None, office=None, now=NOW, **contact):
    return booking.book(
        office=office or world.office_ft,
        start=start,
        services=services or [world.quick],
        vehicles=vehicles,
        municipality=municipality or world.frankenthal_home,
        now=now,
        **{**CONTACT, **contact},
    )


def opt_in_token(appointment):
    return (
        Notification.objects.filter(appointment=appointment, kind=Notification.Kind.OPT_IN)
        .latest("id")
        .payload["token"]
    )


def overlaps_in_database():
    """Pairs of live appointments that overlap on one counter: must always be zero."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM appointments_appointment a JOIN appointments_appointment b
              ON a.counter_id = b.counter_id AND a.id < b.id AND a.start < b."end" AND b.start < a."end"
             WHERE a.status IN ('held','unconfirmed','confirmed','checked_in','completed','no_show')
               AND b.status IN ('held','unconfirmed','confirmed','checked_in','completed','no_show')
            """
        )
        return cursor.fetchone()[0]


class TestHoldSubmitConfirm:
    def test_hold_then_submit_then_confirm(self, world):
        """A hold keeps the slot for the citizen; submitting sends the opt-in; the link confirms."""
        hold, hold_token = booking.place_hold(
            office=world.office_ft,
            start=START,
            services=[world.quick],
            vehicles=1,
            municipality=world.frankenthal_home,
            now=NOW,
        )
        assert hold.status == Status.HELD
        assert hold.hold_expires_at == NOW + dt.timedelta(minutes=10)
        assert re.fullmatch(r"[A-Z2-9]{3}-[A-Z2-9]{4}", hold.reference)  # no office prefix: it may move
        assert hold.token_hash != hold_token and len(hold_token) >= 32
        submitted = booking.submit_booking(
            appointment=hold, hold_token=hold_token, now=NOW + dt.timedelta(minutes=3), **CONTACT
        )
        assert submitted.status == Status.UNCONFIRMED
        assert submitted.hold_expires_at == NOW + dt.timedelta(minutes=63)
        token = opt_in_token(submitted)
        assert token != hold_token, "the confirm secret travels only by e-mail"
        with pytest.raises(PortalError) as error:
            booking.confirm_booking(appointment=submitted, token=hold_token, now=NOW)
        assert error.value.code == ErrorCode.BAD_TOKEN
        confirmed = booking.confirm_booking(appointment=submitted, token=token, now=NOW + dt.timedelta(minutes=5))
        assert confirmed.status == Status.CONFIRMED and confirmed.hold_expires_at is None
        assert Notification.objects.filter(appointment=confirmed, kind=Notification.Kind.CONFIRMATION).count() == 1
        again = booking.confirm_booking(appointment=submitted, token=token, now=NOW + dt.timedelta(minutes=6))
        assert again.status == Status.CONFIRMED
        assert Notification.objects.filter(appointment=confirmed, kind=Notification.Kind.CONFIRMATION).count() == 1

    def test_double_submit_creates_no_second_booking_or_mail(self, world):
        hold, hold_token = booking.place_hold(
            office=world.office_ft,
            start=START,
            services=[world.quick],
            vehicles=1,
            municipality=world.frankenthal_home,
            now=NOW,
        )
        booking.submit_booking(appointment=hold, hold_token=hold_token, now=NOW, **CONTACT)
        with pytest.raises(PortalError) as error:
            booking.submit_booking(appointment=hold, hold_token=hold_token, now=NOW, **CONTACT)
        assert error.value.code == ErrorCode.ALREADY_SUBMITTED
        assert Appointment.objects.count() == 1
        assert Notification.objects.filter(kind=Notification.Kind.OPT_IN).count() == 1

    def test_expired_hold_cannot_be_submitted_and_frees_the_slot(self, world):
        hold, hold_token = booking.place_hold(
            office=world.office_ft,
            start=START,
            services=[world.quick],
            vehicles=1,
            municipality=world.frankenthal_home,
            now=NOW,
        )
        later = NOW + dt.timedelta(minutes=11)
        with pytest.raises(PortalError) as error:
            booking.submit_booking(appointment=hold, hold_token=hold_token, now=later, **CONTACT)
        assert error.value.code == ErrorCode.EXPIRED
        request = world.request()
        assert START in [s.start for s in availability.find_slots(request=request, now=later)]
        assert booking.expire_stale(now=later) == 1
        assert Appointment.objects.get(pk=hold.pk).status == Status.EXPIRED

    def test_unconfirmed_booking_expires(self, world):
        appointment = book(world)
        token = opt_in_token(appointment)
        with pytest.raises(PortalError) as error:
            booking.confirm_booking(appointment=appointment, token=token, now=NOW + dt.timedelta(minutes=61))
        assert error.value.code == ErrorCode.EXPIRED

    def test_invalid_contact_changes_nothing(self, world):
        """Every contact problem is reported with its field, and nothing is written."""
        with pytest.raises(PortalError) as error:
            book(world, name="", email="not-an-address", phone="call me", privacy_consent=False)
        assert error.value.code == ErrorCode.INVALID
        assert set(error.value.extra["errors"]) == {"name", "email", "phone", "privacy_consent"}
        with pytest.raises(PortalError):
            book(world, name="x" * 10_000)
        assert Appointment.objects.count() == 0 and Notification.objects.count() == 0


class TestWhichCounter:
    def test_best_fit_keeps_long_gaps_whole(self, world):
        """With counter 1 free 08:00–08:15 only and counter 2 free all morning, a 10-minute
        appointment at 08:00 goes to counter 1, leaving counter 2's long gap for long concerns."""
        c1, c2 = world.office_ft.counters.order_by("name")
        world.occupy(world.office_ft, c1, berlin(2026, 12, 1, 8, 15), 105)
        appointment = book(world)
        assert appointment.counter == c1
        long = book(world, services=[world.long], vehicles=3)  # 60 minutes: only counter 2 fits
        assert long.counter == c2

    def test_stale_hold_on_the_counter_is_cleared_by_the_next_booking(self, world):
        c1, c2 = world.office_ft.counters.order_by("name")
        stale = world.occupy(
            world.office_ft, c1, START, 15, status=Status.HELD, hold_expires_at=NOW - dt.timedelta(minutes=1)
        )
        world.occupy(world.office_ft, c2, START, 15)
        appointment = book(world)
        assert appointment.counter == c1
        assert Appointment.objects.get(pk=stale.pk).status == Status.EXPIRED

    def test_slot_taken_offers_the_nearest_alternatives(self, world):
        CooperationRule.objects.create(office=world.office_rp, administration=world.ft)
        for counter in world.office_ft.counters.all():
            world.occupy(world.office_ft, counter, START, 15)
        with pytest.raises(PortalError) as error:
            book(world)
        assert error.value.code == ErrorCode.SLOT_TAKEN
        alternatives = error.value.extra["alternatives"]
        assert alternatives and all(a.start != START or a.office == world.office_rp for a in alternatives)
        assert (world.office_rp, START) in [(a.office, a.start) for a in alternatives]

    def test_alternatives_come_from_further_days_when_the_next_ones_are_full(self, world):
        """Tuesday to Thursday full at Frankenthal: the nearest free times are Friday's and Monday
        the 30th's (before Tuesday), exactly what a search of the whole window ranks first."""
        counters = list(world.office_ft.counters.all())
        for day in (1, 2, 3):
            for counter in counters:
                world.occupy(world.office_ft, counter, berlin(2026, 12, day, 8, 0), 120)
        around = berlin(2026, 12, 2, 8, 0)
        alternatives = availability.nearest_slots(
            office=world.office_ft,
            services=[world.quick],
            vehicles=1,
            municipality=world.frankenthal_home,
            around=around,
            now=berlin(2026, 11, 29, 7, 0),
            count=5,
        )
        whole = availability.find_slots(
            request=world.request(day=dt.date(2026, 11, 29), until=dt.date(2026, 12, 9)), now=berlin(2026, 11, 29, 7, 0)
        )
        expected = sorted(whole, key=lambda s: abs(s.start - around))[:5]
        assert [(a.office, a.start) for a in alternatives] == sorted((s.office, s.start) for s in expected)
        assert {a.start.date() for a in alternatives} <= {dt.date(2026, 11, 30), dt.date(2026, 12, 4)}

    @pytest.mark.parametrize(
        "start,code",
        [
            (berlin(2026, 11, 30, 7, 30), ErrorCode.INVALID_TIME),  # within the lead time
            (berlin(2026, 12, 1, 8, 5), ErrorCode.INVALID_TIME),  # off the 15-minute grid
            (berlin(2026, 12, 1, 12, 0), ErrorCode.INVALID_TIME),  # after closing
            (berlin(2026, 12, 1, 9, 55), ErrorCode.INVALID_TIME),  # would run past closing
            (berlin(2026, 12, 5, 8, 0), ErrorCode.INVALID_TIME),  # Saturday
            (berlin(2027, 3, 1, 8, 0), ErrorCode.INVALID_TIME),  # beyond the horizon
        ],
    )
    def test_unbookable_times_are_refused(self, world, start, code):
        with pytest.raises(PortalError) as error:
            book(world, start=start)
        assert error.value.code == code
        assert Appointment.objects.count() == 0

    def test_partner_office_without_rule_is_refused(self, world):
        with pytest.raises(PortalError) as error:
            book(world, office=world.office_rp)
        assert error.value.code == ErrorCode.NOT_ALLOWED


class TestCancelAndReschedule:
    def confirmed(self, world, **kwargs):
        appointment = book(world, **kwargs)
        token = opt_in_token(appointment)
        return booking.confirm_booking(appointment=appointment, token=token, now=NOW), token

    def test_cancel_frees_the_slot(self, world):
        appointment, token = self.confirmed(world)
        cancelled = booking.cancel_booking(appointment=appointment, token=token, now=NOW)
        assert cancelled.status == Status.CANCELLED
        assert Notification.objects.filter(appointment=appointment, kind=Notification.Kind.CANCELLATION).exists()
        for _ in range(2):
            book(world)  # both counters bookable again at 08:00

    def test_reschedule_moves_in_place(self, world):
        appointment, token = self.confirmed(world)
        new_start = berlin(2026, 12, 2, 9, 0)
        moved = booking.reschedule_booking(
            appointment=appointment, token=token, office=world.office_ft, start=new_start, now=NOW
        )
        assert moved.pk == appointment.pk and moved.reference == appointment.reference
        assert moved.start == new_start and moved.status == Status.CONFIRMED
        assert Notification.objects.filter(appointment=appointment, kind=Notification.Kind.RESCHEDULE).exists()

    def test_reschedule_to_an_overlapping_time_on_the_same_counter(self, world):
        """Moving by 15 minutes works even when only the booking's own counter is free."""
        c1, c2 = world.office_ft.counters.order_by("name")
        world.occupy(world.office_ft, c2, START, 120)
        appointment, token = self.confirmed(world, services=[world.long])
        moved = booking.reschedule_booking(
            appointment=appointment,
            token=token,
            office=world.office_ft,
            start=START + dt.timedelta(minutes=15),
            now=NOW,
        )
        assert moved.counter == c1 and moved.start == START + dt.timedelta(minutes=15)

    def test_reschedule_to_a_taken_time_keeps_the_old_one(self, world):
        appointment, token = self.confirmed(world)
        target = berlin(2026, 12, 2, 9, 0)
        for counter in world.office_ft.counters.all():
            world.occupy(world.office_ft, counter, target, 15)
        with pytest.raises(PortalError) as error:
            booking.reschedule_booking(
                appointment=appointment, token=token, office=world.office_ft, start=target, now=NOW
            )
        assert error.value.code == ErrorCode.SLOT_TAKEN
        assert Appointment.objects.get(pk=appointment.pk).start == START

    def test_wrong_token_changes_nothing(self, world):
        appointment, token = self.confirmed(world)
        with pytest.raises(PortalError) as error:
            booking.cancel_booking(appointment=appointment, token=token + "x", now=NOW)
        assert error.value.code == ErrorCode.BAD_TOKEN
        assert Appointment.objects.get(pk=appointment.pk).status == Status.CONFIRMED


@pytest.mark.postgres
def test_exclusion_constraint_rejects_an_overlapping_insert(world):
    """Whatever the code does, PostgreSQL refuses a second live appointment on a busy counter."""
    counter = world.office_ft.counters.first()
    world.occupy(world.office_ft, counter, START, 30)
    with pytest.raises(IntegrityError), transaction.atomic():
        world.occupy(world.office_ft, counter, START + dt.timedelta(minutes=29), 10)
    world.occupy(world.office_ft, counter, START + dt.timedelta(minutes=30), 10)  # touching is fine
    world.occupy(world.office_ft, counter, START, 30, status=Status.CANCELLED)  # cancelled don't count


def race(world, attempts=40):
    """`attempts` threads, each with its own connection, book the same office and start at once."""
    barrier = threading.Barrier(attempts)
    outcomes, errors = [], []

    def attempt(number):
        try:
            barrier.wait()
            book(world, email=f"racer{number}@example.org")
            outcomes.append("booked")
        except PortalError as error:
            outcomes.append(error.code)
        except Exception as error:  # noqa: BLE001 - any escaped exception fails the test below
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes, errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_race_of_40_bookings_for_two_free_counters():
    """40 simultaneous bookings for one start with k=2 free counters: exactly 2 succeed, 38 get
    slot_taken, no exception escapes, and no two live appointments overlap."""
    world = World()
    assert len(world.office_ft.counters.all()) == 2
    outcomes, errors = race(world)
    assert errors == []
    assert outcomes.count("booked") == 2
    assert outcomes.count("slot_taken") == 38
    assert overlaps_in_database() == 0
    assert Appointment.objects.filter(start=START, status=Status.UNCONFIRMED).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_control_without_the_constraint_the_race_double_books(monkeypatch):
    """Control: without the exclusion constraint and the office lock, the same race produces
    overlaps, so the race test above would catch a booking path that relied on its own check."""
    world = World()
    original = availability.free_counters

    def slow_free_counters(**kwargs):
        choices = original(**kwargs)
        time.sleep(0.05)  # widen the window between check and insert, as a busy server would
        return choices

    monkeypatch.setattr(booking, "free_counters", slow_free_counters)
    monkeypatch.setattr(booking, "lock_office", lambda office: None)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE appointments_appointment DROP CONSTRAINT appointment_no_overlap_per_counter")
    try:
        outcomes, errors = race(world, attempts=10)
        assert errors == []
        assert outcomes.count("booked") > 2
        assert overlaps_in_database() > 0
    finally:
        Appointment.objects.all().delete()
        migration = importlib.import_module("appointments.migrations.0002_no_overlap_on_postgresql")
        with connection.cursor() as cursor:
            cursor.execute(migration.ADD_CONSTRAINT)


class TestStaffBookings:
    def test_walk_in_is_confirmed_at_once_without_e_mail(self, world):
        """A clerk books a walk-in for the next grid time: no lead time, no opt-in, no e-mail."""
        now = berlin(2026, 12, 1, 8, 10)
        appointment, token = booking.book_in_office(
            office=world.office_ft,
            start=berlin(2026, 12, 1, 8, 15),
            services=[world.quick],
            vehicles=1,
            municipality=world.frankenthal_home,
            name="Max Mustermann",
            channel="counter",
            now=now,
        )
        assert appointment.status == Status.CONFIRMED and appointment.channel == "counter"
        assert token is None and not Notification.objects.exists()

    def test_phone_booking_with_e_mail_gets_a_confirmation_and_reminder(self, world):
        appointment, token = booking.book_in_office(
            office=world.office_ft,
            start=START,
            services=[world.quick],
            vehicles=1,
            municipality=world.frankenthal_home,
            name="Max Mustermann",
            email="max@example.org",
            channel="phone",
            now=NOW,
        )
        kinds = set(Notification.objects.filter(appointment=appointment).values_list("kind", flat=True))
        assert kinds == {Notification.Kind.CONFIRMATION, Notification.Kind.REMINDER}
        assert appointment.token_matches(token)

    def test_walk_in_cannot_take_booked_time(self, world):
        for counter in world.office_ft.counters.all():
            world.occupy(world.office_ft, counter, START, 15)
        with pytest.raises(PortalError) as error:
            booking.book_in_office(
                office=world.office_ft,
                start=START,
                services=[world.quick],
                vehicles=1,
                municipality=world.frankenthal_home,
                name="Max",
                channel="counter",
                now=NOW,
            )
        assert error.value.code == ErrorCode.SLOT_TAKEN

    def test_internal_contingent_is_not_offered_online_but_staff_can_book_it(self, world):
        """A counter kept for walk-ins is invisible to the calendar and the online booking."""
        c1, c2 = world.office_ft.counters.order_by("name")
        c2.bookable_online = False
        c2.save()
        world.occupy(world.office_ft, c1, START, 15)
        assert START not in [s.start for s in availability.find_slots(request=world.request(), now=NOW)]
        with pytest.raises(PortalError) as error:
            book(world)
        assert error.value.code == ErrorCode.SLOT_TAKEN
        appointment, _ = booking.book_in_office(
            office=world.office_ft,
            start=START,
            services=[world.quick],
            vehicles=1,
            municipality=world.frankenthal_home,
            name="Max",
            channel="phone",
            now=NOW,
        )
        assert appointment.counter == c2
