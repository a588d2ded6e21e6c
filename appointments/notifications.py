"""The outbox: messages are rows written in the transaction of the change that causes them; the
dispatcher sends due rows and marks them sent. A broker or mail server that is down delays mail,
it never loses it and never blocks a booking.
"""
from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from .calendar import appointment_ics
from .models import Appointment, Notification

log = logging.getLogger(__name__)

CLAIM_SECONDS = 300


def queue(appointment: Appointment, kind: str, *, due_at: dt.datetime, token: str | None = None) -> Notification:
    """Write a message to the outbox; the dispatcher is nudged once the transaction commits."""
    payload = {"token": token} if token else {}
    notification = Notification.objects.create(appointment=appointment, kind=kind, due_at=due_at, payload=payload)
    transaction.on_commit(trigger_dispatch)
    return notification


def drop_pending(appointment: Appointment, kinds=None) -> int:
    qs = Notification.objects.filter(appointment=appointment, state=Notification.State.PENDING)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs.update(state=Notification.State.DROPPED, payload={})


def trigger_dispatch() -> None:
    """Ask the worker to send now. If the broker is down, the periodic sweep sends later."""
    from .tasks import send_due_notifications

    try:
        send_due_notifications.delay()
    except Exception:  # noqa: BLE001 - a broker outage must never fail the booking that queued mail
        log.warning("could not reach the task broker; the outbox sweep will send the message")


def links(appointment: Appointment, token: str | None) -> dict[str, str]:
    if not token:
        return {}
    base = settings.PORTAL_BASE_URL
    query = f"?token={token}"
    return {
        "confirm_url": base + reverse("appointments:confirm", args=[appointment.reference]) + query,
        "manage_url": base + reverse("appointments:manage", args=[appointment.reference]) + query,
        "ics_url": base + reverse("appointments:ics", args=[appointment.reference]) + query,
    }


def build_message(notification: Notification) -> EmailMultiAlternatives:
    appointment = notification.appointment
    with translation.override(appointment.language or settings.LANGUAGE_CODE):
        context = {
            "appointment": appointment,
            "office": appointment.office,
            "services": [item.service for item in appointment.items.select_related("service")],
            "documents": documents_for(appointment),
            "kind": notification.kind,
            **links(appointment, notification.payload.get("token")),
        }
        subject = render_to_string(f"emails/{notification.kind}_subject.txt", context).strip()
        text = render_to_string(f"emails/{notification.kind}.txt", context)
        html = render_to_string(f"emails/{notification.kind}.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[appointment.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    # No charset in these types: Django adds one, and a second would make the header invalid.
    if notification.kind in (Notification.Kind.CONFIRMATION, Notification.Kind.RESCHEDULE):
        message.attach("termin.ics", appointment_ics(appointment), "text/calendar; method=PUBLISH")
    elif notification.kind == Notification.Kind.CANCELLATION:
        message.attach(
            "termin.ics", appointment_ics(appointment, cancel=True), "text/calendar; method=CANCEL"
        )
    return message


def documents_for(appointment: Appointment):
    """The documents for all services of the appointment, each once, in checklist order."""
    from offices.models import Document

    return list(Document.objects.filter(services__in=appointment.items.values("service")).distinct())


def _claim(now: dt.datetime, limit: int) -> list[int]:
    """Claim due rows so that two dispatchers never send the same one."""
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(state=Notification.State.PENDING, due_at__lte=now)
            .exclude(claimed_until__gt=now)
            .order_by("due_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        Notification.objects.filter(id__in=ids).update(claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS))
    return ids


def send_due(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """Send the messages that are due; return how many were sent."""
    now = now or timezone.now()
    sent = 0
    for notification_id in _claim(now, limit):
        notification = Notification.objects.select_related("appointment", "appointment__office").get(
            pk=notification_id
        )
        if not notification.appointment.email:
            Notification.objects.filter(pk=notification_id).update(state=Notification.State.DROPPED, payload={})
            continue
        try:
            build_message(notification).send()
        except Exception as exc:  # noqa: BLE001 - retried by the next sweep; the row keeps the error
            Notification.objects.filter(pk=notification_id).update(
                attempts=notification.attempts + 1, last_error=str(exc)[:2000], claimed_until=None
            )
            log.warning("sending notification %s failed: %s", notification_id, type(exc).__name__)
            continue
        Notification.objects.filter(pk=notification_id, state=Notification.State.PENDING).update(
            state=Notification.State.SENT, sent_at=timezone.now(), payload={}, attempts=notification.attempts + 1
        )
        sent += 1
    return sent
