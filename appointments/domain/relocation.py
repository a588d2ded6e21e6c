"""After a counter (or a whole office) is closed: move the bookings it hits to another counter at the
same time, and offer the citizens whose booking cannot move other times by e-mail.

Each booking is handled in its own transaction under the office's booking lock, so a booking made
at the same moment either sees the closure or is found here. The function can run again for the
same closure: what moved is no longer hit, and a citizen who already has an offer gets no second one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from appointments.domain import booking
from appointments.domain.availability import AvailabilityError, Slot, free_counters, nearest_slots
from appointments.models import Appointment, AppointmentEvent, Notification, Status, hash_token
from appointments.outbox import notifications
from offices.hours import local
from offices.models import Closure

# The bookings a closure moves: not yet begun, and still (or about to be) the citizen's.
MOVABLE = (Status.CONFIRMED, Status.UNCONFIRMED, Status.HELD)


class Result:
    MOVED = "moved"  # same time, another counter of the office
    OFFERED = "offered"  # stays where it is; the citizen got an e-mail with other times
    OPEN = "open"  # stays where it is; no e-mail possible (or sent before): staff call the citizen
    RELEASED = "released"  # a hold of a citizen still typing: given up, they choose again


@dataclass
class Outcome:
    appointment: Appointment
    result: str
    from_counter: str
    to_counter: str = ""
    slots: list[Slot] = field(default_factory=list)


def closed_intervals(closure: Closure) -> list[tuple[dt.datetime, dt.datetime]]:
    """The closure's intervals, one per day, as UTC datetimes."""
    intervals = []
    day = closure.start_date
    while day <= closure.end_date:
        if closure.is_whole_day:
            intervals.append((local(day, dt.time(0)), local(day + dt.timedelta(days=1), dt.time(0))))
        else:
            assert closure.start_time is not None and closure.end_time is not None  # both, or neither
            intervals.append((local(day, closure.start_time), local(day, closure.end_time)))
        day += dt.timedelta(days=1)
    return intervals


def hits(appointment: Appointment, intervals) -> bool:
    return any(appointment.start < end and start < appointment.end for start, end in intervals)


def affected(closure: Closure, now: dt.datetime) -> list[int]:
    """Ids of the live bookings that the closure hits, in time order."""
    intervals = closed_intervals(closure)
    qs = (
        Appointment.objects.occupying(now)
        .filter(office_id=closure.office_id, status__in=MOVABLE, start__gt=now)
        .overlapping(intervals[0][0], intervals[-1][1])
    )
    if closure.counter_id:
        qs = qs.filter(counter_id=closure.counter_id)
    return [a.pk for a in qs.order_by("start", "pk").only("pk", "start", "end") if hits(a, intervals)]


def relocate_after_closure(*, closure: Closure, now: dt.datetime, user=None) -> list[Outcome]:
    """Handle every booking the closure hits; return what became of each."""
    outcomes = []
    intervals = closed_intervals(closure)
    for pk in affected(closure, now):
        outcome = _relocate_one(pk, closure=closure, intervals=intervals, now=now, user=user)
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes


def _event(appointment, *, user, now, to_status, note, from_status=None):
    AppointmentEvent.objects.create(
        appointment=appointment,
        at=now,
        user=user if getattr(user, "is_authenticated", False) else None,
        from_status=appointment.status if from_status is None else from_status,
        to_status=to_status,
        note=note[:300],
    )


def _relocate_one(pk: int, *, closure: Closure, intervals, now: dt.datetime, user) -> Outcome | None:
    with transaction.atomic():
        booking.lock_office(closure.office)
        appointment = (
            Appointment.objects.select_for_update()
            .select_related("office", "counter", "municipality", "home_administration")
            .get(pk=pk)
        )
        # Changed since it was listed (cancelled, moved by the citizen, expired): nothing to do.
        if appointment.status not in MOVABLE or not hits(appointment, intervals) or appointment.start <= now:
            return None
        if closure.counter_id and appointment.counter_id != closure.counter_id:
            return None
        if appointment.hold_expired(now):
            return None
        old_counter = appointment.counter
        services = [item.service for item in appointment.items.select_related("service")]

        new_counter_id = _move_to_free_counter(appointment, services=services, now=now, user=user)
        if new_counter_id is not None:
            appointment.refresh_from_db()
            _event(
                appointment,
                user=user,
                now=now,
                to_status=appointment.status,
                note=gettext("Moved from %(old)s to %(new)s: %(reason)s")
                % {"old": old_counter.name, "new": appointment.counter.name, "reason": closure.reason},
            )
            return Outcome(appointment, Result.MOVED, old_counter.name, appointment.counter.name)

        if appointment.status == Status.HELD:
            # Nobody has booked yet: the citizen is still typing. Their next step tells them the
            # reservation ran out and lets them choose another time.
            _event(
                appointment,
                user=user,
                now=now,
                to_status=Status.EXPIRED,
                note=gettext("Reservation released: %(reason)s") % {"reason": closure.reason},
            )
            Appointment.objects.filter(pk=pk).update_with_history(user=user, status=Status.EXPIRED, updated_at=now)
            appointment.status = Status.EXPIRED
            return Outcome(appointment, Result.RELEASED, old_counter.name)

        if not appointment.email or appointment.relocation_offered_at:
            return Outcome(appointment, Result.OPEN, old_counter.name)

        slots = _alternatives(appointment, services=services, now=now)
        _offer(appointment, slots=slots, now=now)
        _event(
            appointment,
            user=user,
            now=now,
            to_status=appointment.status,
            note=gettext("New times offered by e-mail: %(reason)s") % {"reason": closure.reason},
        )
        return Outcome(appointment, Result.OFFERED, old_counter.name, slots=slots)


def _move_to_free_counter(appointment: Appointment, *, services, now: dt.datetime, user=None) -> int | None:
    """Another counter of the office that is free for the booking's time (the closure already takes
    the closed counter out); the booking keeps its office and time. None when there is none."""
    try:
        choices = free_counters(
            office=appointment.office,
            services=services,
            vehicles=appointment.vehicles,
            administration=appointment.home_administration,
            start=appointment.start,
            now=now,
            ignore=appointment.pk,
            online=False,
        )
    except AvailabilityError:
        return None  # e.g. the whole office is closed: no counter works at that time
    choices = [c for c in choices if c.counter_id != appointment.counter_id]
    booking._expire_stale_overlapping([c.counter_id for c in choices], appointment.start, appointment.end, now)
    for choice in choices:
        try:
            with transaction.atomic():
                Appointment.objects.filter(pk=appointment.pk).update_with_history(
                    user=user, counter_id=choice.counter_id, updated_at=now
                )
        except IntegrityError:
            continue  # taken meanwhile (PostgreSQL's exclusion constraint): the next counter
        return choice.counter_id
    return None


def _alternatives(appointment: Appointment, *, services, now: dt.datetime) -> list[Slot]:
    """The nearest free times at either office of the pool, as the online calendar shows them."""
    try:
        return nearest_slots(
            office=appointment.office,
            services=services,
            vehicles=appointment.vehicles,
            municipality=appointment.municipality,
            around=appointment.start,
            now=now,
            count=settings.ALTERNATIVES_COUNT,
        )
    except AvailabilityError:
        return []  # e.g. a concern that cannot be booked online: the manage link and the office remain


def _offer(appointment: Appointment, *, slots: list[Slot], now: dt.datetime) -> None:
    """E-mail the citizen other times with a new manage link.

    Only a hash of the manage token is stored, so the e-mail needs a new secret: the old links stop
    working, and messages still waiting in the outbox (reminders, an opt-in) carry the new one."""
    token = booking.new_token()
    appointment.token_hash = hash_token(token)
    appointment.relocation_offered_at = now
    appointment.save(update_fields=["token_hash", "relocation_offered_at", "updated_at"])
    for pending in Notification.objects.filter(appointment=appointment, state=Notification.State.PENDING):
        if "token" in pending.payload:
            pending.payload = {**pending.payload, "token": token}
            pending.save(update_fields=["payload"])
    offer = notifications.queue(appointment, Notification.Kind.RELOCATION_OFFER, due_at=now, token=token)
    offer.payload = {
        "token": token,
        "slots": [{"office": slot.office.slug, "start": slot.start.isoformat()} for slot in slots],
    }
    offer.save(update_fields=["payload"])
