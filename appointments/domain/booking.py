"""The write side: hold, submit, book, confirm, cancel, reschedule. One transaction each.

Double booking is made impossible by the database, not by this code: on PostgreSQL an exclusion
constraint on (counter, time range) rejects an overlapping insert, and we then try the next free
counter. On SQLite every write transaction starts with BEGIN IMMEDIATE (see settings), so writers
are serialised and the check inside the transaction is the truth.
Messages go to the outbox in the same transaction (notifications.queue).
"""

from __future__ import annotations

import datetime as dt
import secrets
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext_lazy as _

from appointments.domain import names
from appointments.domain.availability import (
    AvailabilityError,
    check_request,
    duration_minutes,
    free_counters,
    nearest_slots,
)
from appointments.errors import ErrorCode, PortalError
from appointments.models import Appointment, AppointmentService, Channel, FreedTime, Notification, Status, hash_token
from appointments.outbox import notifications
from appointments.security.hoarding import BudgetExceeded, Client, check_budget, normalise_email
from appointments.security.limits import record_blocked
from offices.models import Municipality, Office

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out on the phone
NAME_MAX = names.NAME_MAX
PHONE_MAX = 40
EMAIL_MAX = 254


class BookingError(PortalError):
    pass


def new_token() -> str:
    """A secret of 256 random bits for links; only its hash is stored."""
    return secrets.token_urlsafe(32)


def new_reference(office: Office) -> str:
    """A new booking reference such as "K7Q-4MZP". A reference is stable: it stays the booking's
    when the booking moves to the other office, so it names no office (the references of earlier
    bookings, "FT-…" and "RP-…", keep working). `office` is kept for callers."""
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(7))
    return f"{code[:3]}-{code[3:]}"


def clean_contact(*, name: str, email: str, phone: str, privacy_consent: bool, by_staff: bool = False) -> dict:
    """Validate the citizen's contact data; every problem is reported with its field.
    `by_staff`: a clerk types what a walk-in or a caller says, so the e-mail address is optional
    and a missing name is asked for as the citizen's."""
    errors: dict[str, list] = {}
    email = (email or "").strip()
    phone = (phone or "").strip()
    try:
        name = names.clean_name(name)
    except ValidationError as problem:
        errors["name"] = (
            [_("Please enter the citizen's name (at most %(max)s characters).") % {"max": NAME_MAX}]
            if by_staff and problem.code == "required"
            else list(problem.messages)
        )
    if not email and not by_staff:
        errors["email"] = [_("Please enter your e-mail address.")]
    elif email:
        try:
            if len(email) > EMAIL_MAX:
                raise ValidationError("too long")
            validate_email(email)
        except ValidationError:
            errors["email"] = [_("Please enter a valid e-mail address.")]
    if len(phone) > PHONE_MAX or (phone and not all(c.isdigit() or c in "+-/() " for c in phone)):
        errors["phone"] = [_("Please enter a valid phone number (digits, spaces, + - / ( ) only).")]
    if privacy_consent is not True:
        errors["privacy_consent"] = [_("Please agree to the processing of your data for this appointment.")]
    if errors:
        raise BookingError(ErrorCode.INVALID, _("Please correct the marked fields."), errors=errors)
    return {"name": name, "email": email.lower() if email.count("@") == 1 else email, "phone": phone}


def check_email_cap(email: str, *, now: dt.datetime, exclude: int | None = None) -> None:
    """One mailbox may hold only MAX_ACTIVE_BOOKINGS_PER_EMAIL upcoming bookings (against hoarding).
    Counted by the normalised address: "c.ap+1@gmail.com" is the mailbox of "cap@gmail.com"."""
    cap = settings.MAX_ACTIVE_BOOKINGS_PER_EMAIL
    email_key = normalise_email(email)
    if not cap or not email_key:
        return
    active = Appointment.objects.changeable(now).filter(email_key=email_key).exclude(pk=exclude).count()
    if active >= cap:
        raise BookingError(
            ErrorCode.TOO_MANY_BOOKINGS,
            _("This e-mail address already has %(count)s upcoming appointments. Please cancel one first.")
            % {"count": active},
            field="email",
            errors={"email": [_("This e-mail address already has the maximum number of upcoming appointments.")]},
        )


def _slot_taken(*, office, services, vehicles, municipality, start, now) -> BookingError:
    alternatives = nearest_slots(
        office=office,
        services=services,
        vehicles=vehicles,
        municipality=municipality,
        around=start,
        now=now,
        count=settings.ALTERNATIVES_COUNT,
    )
    return BookingError(
        ErrorCode.SLOT_TAKEN, _("This time has just been taken. Please choose another one."), alternatives=alternatives
    )


def _expire_stale_overlapping(counter_ids, start, end, now) -> None:
    # A hold that ran out still sits in the exclusion constraint until it is marked expired.
    Appointment.objects.hold_expired(now).filter(counter_id__in=counter_ids).overlapping(
        start, end
    ).update_with_history(status=Status.EXPIRED)


BOOKING_LOCK_NAMESPACE = 7301  # first key of PostgreSQL advisory locks taken by bookings


def lock_office(office: Office) -> None:
    """Serialise bookings at one office for the rest of the transaction.

    Taken right before the check, inside the writing transaction. Without it, concurrent inserts
    that conflict in the exclusion constraint wait for each other and PostgreSQL aborts some with
    a deadlock; the constraint stays the guarantee, the lock only makes the rush orderly.
    SQLite needs nothing: BEGIN IMMEDIATE already serialises writers.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [BOOKING_LOCK_NAMESPACE, office.pk])


def is_online(channel: str) -> bool:
    return channel in (Channel.ONLINE, Channel.API)


def _insert(*, office, services, vehicles, municipality, start, now, fields) -> Appointment | None:
    """Insert on the best free counter; None when every suitable counter is taken."""
    choices = free_counters(
        office=office,
        services=services,
        vehicles=vehicles,
        administration=municipality.administration,
        start=start,
        now=now,
        online=is_online(fields["channel"]),
        lock=lambda: lock_office(office),  # after the configuration is read, right before the check
    )
    if not choices:
        return None
    minutes = duration_minutes(services, vehicles)
    end = start + dt.timedelta(minutes=minutes)
    if connection.vendor != "postgresql":
        # Without the exclusion constraint nothing would refuse the insert: clear them first.
        _expire_stale_overlapping([c.counter_id for c in choices], start, end, now)
    for choice in choices:
        appointment = None
        for attempt in range(2):
            try:
                with transaction.atomic():
                    appointment = Appointment.objects.create(
                        reference=new_reference(office),
                        office=office,
                        counter_id=choice.counter_id,
                        start=start,
                        end=end,
                        vehicles=vehicles,
                        home_administration_id=municipality.administration_id,
                        municipality=municipality,
                        **fields,
                    )
                break
            except IntegrityError:
                # A hold that ran out but is not yet marked expired (it still sits in the exclusion
                # constraint), a booking made in the meantime by staff, or a reference collision:
                # mark run-out holds expired and try once more, then the next counter.
                if attempt == 0:
                    _expire_stale_overlapping([choice.counter_id], start, end, now)
        if appointment is None:
            continue
        AppointmentService.objects.bulk_create(
            AppointmentService(appointment=appointment, service=s, vehicles=vehicles, minutes=s.minutes_for(vehicles))
            for s in services
        )
        return appointment
    return None


class _Taken(Exception):
    """Every suitable counter is taken. Raised inside the booking transaction and answered (with
    the nearest alternatives) only after it, by `_alternatives_when_taken`."""

    def __init__(self, **request):
        super().__init__("slot taken")
        self.request = request


@contextmanager
def _alternatives_when_taken():
    """Turn `_Taken` into the "just taken" answer once the transaction inside has rolled back.

    The search for alternatives reads eleven days of the pool; inside the transaction it would hold
    the office's booking lock (an advisory lock lasts until the transaction ends) and make every
    other booking at the office wait for it. A flash crowd showed exactly that.
    """
    try:
        yield
    except _Taken as taken:
        raise _slot_taken(**taken.request) from None
    except BudgetExceeded as refused:
        record_blocked(refused.reason)  # after the rollback, which would take the count with it
        raise


def _create(
    *, office, services, vehicles, municipality, start, now, fields, client: Client | None = None
) -> Appointment:
    """Check the request and insert the booking, inside the caller's transaction (which writes
    what goes with it, such as its messages); raise _Taken when every suitable counter is taken.
    With `client`, the booking counts against its hoarding budget (checked here, before the insert)."""
    services = list(dict.fromkeys(services))  # a concern named twice is still one concern
    check_request(services=services, vehicles=vehicles, municipality=municipality, online=is_online(fields["channel"]))
    if not isinstance(start, dt.datetime) or start.tzinfo is None:
        raise BookingError(ErrorCode.INVALID, _("Please give the time with its UTC offset."), field="start")
    start = start.astimezone(dt.UTC)
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("_create runs inside the caller's transaction")
    if client is not None:
        check_budget(client=client, office=office, start=start, minutes=duration_minutes(services, vehicles), now=now)
        fields = {**fields, **client.fields}
    appointment = _insert(
        office=office,
        services=services,
        vehicles=vehicles,
        municipality=municipality,
        start=start,
        now=now,
        fields=fields,
    )
    if appointment is None:
        raise _Taken(
            office=office, services=services, vehicles=vehicles, municipality=municipality, start=start, now=now
        )
    return appointment


def place_hold(
    *,
    office: Office,
    start: dt.datetime,
    services,
    vehicles: int,
    municipality: Municipality,
    now: dt.datetime,
    language: str = "de",
    client: Client | None = None,
) -> tuple[Appointment, str]:
    """Hold a slot for HOLD_MINUTES while the citizen types. Returns the hold and its secret,
    which only the citizen's browser session knows. `client`: whose hoarding budget it counts against."""
    token = new_token()
    with _alternatives_when_taken(), transaction.atomic():
        appointment = _create(
            office=office,
            services=services,
            vehicles=vehicles,
            municipality=municipality,
            start=start,
            now=now,
            fields={
                "status": Status.HELD,
                "hold_expires_at": now + dt.timedelta(minutes=settings.HOLD_MINUTES),
                "hold_token_hash": hash_token(token),
                "language": language,
                "channel": Channel.ONLINE,
            },
            client=client,
        )
    return appointment, token


def check_hold_again(*, appointment: Appointment, now: dt.datetime) -> None:
    """Whether the time of a hold that ran out can be held again now (for the page that offers it);
    raises what place_hold would raise (slot_taken, invalid_time, …). Reads only."""
    services = [item.service for item in appointment.items.select_related("service")]
    choices = free_counters(
        office=appointment.office,
        services=services,
        vehicles=appointment.vehicles,
        administration=appointment.municipality.administration,
        start=appointment.start,
        now=now,
        ignore=appointment.pk,
    )
    if not choices:
        raise BookingError(ErrorCode.SLOT_TAKEN, _("This time has just been taken. Please choose another one."))


def release_holds(holds: dict[str, str]) -> int:
    """Give back holds a browser session no longer needs (the citizen picked another time).
    Only holds not yet submitted, and only with their secret."""
    released = 0
    for appointment in Appointment.objects.filter(reference__in=list(holds), status=Status.HELD):
        if appointment.hold_token_matches(holds[appointment.reference]):
            released += Appointment.objects.filter(pk=appointment.pk, status=Status.HELD).update_with_history(
                status=Status.EXPIRED
            )
    return released


def _opt_in_fields(*, now: dt.datetime, minutes: int | None = None) -> tuple[str, dict]:
    """A new secret for the double-opt-in mail, and the fields of a booking that waits for it
    (`minutes` to confirm it; default UNCONFIRMED_MINUTES)."""
    token = new_token()
    return token, {
        "token_hash": hash_token(token),
        "status": Status.UNCONFIRMED,
        "submitted_at": now,
        "hold_expires_at": now + dt.timedelta(minutes=minutes or settings.UNCONFIRMED_MINUTES),
    }


def submit_booking(
    *,
    appointment: Appointment,
    hold_token: str,
    name: str,
    email: str,
    phone: str = "",
    privacy_consent: bool,
    now: dt.datetime,
) -> Appointment:
    """Attach the contact data to a hold and send the double-opt-in mail.

    The manage token is new and travels only in that e-mail, so only the owner of the address can
    confirm. Raises BookingError: invalid (with errors), bad_token, expired, already_submitted.
    """
    contact = clean_contact(name=name, email=email, phone=phone, privacy_consent=privacy_consent)
    with transaction.atomic():
        appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if not appointment.hold_token_matches(hold_token):
            raise BookingError(ErrorCode.BAD_TOKEN, _("This link or form is not valid for this booking."))
        if appointment.status == Status.UNCONFIRMED:
            # A double-clicked submit: the first one already sent the e-mail.
            raise BookingError(ErrorCode.ALREADY_SUBMITTED, _("We have already sent you an e-mail for this booking."))
        if appointment.status != Status.HELD or appointment.hold_expired(now):
            raise BookingError(ErrorCode.EXPIRED, _("Your reservation has run out. Please choose a time again."))
        check_email_cap(contact["email"], now=now, exclude=appointment.pk)
        token, fields = _opt_in_fields(now=now)
        fields["email_key"] = normalise_email(contact["email"])
        for key, value in {**contact, **fields}.items():
            setattr(appointment, key, value)
        appointment.save()
        notifications.queue(appointment, Notification.Kind.OPT_IN, due_at=now, token=token)
    return appointment


def book(
    *,
    office: Office,
    start: dt.datetime,
    services,
    vehicles: int,
    municipality: Municipality,
    name: str,
    email: str,
    phone: str = "",
    privacy_consent: bool,
    language: str = "de",
    now: dt.datetime,
    channel: str = Channel.API,
    client: Client | None = None,
) -> Appointment:
    """Hold and submit in one step (the API): an unconfirmed booking and the double-opt-in mail.
    Through the API it must be confirmed sooner (API_UNCONFIRMED_MINUTES): a program that books
    for others ties up a time for less long. `client`: whose hoarding budget it counts against."""
    contact = clean_contact(name=name, email=email, phone=phone, privacy_consent=privacy_consent)
    check_email_cap(contact["email"], now=now)
    token, fields = _opt_in_fields(
        now=now, minutes=settings.API_UNCONFIRMED_MINUTES if channel == Channel.API else None
    )
    fields["email_key"] = normalise_email(contact["email"])
    with _alternatives_when_taken(), transaction.atomic():
        # Written unconfirmed at once: one insert (and one history row), no update after it.
        appointment = _create(
            office=office,
            services=services,
            vehicles=vehicles,
            municipality=municipality,
            start=start,
            now=now,
            fields={**contact, **fields, "language": language, "channel": channel},
            client=client,
        )
        notifications.queue(appointment, Notification.Kind.OPT_IN, due_at=now, token=token)
    return appointment


def book_in_office(
    *,
    office: Office,
    start: dt.datetime,
    services,
    vehicles: int,
    municipality: Municipality,
    name: str,
    email: str = "",
    phone: str = "",
    channel: str,
    language: str = "de",
    now: dt.datetime,
) -> tuple[Appointment, str | None]:
    """Staff book a walk-in or a phone caller: confirmed at once, no double opt-in, e-mail optional.

    May use the office's internal contingent and needs no lead time. With an e-mail address the
    citizen gets the confirmation with a manage link; returns the appointment and that secret.
    """
    if channel not in (Channel.COUNTER, Channel.PHONE):
        raise BookingError(ErrorCode.INVALID, _("Staff bookings are made at the counter or by phone."), field="channel")
    # The same rules as for citizens: the name appears in the confirmation mail. The citizen agrees
    # to the processing in person.
    contact = clean_contact(name=name, email=email, phone=phone, privacy_consent=True, by_staff=True)
    token = new_token() if contact["email"] else None
    with _alternatives_when_taken(), transaction.atomic():
        appointment = _create(
            office=office,
            services=services,
            vehicles=vehicles,
            municipality=municipality,
            start=start,
            now=now,
            fields={
                **contact,
                "email_key": normalise_email(contact["email"]),
                "status": Status.CONFIRMED,
                "confirmed_at": now,
                "language": language,
                "channel": channel,
                "token_hash": hash_token(token) if token else "",
            },
        )
        if token:
            notifications.queue(appointment, Notification.Kind.CONFIRMATION, due_at=now, token=token)
            notifications.queue_reminders(appointment, token=token, now=now)
    return appointment, token


def by_reference(reference: str) -> Appointment | None:
    """The appointment with this reference as a citizen's URL gives it (any case), or None. The
    caller checks the secret that goes with it: the manage token, or a session's hold token."""
    reference = (reference or "").upper()[:12]
    if "\x00" in reference:
        # A reference comes from a URL: a NUL byte in it would make PostgreSQL fail the query (a 500).
        return None
    return (
        Appointment.objects.select_related("office", "office__administration", "counter", "municipality")
        .filter(reference=reference)
        .first()
    )


def get_booking(*, reference: str, token: str) -> Appointment:
    """The booking behind a manage link. Raises not_found for an unknown reference and for a wrong
    token alike: the answer must not tell which references exist."""
    appointment = by_reference(reference)
    if appointment is None or not appointment.token_matches(token):
        raise BookingError(
            ErrorCode.NOT_FOUND, _("There is no booking with this reference, or the link is not valid for it.")
        )
    return appointment


def lock(appointment: Appointment) -> Appointment:
    """The booking's row, locked until the caller's transaction ends (select_for_update)."""
    return Appointment.objects.select_for_update().select_related("office").get(pk=appointment.pk)


def _locked(appointment: Appointment, token: str) -> Appointment:
    locked = lock(appointment)
    if not locked.token_matches(token):
        raise BookingError(ErrorCode.BAD_TOKEN, _("This link is not valid for this booking."))
    return locked


def _require_transaction() -> None:
    # The operations on a locked row: the lock holds only inside the caller's transaction.
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("call inside transaction.atomic(), on a row from lock()")


def confirm_booking(*, appointment: Appointment, token: str, now: dt.datetime) -> Appointment:
    """Confirm by the link of the double-opt-in mail. Idempotent for a confirmed booking.
    Raises bad_token, expired (hold ran out), invalid_state (cancelled)."""
    with transaction.atomic():
        appointment = _locked(appointment, token)
        if appointment.status == Status.CONFIRMED:
            return appointment
        if appointment.is_expired(now):
            raise BookingError(ErrorCode.EXPIRED, _("The time to confirm this booking has run out. Please book again."))
        if appointment.status != Status.UNCONFIRMED:
            raise BookingError(ErrorCode.INVALID_STATE, _("This booking cannot be confirmed any more."))
        appointment.status = Status.CONFIRMED
        appointment.hold_expires_at = None
        appointment.confirmed_at = now
        # The budget needs the client's keys only while the booking waits (data minimisation).
        appointment.client_address_key = appointment.client_network_key = ""
        appointment.save(
            update_fields=[
                "status",
                "hold_expires_at",
                "confirmed_at",
                "client_address_key",
                "client_network_key",
                "updated_at",
            ]
        )
        notifications.queue(appointment, Notification.Kind.CONFIRMATION, due_at=now, token=token)
        notifications.queue_reminders(appointment, token=token, now=now)
    return appointment


def cancel_booking(*, appointment: Appointment, token: str, now: dt.datetime) -> Appointment:
    """Cancel an unconfirmed or confirmed booking before it starts, by the citizen's link.
    Idempotent once cancelled."""
    with transaction.atomic():
        return cancel_locked(appointment=_locked(appointment, token), now=now)


def cancel_locked(*, appointment: Appointment, now: dt.datetime) -> Appointment:
    """The cancellation itself, on a row from `lock()` in the caller's transaction, once the caller
    has checked who may cancel: the citizen's link (cancel_booking) or the clerk's office (clerk.py)."""
    _require_transaction()
    if appointment.status == Status.CANCELLED:
        return appointment
    if not appointment.is_changeable(now):
        if appointment.hold_expired(now):
            raise BookingError(ErrorCode.EXPIRED, _("The time to confirm this booking has run out. Please book again."))
        raise BookingError(ErrorCode.INVALID_STATE, _("This booking can no longer be cancelled online."))
    was_confirmed = appointment.status == Status.CONFIRMED
    appointment.status = Status.CANCELLED
    appointment.cancelled_at = now
    appointment.hold_expires_at = None
    appointment.client_address_key = appointment.client_network_key = ""
    appointment.save(
        update_fields=[
            "status",
            "cancelled_at",
            "hold_expires_at",
            "client_address_key",
            "client_network_key",
            "updated_at",
        ]
    )
    notifications.drop_pending(appointment)
    if was_confirmed:
        notifications.queue(appointment, Notification.Kind.CANCELLATION, due_at=now)
    return appointment


def _check_movable(appointment: Appointment, *, office: Office, start: dt.datetime, now: dt.datetime) -> None:
    if not appointment.is_changeable(now):
        # Once begun it cannot be moved, whether or not its time to confirm ran out too.
        if appointment.start > now and appointment.hold_expired(now):
            raise BookingError(ErrorCode.EXPIRED, _("The time to confirm this booking has run out. Please book again."))
        raise BookingError(ErrorCode.INVALID_STATE, _("This booking can no longer be moved online."))
    if office.pk == appointment.office_id and start == appointment.start:
        raise BookingError(
            ErrorCode.SAME_TIME,
            _("Your appointment is already at this time. Please choose another time."),
            field="start",
        )


def check_move(*, appointment: Appointment, office: Office, start: dt.datetime, now: dt.datetime) -> None:
    """The checks of a move without the move, for the question "move from … to …?" before it:
    raises what reschedule_booking would raise now (same_time, invalid_time, slot_taken with the
    nearest alternatives, …). Reads only; the move itself checks again."""
    if not isinstance(start, dt.datetime) or start.tzinfo is None:
        raise BookingError(ErrorCode.INVALID, _("Please give the time with its UTC offset."), field="start")
    start = start.astimezone(dt.UTC)
    _check_movable(appointment, office=office, start=start, now=now)
    services = [item.service for item in appointment.items.select_related("service")]
    choices = free_counters(
        office=office,
        services=services,
        vehicles=appointment.vehicles,
        administration=appointment.municipality.administration,
        start=start,
        now=now,
        ignore=appointment.pk,
    )
    if not choices:
        raise _slot_taken(
            office=office,
            services=services,
            vehicles=appointment.vehicles,
            municipality=appointment.municipality,
            start=start,
            now=now,
        )


def reschedule_booking(
    *, appointment: Appointment, token: str, office: Office, start: dt.datetime, now: dt.datetime
) -> Appointment:
    """Move a booking to another time (and office). The old time stays the booking's until the new
    one is secured: the row is moved in place, in one transaction, or not at all (slot_taken).
    The old time then comes back online only after CANCELLED_SLOT_DELAY_MINUTES, like a cancelled
    one (a FreedTime). Raises same_time for the booking's own time."""
    start = _utc_start(start)
    with transaction.atomic():
        appointment = _locked(appointment, token)
        moved = _move(appointment, office=office, start=start, now=now, token=token)
    if moved is not None:
        return moved
    raise _slot_taken_for(appointment, office=office, start=start, now=now)


def reschedule_locked(
    *, appointment: Appointment, office: Office, start: dt.datetime, now: dt.datetime, token: str | None
) -> Appointment:
    """The move itself, on a row from `lock()` in the caller's transaction, once the caller has
    checked who may move it (clerk.py: the clerk's office). `token`: the manage secret the mails
    about the new time carry (None: no mail can carry links). Raises what reschedule_booking raises."""
    _require_transaction()
    start = _utc_start(start)
    moved = _move(appointment, office=office, start=start, now=now, token=token)
    if moved is None:
        raise _slot_taken_for(appointment, office=office, start=start, now=now)
    return moved


def _utc_start(start) -> dt.datetime:
    if not isinstance(start, dt.datetime) or start.tzinfo is None:
        raise BookingError(ErrorCode.INVALID, _("Please give the time with its UTC offset."), field="start")
    return start.astimezone(dt.UTC)


def _slot_taken_for(appointment: Appointment, *, office: Office, start: dt.datetime, now: dt.datetime) -> BookingError:
    return _slot_taken(
        office=office,
        services=[item.service for item in appointment.items.select_related("service")],
        vehicles=appointment.vehicles,
        municipality=appointment.municipality,
        start=start,
        now=now,
    )


def _move(
    appointment: Appointment, *, office: Office, start: dt.datetime, now: dt.datetime, token: str | None
) -> Appointment | None:
    """Move the locked row to `start` at `office`; None when no counter is free then."""
    _check_movable(appointment, office=office, start=start, now=now)
    old = FreedTime(counter_id=appointment.counter_id, start=appointment.start, end=appointment.end, freed_at=now)
    items = list(appointment.items.select_related("service"))
    services = [item.service for item in items]
    municipality = appointment.municipality
    choices = free_counters(
        office=office,
        services=services,
        vehicles=appointment.vehicles,
        administration=municipality.administration,
        start=start,
        now=now,
        ignore=appointment.pk,
        lock=lambda: lock_office(office),
    )
    end = start + dt.timedelta(minutes=duration_minutes(services, appointment.vehicles))
    _expire_stale_overlapping([c.counter_id for c in choices], start, end, now)
    moved = False
    for choice in choices:
        try:
            with transaction.atomic():
                Appointment.objects.filter(pk=appointment.pk).update_with_history(
                    office=office,
                    counter_id=choice.counter_id,
                    start=start,
                    end=end,
                    updated_at=now,
                    relocation_offered_at=None,  # a new time answers an offer of other times
                )
            moved = True
            break
        except IntegrityError:
            continue
    if moved:
        if settings.CANCELLED_SLOT_DELAY_MINUTES:
            old.save()
        appointment.refresh_from_db()
        notifications.drop_pending(appointment, kinds=[Notification.Kind.REMINDER])
        if appointment.status == Status.CONFIRMED:
            notifications.queue(appointment, Notification.Kind.RESCHEDULE, due_at=now, token=token)
            notifications.queue_reminders(appointment, token=token, now=now)
        return appointment
    return None


def expire_stale(*, now: dt.datetime) -> int:
    """Free the counters of holds and unconfirmed bookings whose time ran out (and forget the
    client keys that only their hoarding budget needed). Times freed by a move a day ago are
    forgotten: their delay is long over."""
    FreedTime.objects.filter(freed_at__lt=now - dt.timedelta(days=1)).delete()
    # A row that another transaction holds (a confirmation, a move) is left to the next sweep.
    return Appointment.objects.hold_expired(now).update_with_history(
        skip_locked=True, status=Status.EXPIRED, client_address_key="", client_network_key=""
    )


__all__ = [
    "AvailabilityError",
    "BookingError",
    "book",
    "cancel_booking",
    "cancel_locked",
    "check_move",
    "confirm_booking",
    "expire_stale",
    "get_booking",
    "lock",
    "place_hold",
    "reschedule_booking",
    "reschedule_locked",
    "submit_booking",
]
