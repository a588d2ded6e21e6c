"""What clerks do with bookings: find one by its reference, check the citizen in, record the outcome,
undo a mistake, keep a note, cancel or move a booking on the citizen's behalf, book a walk-in, a
phone caller or a follow-up appointment, and block a counter.

Who may act is decided here and only here (`offices_for`): a clerk acts on the offices they are a
member of, a superuser on all. Every status change writes an AppointmentEvent with who and when, in
the transaction of the change. Rule violations raise ClerkError with an ErrorCode (the clerks' own
are in errors.STAFF_CODES; not_found, invalid_state and invalid are shared with the citizens' side).
"""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import formats
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from appointments.domain import booking
from appointments.domain.availability import Slot, SlotRequest, find_slots
from appointments.domain.relocation import Outcome, relocate_after_closure
from appointments.errors import ErrorCode, PortalError
from appointments.models import (
    Appointment,
    AppointmentEvent,
    CancelReason,
    Channel,
    Notification,
    Status,
    VisitOutcome,
    hash_token,
)
from ikz_portal.clock import local_date, today
from offices.hours import BERLIN
from offices.models import Closure, Counter, Membership, Municipality, Office

NOTE_MAX = 2000
REASON_MAX = 200
# A whole reference, not a piece of a longer word: a scanned link's host ("KFZ-ZULASSUNG…") is none.
# New references have no office prefix ("K7Q-4MZP"); the earlier ones ("FT-ABC234") stay valid.
REFERENCE = re.compile(r"(?<![A-Z0-9])(?:[A-Z]{1,3}-[A-Z0-9]{6}|[A-Z0-9]{3}-[A-Z0-9]{4})(?![A-Z0-9])")


class ClerkError(PortalError):
    pass


# --- who may act ----------------------------------------------------------------------------------


def offices_for(user) -> QuerySet[Office]:
    """The offices whose schedules and bookings `user` may see and change."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Office.objects.none()
    if user.is_superuser:
        return Office.objects.all()
    return Office.objects.filter(memberships__user=user).distinct()


def may_act(user, office_id: int) -> bool:
    return offices_for(user).filter(pk=office_id).exists()


def is_lead(user, office: Office) -> bool:
    """Office leads (and superusers) may also close the whole office."""
    if not may_act(user, office.pk):
        return False
    return (
        user.is_superuser
        or Membership.objects.filter(user=user, office=office, role=Membership.Role.OFFICE_LEAD).exists()
    )


def require_office(*, user, office: Office) -> None:
    if not may_act(user, office.pk):
        raise ClerkError(ErrorCode.FORBIDDEN, _("You do not work for this office."))


def may_block(user, office: Office, *, whole_office: bool) -> bool:
    """Any clerk of the office may block one of its counters (and move the bookings it hits); the
    whole office only its leads."""
    return is_lead(user, office) if whole_office else may_act(user, office.pk)


# --- finding a booking --------------------------------------------------------------------------


def normalise_reference(text: str) -> str:
    """What a clerk types or a hand scanner sends: any case, spaces, no dash, or the whole check-in
    URL of the QR code. Returns the reference in its stored form, or "" when nothing looks like one."""
    text = (text or "")[:200].upper().replace("\x00", "")
    matches = REFERENCE.findall(text.replace(" ", ""))
    if matches:
        return matches[-1]  # in a check-in link, the reference is the last part
    compact = re.sub(r"[^A-Z0-9]", "", text)
    # Without the dash: seven characters are a new reference (three, dash, four); an earlier one is
    # a plate code of two or three letters and six characters.
    if len(compact) == 7:
        return f"{compact[:3]}-{compact[3:]}"
    if 8 <= len(compact) <= 9 and compact[:-6].isalpha():
        return f"{compact[:-6]}-{compact[-6:]}"
    return ""


def find_by_reference(*, reference: str, user) -> Appointment:
    """The booking with this reference, if the user works for its office.

    A booking of another office answers `forbidden` and names that office: a citizen who came to
    the wrong office can be sent to the right one (the office is no personal data)."""
    normalised = normalise_reference(reference)
    appointment = (
        (
            Appointment.objects.select_related("office", "counter", "municipality", "home_administration")
            .filter(reference=normalised)
            .first()
        )
        if normalised
        else None
    )
    if appointment is None:
        raise ClerkError(
            ErrorCode.NOT_FOUND,
            _("There is no booking with the reference “%(reference)s”.")
            % {"reference": (reference or "").strip()[:40]},
        )
    if not may_act(user, appointment.office_id):
        raise ClerkError(
            ErrorCode.FORBIDDEN,
            _("Booking %(reference)s is for the %(office)s, not for your office.")
            % {"reference": appointment.reference, "office": appointment.office.name},
            office=appointment.office,
        )
    return appointment


# --- status changes -------------------------------------------------------------------------------


def _locked(appointment: Appointment, user) -> Appointment:
    locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if not may_act(user, locked.office_id):
        raise ClerkError(ErrorCode.FORBIDDEN, _("You do not work for this office."))
    return locked


def _record(
    appointment: Appointment,
    *,
    user,
    now,
    from_status: str,
    to_status: str,
    note: str = "",
    reverts: AppointmentEvent | None = None,
) -> AppointmentEvent:
    return AppointmentEvent.objects.create(
        appointment=appointment,
        at=now,
        user=user if getattr(user, "is_authenticated", False) else None,
        from_status=from_status,
        to_status=to_status,
        note=note[:300],
        reverts=reverts,
    )


def _attribute(appointment: Appointment, user) -> None:
    """Name the clerk as the author of the change in the audit trail (django-simple-history), also
    when no request is around to tell it (a task, a shell, a test)."""
    if getattr(user, "is_authenticated", False):
        appointment._history_user = user  # type: ignore[attr-defined]  # read by django-simple-history


def _set_status(
    appointment: Appointment, status: str, *, user, now, note: str = "", reverts=None, outcome: str = ""
) -> Appointment:
    """Change the status; `outcome` goes with a completion, and any other status has none (an undone
    completion loses its outcome)."""
    previous = appointment.status
    appointment.status = status
    appointment.outcome = outcome if status == Status.COMPLETED else ""
    _attribute(appointment, user)
    appointment.save(update_fields=["status", "outcome", "updated_at"])
    _record(appointment, user=user, now=now, from_status=previous, to_status=status, note=note, reverts=reverts)
    return appointment


def _state_error(appointment: Appointment, wanted: str) -> ClerkError:
    messages = {
        "check_in": _("Only a confirmed appointment can be checked in; this one is “%(status)s”."),
        "complete": _("Only a checked-in appointment can be completed; this one is “%(status)s”."),
        "no_show": _("Only a confirmed appointment can be marked as a no-show; this one is “%(status)s”."),
    }
    return ClerkError(ErrorCode.INVALID_STATE, messages[wanted] % {"status": appointment.get_status_display()})


def check_in(*, appointment: Appointment, user, now: dt.datetime) -> Appointment:
    """The citizen has arrived. On the day of the appointment only; a second check-in changes nothing."""
    with transaction.atomic():
        appointment = _locked(appointment, user)
        if appointment.status == Status.CHECKED_IN:
            return appointment
        if appointment.status != Status.CONFIRMED:
            raise _state_error(appointment, "check_in")
        if local_date(appointment.start) != today(now):
            raise ClerkError(
                ErrorCode.WRONG_DAY,
                _("This appointment is on %(date)s, not today.")
                % {"date": formats.date_format(appointment.start.astimezone(BERLIN), "SHORT_DATE_FORMAT")},
            )
        return _set_status(appointment, Status.CHECKED_IN, user=user, now=now)


def complete(*, appointment: Appointment, user, now: dt.datetime, outcome: str = VisitOutcome.COMPLETED) -> Appointment:
    """The visit is over, with its outcome (VisitOutcome). Completing twice changes nothing: a wrong
    outcome is undone (`undo_last`) and recorded again."""
    if outcome not in VisitOutcome.values:
        raise ClerkError(ErrorCode.INVALID, _("Please choose an outcome from the list."), field="outcome")
    with transaction.atomic():
        appointment = _locked(appointment, user)
        if appointment.status == Status.COMPLETED:
            return appointment
        if appointment.status != Status.CHECKED_IN:
            raise _state_error(appointment, "complete")
        return _set_status(
            appointment, Status.COMPLETED, user=user, now=now, outcome=outcome, note=str(VisitOutcome(outcome).label)
        )


def no_show_from(appointment: Appointment) -> dt.datetime:
    return appointment.start + dt.timedelta(minutes=settings.NO_SHOW_GRACE_MINUTES)


# Which actions an appointment offers (the buttons); the actions themselves check the same and
# say why when they refuse.


def may_check_in(appointment: Appointment, now: dt.datetime) -> bool:
    return appointment.status == Status.CONFIRMED and local_date(appointment.start) == today(now)


def may_complete(appointment: Appointment) -> bool:
    return appointment.status == Status.CHECKED_IN


def may_mark_no_show(appointment: Appointment, now: dt.datetime) -> bool:
    return appointment.status == Status.CONFIRMED and now >= no_show_from(appointment)


def may_change_for_citizen(appointment: Appointment, now: dt.datetime) -> bool:
    """Cancel or move on the citizen's behalf: what the citizen could do online (not yet begun)."""
    return appointment.is_changeable(now)


def may_book_follow_up(appointment: Appointment) -> bool:
    return appointment.status == Status.COMPLETED and appointment.outcome == VisitOutcome.DOCUMENTS_INCOMPLETE


def mark_no_show(*, appointment: Appointment, user, now: dt.datetime) -> Appointment:
    """The citizen did not come: only once the grace period after the start has passed."""
    with transaction.atomic():
        appointment = _locked(appointment, user)
        if appointment.status == Status.NO_SHOW:
            return appointment
        if appointment.status != Status.CONFIRMED:
            raise _state_error(appointment, "no_show")
        if now < no_show_from(appointment):
            raise ClerkError(
                ErrorCode.TOO_EARLY,
                _("A no-show can be recorded from %(time)s, %(minutes)s minutes after the start.")
                % {
                    "time": no_show_from(appointment).astimezone(BERLIN).strftime("%H:%M"),
                    "minutes": settings.NO_SHOW_GRACE_MINUTES,
                },
            )
        return _set_status(appointment, Status.NO_SHOW, user=user, now=now)


def last_undoable(appointment: Appointment) -> AppointmentEvent | None:
    """The latest status change by staff that has not been undone (undos themselves are not undone:
    undoing twice steps back twice)."""
    return (
        AppointmentEvent.objects.filter(appointment=appointment, reverts__isnull=True, reverted_by__isnull=True)
        .filter(to_status__in=[Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW])
        .exclude(from_status="")
        .exclude(from_status=F("to_status"))
        .order_by("-at", "-id")
        .first()
    )


def can_undo(appointment: Appointment, now: dt.datetime) -> bool:
    event = last_undoable(appointment)
    return event is not None and event.to_status == appointment.status and local_date(event.at) == today(now)


def undo_last(*, appointment: Appointment, user, now: dt.datetime) -> Appointment:
    """Take back the latest check-in, completion or no-show, on the day it was made."""
    with transaction.atomic():
        appointment = _locked(appointment, user)
        event = last_undoable(appointment)
        if event is None or event.to_status != appointment.status:
            raise ClerkError(ErrorCode.NOTHING_TO_UNDO, _("There is no change to undo."))
        if local_date(event.at) != today(now):
            raise ClerkError(ErrorCode.TOO_LATE, _("A change can only be undone on the day it was made."))
        return _set_status(appointment, event.from_status, user=user, now=now, note=gettext("Undone"), reverts=event)


def set_note(*, appointment: Appointment, user, note: str, now: dt.datetime) -> Appointment:
    """The clerks' note on a booking; never shown to the citizen."""
    note = (note or "").replace("\x00", "").strip()
    if len(note) > NOTE_MAX:
        raise ClerkError(
            ErrorCode.INVALID, _("A note may have at most %(max)s characters.") % {"max": NOTE_MAX}, field="note"
        )
    with transaction.atomic():
        appointment = _locked(appointment, user)
        if appointment.note == note:
            return appointment
        appointment.note = note
        _attribute(appointment, user)
        appointment.save(update_fields=["note", "updated_at"])
        _record(
            appointment,
            user=user,
            now=now,
            from_status=appointment.status,
            to_status=appointment.status,
            note=gettext("Note changed"),
        )
    return appointment


# --- on the citizen's behalf: cancel and move ----------------------------------------------------
#
# The citizens' own operations do the work (booking.cancel_locked, booking.reschedule_locked): the
# same rules, the same mails, the same history rows. The citizens' services check the secret of the
# manage link before them; here the clerk's office is checked instead (`_locked`). Where the mail
# that follows carries links (a confirmed booking moved, with an address), the booking gets a new
# secret for them and the citizen's older links stop working, as after a relocation offer;
# otherwise the secret stays and the citizen's links keep working.

CANCEL_NOTE_MAX = 200


def _new_secret(appointment: Appointment) -> str:
    token = booking.new_token()
    # A plain update: the secret is no part of the history (PERSONAL_FIELDS), so no history row.
    Appointment.objects.filter(pk=appointment.pk).update(token_hash=hash_token(token))
    appointment.token_hash = hash_token(token)
    return token


def _history_mark(appointment: Appointment) -> int:
    row = Appointment.history.filter(id=appointment.pk).order_by("-history_id").values_list("history_id", flat=True)
    return row.first() or 0


def _name_author(appointment: Appointment, *, since: int, user) -> None:
    """The citizens' services do not know the clerk: name them as the author of the history rows
    that the call wrote (a page request names them anyway, through simple-history's middleware)."""
    if getattr(user, "is_authenticated", False):
        Appointment.history.filter(id=appointment.pk, history_id__gt=since, history_user__isnull=True).update(
            history_user=user
        )


def _changeable(appointment: Appointment, now: dt.datetime, *, moving: bool) -> None:
    if may_change_for_citizen(appointment, now):
        return
    message = (
        _("Only a booking that has not begun can be moved; this one is “%(status)s” at %(time)s.")
        if moving
        else _("Only a booking that has not begun can be cancelled; this one is “%(status)s” at %(time)s.")
    )
    raise ClerkError(
        ErrorCode.INVALID_STATE,
        message
        % {
            "status": appointment.get_status_display(),
            "time": formats.date_format(appointment.start.astimezone(BERLIN), "SHORT_DATETIME_FORMAT"),
        },
    )


def cancel_for_citizen(*, appointment: Appointment, user, reason: str, note: str = "", now: dt.datetime) -> Appointment:
    """Cancel a booking for a citizen who phoned or wrote, with a reason from CancelReason and the
    clerks' own note. A confirmed booking's citizen gets the cancellation mail, which names the
    reason (its translated label: nothing the clerk typed). Cancelling twice changes nothing."""
    errors: dict[str, list] = {}
    if reason not in CancelReason.values:
        errors["reason"] = [_("Please choose a reason from the list.")]
    note = (note or "").replace("\x00", "").strip()
    if len(note) > CANCEL_NOTE_MAX:
        errors["note"] = [_("A note may have at most %(max)s characters.") % {"max": CANCEL_NOTE_MAX}]
    if errors:
        raise ClerkError(ErrorCode.INVALID, _("Please correct the marked fields."), errors=errors)
    with transaction.atomic():
        appointment = _locked(appointment, user)
        if appointment.status == Status.CANCELLED:
            return appointment
        _changeable(appointment, now, moving=False)
        previous_status = appointment.status
        mark = _history_mark(appointment)
        cancelled = booking.cancel_locked(appointment=appointment, now=now)
        _name_author(cancelled, since=mark, user=user)
        # The mail names the reason: only its code travels, the label is translated when it is sent.
        Notification.objects.filter(
            appointment=cancelled, kind=Notification.Kind.CANCELLATION, state=Notification.State.PENDING
        ).update(payload={"reason": reason})
        label = gettext("Cancelled for the citizen: %(reason)s") % {"reason": CancelReason(reason).label}
        _record(
            cancelled,
            user=user,
            now=now,
            from_status=previous_status,
            to_status=cancelled.status,
            note=label + (f" – {note}" if note else ""),
        )
    return cancelled


def free_times(*, appointment: Appointment, now: dt.datetime, offices=()) -> list[Slot]:
    """The free times for the booking's concerns, vehicles and municipality, over the offices'
    booking horizons: what the citizen's own calendar shows (every office the cooperation rules
    allow, or only `offices`). Raises AvailabilityError for concerns that cannot be booked online."""
    active = Office.objects.filter(is_active=True)
    horizon = max((o.booking_horizon_days for o in active), default=0)
    first = today(now)
    return find_slots(
        request=SlotRequest(
            services=tuple(item.service for item in appointment.items.select_related("service").order_by("id")),
            vehicles=appointment.vehicles,
            municipality=appointment.municipality,
            date_from=first,
            date_to=first + dt.timedelta(days=horizon),
            offices=tuple(offices),
        ),
        now=now,
    )


def _when_where(appointment: Appointment) -> str:
    start = formats.date_format(appointment.start.astimezone(BERLIN), "SHORT_DATETIME_FORMAT")
    return f"{start}, {appointment.office.name}, {appointment.counter.name}"


def move_for_citizen(
    *, appointment: Appointment, user, office: Office, start: dt.datetime, now: dt.datetime
) -> Appointment:
    """Move a booking to a free time at its office or at a partner office the cooperation rules
    allow for the citizen (booking.reschedule_booking: the same free times as the citizen's own
    calendar). A confirmed booking's citizen gets the mail with the new time and new links.
    Raises slot_taken (with alternatives), invalid_time, not_allowed, same_time, invalid_state."""
    with transaction.atomic():
        appointment = _locked(appointment, user)
        _changeable(appointment, now, moving=True)
        if office.pk == appointment.office_id and start == appointment.start:
            raise ClerkError(ErrorCode.SAME_TIME, _("The booking is already at this time."), field="start")
        before = _when_where(Appointment.objects.select_related("office", "counter").get(pk=appointment.pk))
        mark = _history_mark(appointment)
        # Only a mail about the new time needs links, and so a secret of which the mail can carry
        # the plain text; a move that fails rolls the new secret back with it.
        mails = appointment.status == Status.CONFIRMED and bool(appointment.email)
        token = _new_secret(appointment) if mails else None
        moved = booking.reschedule_locked(appointment=appointment, office=office, start=start, now=now, token=token)
        _name_author(moved, since=mark, user=user)
        moved = Appointment.objects.select_related("office", "counter").get(pk=moved.pk)
        if token:
            # The reschedule mail carries the new secret; so must every message still to be sent.
            for pending in Notification.objects.filter(appointment=moved, state=Notification.State.PENDING):
                if pending.payload.get("token") not in (None, token):
                    pending.payload = {**pending.payload, "token": token}
                    pending.save(update_fields=["payload"])
        _record(
            moved,
            user=user,
            now=now,
            from_status=moved.status,
            to_status=moved.status,
            note=gettext("Moved for the citizen from %(old)s to %(new)s") % {"old": before, "new": _when_where(moved)},
        )
    return moved


# --- walk-ins and phone bookings ------------------------------------------------------------------


def book_walk_in(
    *,
    user,
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
    """A walk-in or a phone caller, booked by a clerk of the office (booking.book_in_office)."""
    require_office(user=user, office=office)
    with transaction.atomic():
        appointment, token = booking.book_in_office(
            office=office,
            start=start,
            services=services,
            vehicles=vehicles,
            municipality=municipality,
            name=name,
            email=email,
            phone=phone,
            channel=channel,
            language=language,
            now=now,
        )
        note = gettext("Booked by phone") if channel == Channel.PHONE else gettext("Booked at the counter")
        _record(appointment, user=user, now=now, from_status="", to_status=appointment.status, note=note)
    return appointment, token


def book_follow_up(
    *,
    of: Appointment,
    user,
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
    """The new appointment for a visit that ended with incomplete documents, booked on the spot at
    the same office (`book_walk_in`); the event log of the first visit names it."""
    if not may_book_follow_up(of):
        raise ClerkError(
            ErrorCode.INVALID_STATE, _("A follow-up appointment is booked after a visit with incomplete documents.")
        )
    with transaction.atomic():
        appointment, token = book_walk_in(
            user=user,
            office=of.office,
            start=start,
            services=services,
            vehicles=vehicles,
            municipality=municipality,
            name=name,
            email=email,
            phone=phone,
            channel=channel,
            language=language,
            now=now,
        )
        _record(
            of,
            user=user,
            now=now,
            from_status=of.status,
            to_status=of.status,
            note=gettext("Follow-up appointment %(reference)s booked") % {"reference": appointment.reference},
        )
    return appointment, token


# --- blocking a counter ---------------------------------------------------------------------------


def block(
    *,
    user,
    office: Office,
    counter: Counter | None,
    day: dt.date,
    start_time: dt.time | None,
    end_time: dt.time | None,
    reason: str,
    now: dt.datetime,
) -> tuple[Closure, list[Outcome]]:
    """Block a counter (or, for an office lead, the whole office) on a day, all day or from–to,
    then move the bookings it hits to another counter or offer their citizens new times.

    A block that overlaps an existing one of the same counter (or a closure of the whole office)
    is refused, naming the existing one: the clerk changes that one instead of stacking blocks."""
    require_office(user=user, office=office)
    if not may_block(user, office, whole_office=counter is None):
        raise ClerkError(ErrorCode.FORBIDDEN, _("Only an office lead can close the whole office."), field="counter")
    if counter is not None and counter.office_id != office.pk:
        raise ClerkError(ErrorCode.INVALID, _("This counter belongs to another office."), field="counter")
    reason = (reason or "").replace("\x00", "").strip()
    errors: dict[str, list] = {}
    if not reason or len(reason) > REASON_MAX:
        errors["reason"] = [_("Please give a reason (at most %(max)s characters).") % {"max": REASON_MAX}]
    if (start_time is None) != (end_time is None):
        errors["start_time"] = [_("Give both times, or neither to block the whole day.")]
    elif start_time is not None and end_time is not None and start_time >= end_time:
        errors["end_time"] = [_("The end must be after the start.")]
    if day < today(now):
        errors["day"] = [_("A day in the past cannot be blocked.")]
    if errors:
        raise ClerkError(ErrorCode.INVALID, _("Please correct the marked fields."), errors=errors)

    closure = Closure(
        office=office,
        counter=counter,
        start_date=day,
        end_date=day,
        start_time=start_time,
        end_time=end_time,
        reason=reason,
        created_by=user,
    )
    with transaction.atomic():
        # Serialised with bookings at this office and with a colleague blocking the same counter.
        booking.lock_office(office)
        for other in Closure.objects.filter(office=office, start_date__lte=day, end_date__gte=day).select_related(
            "counter"
        ):
            if other.counter_id in (None, closure.counter_id) and other.overlaps(closure):
                raise ClerkError(ErrorCode.OVERLAP, overlap_message(other), closure=other)
        try:
            closure.full_clean()
        except ValidationError as error:
            raise ClerkError(
                ErrorCode.INVALID, _("Please correct the marked fields."), errors=error.message_dict
            ) from error
        closure.save()
    return closure, relocate_after_closure(closure=closure, now=now, user=user)


def describe_closure(closure: Closure) -> str:
    what = closure.counter.name if closure.counter else gettext("The whole office")
    day = formats.date_format(closure.start_date, "SHORT_DATE_FORMAT")
    if closure.end_date != closure.start_date:
        day += "–" + formats.date_format(closure.end_date, "SHORT_DATE_FORMAT")
    if closure.is_whole_day:
        when = gettext("%(day)s, all day") % {"day": day}
    else:
        assert closure.start_time is not None and closure.end_time is not None  # both, or neither
        when = gettext("%(day)s, %(start)s–%(end)s") % {
            "day": day,
            "start": closure.start_time.strftime("%H:%M"),
            "end": closure.end_time.strftime("%H:%M"),
        }
    return f"{what}: {when} ({closure.reason})"


def overlap_message(other: Closure) -> str:
    return gettext(
        "This overlaps a block that already exists – %(existing)s. Nothing was blocked: change or remove "
        "the existing block, or choose a time outside it."
    ) % {"existing": describe_closure(other)}


def relocate(*, user, closure: Closure, now: dt.datetime) -> list[Outcome]:
    """Run the relocation again for an existing closure, e.g. one an administrator entered in the
    admin: bookings that now fit on another counter move; new offers go only to citizens who have
    not had one yet."""
    require_office(user=user, office=closure.office)
    if not may_block(user, closure.office, whole_office=closure.counter_id is None):
        raise ClerkError(ErrorCode.FORBIDDEN, _("Only an office lead can act on a closure of the whole office."))
    return relocate_after_closure(closure=closure, now=now, user=user)


def hours_offices_for(user) -> QuerySet[Office]:
    """The offices whose hours `user` may configure (`may_edit_hours`), for the staff area's links:
    an administration's administrator reaches them without working at any of them."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Office.objects.none()
    if user.is_superuser:
        return Office.objects.all()
    return Office.objects.filter(
        Q(memberships__user=user, memberships__role=Membership.Role.OFFICE_LEAD)
        | Q(administration__managers__user=user)
    ).distinct()


def may_edit_hours(user, office: Office) -> bool:
    """Who configures an office's opening hours, closures and holiday openings in the staff area:
    its office leads, the administrators of its administration (AdministrationManager) and
    superusers; not its clerks, not the partner's staff."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return (
        Membership.objects.filter(user=user, office=office, role=Membership.Role.OFFICE_LEAD).exists()
        or office.administration.managers.filter(user=user).exists()
    )
