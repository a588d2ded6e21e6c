"""The audit trail of an appointment: every service that changes its status, time, office or counter
writes a history row with the new values, whichever way it writes the change (a save, or a
conditional update that keeps two writers apart), and the clerk who acted is named in it. The history
holds no personal data, so erasing that data from the appointment erases it everywhere.

Personas: a Frankenthal citizen (Erika Mustermann) who books online, the Frankenthal clerk, and the
demo administrator (who may close the whole office). The clock is Tuesday, 1 December 2026, 07:30;
the bookings are on that day (for the clerks' actions) or on Wednesday at the Frankenthal office
(three counters).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections, transaction

from appointments.domain import booking, clerk
from appointments.domain.availability import SlotRequest, find_slots
from appointments.domain.retention import erase_personal_data
from appointments.models import PERSONAL_FIELDS, Appointment, Notification, Status
from offices.models import Closure
from tests.appointments.clerk_personas import walk_in
from tests.conftest import berlin
from tests.factories import World

NOW = berlin(2026, 12, 1, 7, 30)
WEDNESDAY = dt.date(2026, 12, 2)
CITIZEN = {"name": "Erika Mustermann", "email": "erika@example.org", "phone": "06233 98765"}
# What must never appear in a history row.
PERSONAL_VALUES = ("Mustermann", "erika@", "98765", "Vollmacht")
TRACKED = ("status", "start", "end", "office_id", "counter_id")


@pytest.fixture
def world(demo, clock):
    clock.now = NOW
    users = get_user_model().objects
    return SimpleNamespace(
        demo=demo,
        clock=clock,
        clerk=users.get(username="clerk-frankenthal"),
        admin=users.get(username="admin"),  # a superuser: may close the whole office
    )


@dataclass
class Change:
    """A service call that changes an appointment: `act()` makes it and returns the appointment."""

    act: Callable[[], Appointment]
    before: Appointment | None = None  # the appointment before the call; None: the call creates it
    by: object = None  # the clerk the history names as the author
    tracked_change: bool = True  # False: only personal data changes (the erasure)


# --- the citizen's bookings -----------------------------------------------------------------------


def hold(w, start=None, services=None):
    appointment, token = booking.place_hold(
        office=w.demo.frankenthal,
        start=start or berlin(2026, 12, 2, 10, 0),
        services=services or [w.demo.umschreibung],
        vehicles=1,
        municipality=w.demo.frankenthal_citizen_home,
        now=w.clock.now,
    )
    return appointment, token


def book_online(w, start=None):
    return booking.book(
        office=w.demo.frankenthal,
        start=start or berlin(2026, 12, 2, 10, 0),
        services=[w.demo.umschreibung],
        vehicles=1,
        municipality=w.demo.frankenthal_citizen_home,
        privacy_consent=True,
        now=w.clock.now,
        channel="online",
        **CITIZEN,
    )


def opt_in_token(appointment):
    return appointment.notifications.filter(kind=Notification.Kind.OPT_IN).latest("id").payload["token"]


def confirmed(w, start=None):
    appointment = book_online(w, start)
    token = opt_in_token(appointment)
    return booking.confirm_booking(appointment=appointment, token=token, now=w.clock.now), token


def first_free(w, office, day=WEDNESDAY):
    request = SlotRequest(
        services=(w.demo.umschreibung,),
        vehicles=1,
        municipality=w.demo.frankenthal_citizen_home,
        date_from=day,
        date_to=day,
        offices=(office,),
    )
    return find_slots(request=request, now=w.clock.now)[0].start


def placing_a_hold(w):
    return Change(act=lambda: hold(w)[0])


def submitting_a_hold(w):
    appointment, token = hold(w)
    return Change(
        before=appointment,
        act=lambda: booking.submit_booking(
            appointment=appointment, hold_token=token, privacy_consent=True, now=w.clock.now, **CITIZEN
        ),
    )


def booking_in_one_step(w):
    return Change(act=lambda: book_online(w))


def confirming(w):
    appointment = book_online(w)
    return Change(
        before=appointment,
        act=lambda: booking.confirm_booking(appointment=appointment, token=opt_in_token(appointment), now=w.clock.now),
    )


def cancelling(w):
    appointment, token = confirmed(w)
    return Change(before=appointment, act=lambda: booking.cancel_booking(appointment=appointment, token=token, now=NOW))


def moving_to_another_time(w):
    appointment, token = confirmed(w)
    return Change(
        before=appointment,
        act=lambda: booking.reschedule_booking(
            appointment=appointment, token=token, office=w.demo.frankenthal, start=berlin(2026, 12, 2, 11, 0), now=NOW
        ),
    )


def moving_to_the_partner_office(w):
    appointment, token = confirmed(w)
    office = w.demo.schifferstadt
    return Change(
        before=appointment,
        act=lambda: booking.reschedule_booking(
            appointment=appointment, token=token, office=office, start=first_free(w, office), now=NOW
        ),
    )


def giving_a_hold_back(w):
    appointment, token = hold(w)

    def act():
        assert booking.release_holds({appointment.reference: token}) == 1
        return appointment

    return Change(before=appointment, act=act)


def the_expiry_sweep(w):
    appointment = book_online(w)  # unconfirmed: it runs out after UNCONFIRMED_MINUTES

    def act():
        w.clock.now = NOW + dt.timedelta(minutes=settings.UNCONFIRMED_MINUTES + 1)
        assert booking.expire_stale(now=w.clock.now) == 1
        return appointment

    return Change(before=appointment, act=act)


def a_booking_over_a_hold_that_ran_out(w):
    """The only counter left at 10:00 is held by a citizen who went away: the hold is marked expired
    when staff book the time (on PostgreSQL after the exclusion constraint refused the insert)."""
    start = berlin(2026, 12, 2, 10, 0)
    appointment, _token = hold(w, start)
    for _ in range(2):
        walk_in(w.demo, start=start)

    def act():
        w.clock.now = NOW + dt.timedelta(minutes=settings.HOLD_MINUTES + 1)
        new = walk_in(w.demo, start=start, now=w.clock.now)
        assert new.counter_id == appointment.counter_id
        return appointment

    return Change(before=appointment, act=act)


# --- the clerks -----------------------------------------------------------------------------------


def today_at_nine(w, **kwargs):
    return walk_in(w.demo, start=berlin(2026, 12, 1, 9, 0), **kwargs)


def checking_in(w):
    appointment = today_at_nine(w)
    return Change(
        before=appointment, by=w.clerk, act=lambda: clerk.check_in(appointment=appointment, user=w.clerk, now=NOW)
    )


def completing(w):
    appointment = clerk.check_in(appointment=today_at_nine(w), user=w.clerk, now=NOW)
    return Change(
        before=appointment, by=w.clerk, act=lambda: clerk.complete(appointment=appointment, user=w.clerk, now=NOW)
    )


def recording_an_outcome(w):
    appointment = clerk.check_in(appointment=today_at_nine(w), user=w.clerk, now=NOW)
    return Change(
        before=appointment,
        by=w.clerk,
        act=lambda: clerk.complete(appointment=appointment, user=w.clerk, now=NOW, outcome="documents_incomplete"),
    )


def cancelling_for_the_citizen(w):
    appointment, _token = confirmed(w)
    return Change(
        before=appointment,
        by=w.clerk,
        act=lambda: clerk.cancel_for_citizen(appointment=appointment, user=w.clerk, reason="requested", now=NOW),
    )


def moving_for_the_citizen(w):
    appointment, _token = confirmed(w)
    office = w.demo.schifferstadt
    return Change(
        before=appointment,
        by=w.clerk,
        act=lambda: clerk.move_for_citizen(
            appointment=appointment, user=w.clerk, office=office, start=first_free(w, office), now=NOW
        ),
    )


def recording_a_no_show(w):
    appointment = today_at_nine(w)

    def act():
        w.clock.now = clerk.no_show_from(appointment) + dt.timedelta(minutes=1)
        return clerk.mark_no_show(appointment=appointment, user=w.clerk, now=w.clock.now)

    return Change(before=appointment, by=w.clerk, act=act)


def undoing_a_check_in(w):
    appointment = clerk.check_in(appointment=today_at_nine(w), user=w.clerk, now=NOW)
    return Change(
        before=appointment, by=w.clerk, act=lambda: clerk.undo_last(appointment=appointment, user=w.clerk, now=NOW)
    )


def staff_booking(channel):
    def scenario(w):
        return Change(
            act=lambda: clerk.book_walk_in(
                user=w.clerk,
                office=w.demo.frankenthal,
                start=berlin(2026, 12, 1, 9, 0),
                services=[w.demo.umschreibung],
                vehicles=1,
                municipality=w.demo.frankenthal_citizen_home,
                channel=channel,
                now=NOW,
                **CITIZEN,
            )[0]
        )

    scenario.__name__ = f"booking_{channel}"
    return scenario


def block(w, *, counter, user, start_time=dt.time(8, 30), end_time=dt.time(10, 30)):
    _closure, outcomes = clerk.block(
        user=user,
        office=w.demo.frankenthal,
        counter=counter,
        day=WEDNESDAY,
        start_time=start_time,
        end_time=end_time,
        reason="Schulung",
        now=NOW,
    )
    return outcomes


def blocking_a_counter(w):
    """Another counter is free at the time: the booking moves there."""
    appointment = walk_in(w.demo, start=berlin(2026, 12, 2, 9, 0))

    def act():
        [outcome] = block(w, counter=appointment.counter, user=w.clerk)
        assert outcome.result == "moved"
        return appointment

    return Change(before=appointment, by=w.clerk, act=act)


def relocating_for_a_closure_from_the_admin(w):
    """An administrator entered the closure; the relocation runs from the staff area."""
    appointment = walk_in(w.demo, start=berlin(2026, 12, 2, 9, 0))
    closure = Closure.objects.create(
        office=w.demo.frankenthal,
        counter=appointment.counter,
        start_date=WEDNESDAY,
        end_date=WEDNESDAY,
        reason="Technik",
    )
    return Change(
        before=appointment,
        by=w.admin,
        act=lambda: clerk.relocate(user=w.admin, closure=closure, now=NOW)[0].appointment,
    )


def closing_the_office(w):
    """Nobody can move when the whole office closes: a citizen still typing loses the hold."""
    appointment, _token = hold(w)

    def act():
        [outcome] = block(w, counter=None, user=w.admin, start_time=None, end_time=None)
        assert outcome.result == "released"
        return appointment

    return Change(before=appointment, by=w.admin, act=act)


def accepting_an_offered_time(w):
    """Every counter is taken at 10:00, the citizen's counter is blocked: they get other times by
    e-mail and take the first one with the new link."""
    appointment, _token = confirmed(w)
    for _ in range(2):
        walk_in(w.demo, start=appointment.start)
    [outcome] = block(w, counter=appointment.counter, user=w.clerk)
    assert outcome.result == "offered"
    payload = appointment.notifications.get(kind=Notification.Kind.RELOCATION_OFFER).payload
    slot = payload["slots"][0]
    office = {o.slug: o for o in (w.demo.frankenthal, w.demo.schifferstadt)}[slot["office"]]
    return Change(
        before=appointment,
        act=lambda: booking.reschedule_booking(
            appointment=appointment,
            token=payload["token"],
            office=office,
            start=dt.datetime.fromisoformat(slot["start"]),
            now=NOW,
        ),
    )


def erasing_personal_data(w):
    appointment = today_at_nine(w, email=CITIZEN["email"], phone=CITIZEN["phone"])
    clerk.set_note(appointment=appointment, user=w.clerk, note="Bringt Vollmacht von Max Mustermann mit", now=NOW)

    def act():
        w.clock.now = appointment.end + dt.timedelta(days=settings.RETENTION_DAYS + 1)
        assert erase_personal_data(now=w.clock.now) == 1
        return appointment

    return Change(before=appointment, act=act, tracked_change=False)


SCENARIOS = [
    placing_a_hold,
    submitting_a_hold,
    booking_in_one_step,
    confirming,
    cancelling,
    moving_to_another_time,
    moving_to_the_partner_office,
    giving_a_hold_back,
    the_expiry_sweep,
    a_booking_over_a_hold_that_ran_out,
    checking_in,
    completing,
    recording_an_outcome,
    cancelling_for_the_citizen,
    moving_for_the_citizen,
    recording_a_no_show,
    undoing_a_check_in,
    staff_booking("counter"),
    staff_booking("phone"),
    blocking_a_counter,
    relocating_for_a_closure_from_the_admin,
    closing_the_office,
    accepting_an_offered_time,
    erasing_personal_data,
]


def tracked(row) -> dict:
    return {name: getattr(row, name) for name in TRACKED}


def history(appointment_id):
    return Appointment.history.filter(id=appointment_id).order_by("history_id")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.__name__)
def test_every_change_of_an_appointment_is_in_its_history(world, scenario):
    change = scenario(world)
    before = tracked(Appointment.objects.get(pk=change.before.pk)) if change.before else None
    rows_before = history(change.before.pk).count() if change.before else 0

    appointment = Appointment.objects.get(pk=change.act().pk)

    after = tracked(appointment)
    rows = list(history(appointment.pk))
    if change.tracked_change:
        assert after != before, "the service changed the appointment's status, time, office or counter"
        assert len(rows) > rows_before, "the change wrote a history row"
    assert tracked(rows[-1]) == after, "the latest history row holds the new values"
    if change.by is not None:
        assert rows[-1].history_user == change.by
    for row in Appointment.history.filter(id=appointment.pk).values():
        assert not any(value in repr(row) for value in PERSONAL_VALUES), row


def test_the_history_has_no_place_for_personal_data():
    history_fields = {f.name for f in Appointment.history.model._meta.get_fields()}
    assert not history_fields & set(PERSONAL_FIELDS)


def test_the_erasure_empties_the_appointment_and_keeps_its_history(world):
    change = erasing_personal_data(world)
    rows_before = history(change.before.pk).count()

    appointment = Appointment.objects.get(pk=change.act().pk)

    assert (appointment.name, appointment.email, appointment.phone, appointment.note) == ("", "", "", "")
    assert history(appointment.pk).count() == rows_before


def test_the_sweep_writes_one_history_row_for_each_booking_it_expires(world):
    """Two unconfirmed bookings run out: each gets one row; a second sweep finds nothing to do."""
    runs_out = [book_online(world, berlin(2026, 12, 2, hour, 0)) for hour in (9, 10)]
    world.clock.now = NOW + dt.timedelta(minutes=settings.UNCONFIRMED_MINUTES + 1)

    assert booking.expire_stale(now=world.clock.now) == 2
    assert booking.expire_stale(now=world.clock.now) == 0

    for appointment in runs_out:
        statuses = [row.status for row in history(appointment.pk)]
        assert statuses == [Status.UNCONFIRMED, Status.EXPIRED]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_sweep_passes_over_a_booking_that_another_transaction_holds(clock):
    """A citizen confirms (the booking's row is locked) while the sweep runs: the sweep neither waits
    for the row nor expires it under the confirmation; it expires the others, and that one later."""
    world = World()
    clock.now = berlin(2026, 11, 30, 7, 0)
    busy, idle = (
        booking.book(
            office=world.office_ft,
            start=berlin(2026, 12, 1, hour, 0),
            services=[world.quick],
            vehicles=1,
            municipality=world.frankenthal_home,
            privacy_consent=True,
            now=clock.now,
            **CITIZEN,
        )
        for hour in (8, 9)
    )
    clock.now += dt.timedelta(minutes=settings.UNCONFIRMED_MINUTES + 1)
    locked, done = threading.Event(), threading.Event()

    def confirmation_in_progress():
        try:
            with transaction.atomic():
                Appointment.objects.select_for_update().get(pk=busy.pk)
                locked.set()
                done.wait(30)
        finally:
            connections.close_all()

    other = threading.Thread(target=confirmation_in_progress)
    other.start()
    assert locked.wait(30)
    try:
        assert booking.expire_stale(now=clock.now) == 1
    finally:
        done.set()
        other.join(30)

    assert [row.status for row in history(idle.pk)] == [Status.UNCONFIRMED, Status.EXPIRED]
    assert [row.status for row in history(busy.pk)] == [Status.UNCONFIRMED]
    assert booking.expire_stale(now=clock.now) == 1
    assert [row.status for row in history(busy.pk)] == [Status.UNCONFIRMED, Status.EXPIRED]
