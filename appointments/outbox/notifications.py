"""The outbox: messages are rows written in the transaction of the change that causes them; the
dispatcher sends due rows and marks them sent. A broker or mail server that is down delays mail,
it never loses it and never blocks a booking.

The guarantee: every pending row is sent, or after NOTIFICATION_MAX_ATTEMPTS failures marked
failed and shown in the admin, where it can be queued again. A row is claimed before it is sent, so
two dispatchers never send it at the same time; a duplicate is possible only when a dispatcher dies
after the mail server accepted the message and before the row was marked sent (its claim then
runs out and the row is sent again).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from email.mime.image import MIMEImage
from email.utils import formataddr, parseaddr
from typing import Any
from urllib.parse import urlencode, urlsplit

import segno
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import SafeMIMEMultipart
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from appointments import shared_cache
from appointments.models import Appointment, CancelReason, Notification, Status
from appointments.outbox.ics import appointment_ics
from ikz_portal import clock
from offices import config
from offices.hours import BERLIN
from offices.models import Document, Office, Service

log = logging.getLogger(__name__)


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


# Set while a send task is queued and has not started yet (with OUTBOX_SINGLE_TRIGGER).
DISPATCH_QUEUED = "outbox:dispatch-queued"


def trigger_dispatch() -> None:
    """Ask the worker to send now. If the broker is down, the periodic sweep sends later.

    With OUTBOX_SINGLE_TRIGGER (on with Redis, whose cache the web and worker processes share), a
    task that is queued and has not started is enough for every row committed meanwhile: the task
    clears the mark before it looks for due rows (`dispatch_started`), so it finds them. A rush of
    bookings then queues a few tasks instead of one per booking. The mark expires by itself, so a
    lost task delays mail by OUTBOX_TRIGGER_SECONDS at most (and the sweep runs every minute).

    While Redis is down the booking must not wait for it: publishing gives up after one short
    attempt (CELERY_TASK_PUBLISH_RETRY_POLICY, the Redis timeouts), and after a failure this process
    does not try again for REDIS_RETRY_SECONDS (the broker is the same Redis as a rule).
    """
    from appointments.tasks import send_due_notifications

    if not shared_cache.usable():
        return
    single = settings.OUTBOX_SINGLE_TRIGGER
    try:
        if single and not cache.add(DISPATCH_QUEUED, 1, timeout=settings.OUTBOX_TRIGGER_SECONDS):
            return
        send_due_notifications.delay()
    except Exception as error:  # noqa: BLE001 - a broker outage must never fail the booking that queued mail
        shared_cache.failed(error, "the outbox sweep will send the message")
        if single:
            _clear_dispatch_mark()


def dispatch_started() -> None:
    """A send task begins: from now on, a newly committed row needs a task of its own."""
    if settings.OUTBOX_SINGLE_TRIGGER:
        _clear_dispatch_mark()


def _clear_dispatch_mark() -> None:
    if not shared_cache.usable():
        return  # the mark expires by itself
    try:
        cache.delete(DISPATCH_QUEUED)
    except Exception:  # noqa: BLE001 - the mark expires by itself; the sweep sends meanwhile
        log.warning("could not reach the cache to clear the dispatch mark")


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


def checkin_url(appointment: Appointment) -> str:
    """The clerks' check-in page of a booking: what the QR code in the confirmation encodes. It
    carries the reference only (no personal data) and opens only for a clerk of the office."""
    return settings.PORTAL_BASE_URL + reverse("clerk:checkin", args=[appointment.reference])


QR_SCALE, QR_BORDER = 5, 4  # pixels per module; the quiet zone of four modules that scanners need


def checkin_qr_image(appointment: Appointment) -> tuple[MIMEImage, int]:
    """The check-in QR code as an inline image for the HTML part (cid:, not a data: URI, which
    several mail programs block), and its width in pixels."""
    qr = segno.make(checkin_url(appointment), error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=QR_SCALE, border=QR_BORDER)
    image = MIMEImage(buffer.getvalue(), "png")
    image.add_header("Content-ID", f"<{checkin_qr_cid(appointment)}>")
    image.add_header("Content-Disposition", "inline", filename=f"checkin-{appointment.reference}.png")
    width, _height = qr.symbol_size(scale=QR_SCALE, border=QR_BORDER)
    return image, int(width)


def checkin_qr_cid(appointment: Appointment) -> str:
    return f"checkin-{appointment.reference}@{urlsplit(settings.PORTAL_BASE_URL).hostname or 'portal'}"


class MessageWithInlineImages(EmailMultiAlternatives):
    """HTML with images it shows inline: text/html and the images form a multipart/related part, so
    mail programs show the images in the text instead of listing them among the attachments (and
    `attachments` keeps holding only the real files, such as termin.ics)."""

    def __init__(self, *args, inline_images=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.inline_images = list(inline_images)

    def _create_mime_attachment(self, content, mimetype):
        # Django's own (private) hook for each alternative; the type stubs do not list it.
        part = super()._create_mime_attachment(content, mimetype)  # type: ignore[misc]
        if mimetype != "text/html" or not self.inline_images:
            return part
        related = SafeMIMEMultipart(_subtype="related", encoding=self.encoding or settings.DEFAULT_CHARSET)
        related.attach(part)
        for image in self.inline_images:
            related.attach(image)
        return related


def offered_slots(appointment: Appointment, payload: dict) -> list[dict]:
    """The times a relocation offer lists, each with the link that asks "move to this time?" for
    exactly that time and office (the booking's reschedule page with `office` and `start`)."""

    token = payload.get("token")
    wanted = payload.get("slots") or []
    offices = {o.slug: o for o in Office.objects.filter(slug__in={s["office"] for s in wanted})}
    result = []
    for slot in wanted:
        office = offices.get(slot["office"])
        if office is None or not token:
            continue
        start = dt.datetime.fromisoformat(slot["start"])
        query = urlencode({"token": token, "office": office.slug, "start": start.astimezone(BERLIN).isoformat()})
        page = reverse("appointments:reschedule", args=[appointment.reference])
        url = f"{settings.PORTAL_BASE_URL}{page}?{query}"
        result.append({"office": office, "start": start, "url": url})
    return result


def mail_formats() -> dict[str, str]:
    """Date formats of the active language (in build_message: the booking's), for the `date` filter:
    "Donnerstag, 3. Dezember 2026", "03.12.2026", "10:00 Uhr" in German; "Thursday, 3 December
    2026", "3 Dec 2026", "10:00" in English."""
    if (translation.get_language() or "de").startswith("de"):
        return {"day": "l, j. F Y", "short": "d.m.Y", "time": "H:i", "clock": r"H:i \U\h\r"}
    return {"day": "l, j F Y", "short": "j M Y", "time": "H:i", "clock": "H:i"}


def directions(office: Office) -> str:
    """How to find the office, in the active language; the directions are written in German, so an
    English mail shows them only where an English text exists."""
    if (translation.get_language() or "de").startswith("de"):
        return office.directions
    return getattr(office, "directions_en", "") or ""


def travel(office: Office) -> dict[str, str]:
    """Public transport, parking and accessibility in the active language only (as `directions`:
    no German line in an English mail)."""
    suffix = "de" if (translation.get_language() or "de").startswith("de") else "en"
    return {name: getattr(office, f"{name}_{suffix}", "") for name in ("public_transport", "parking", "accessibility")}


def build_message(notification: Notification) -> EmailMultiAlternatives:
    appointment = notification.appointment
    inline_images = []
    extra: dict[str, Any] = {}
    if notification.kind == Notification.Kind.CONFIRMATION:
        image, extra["checkin_qr_size"] = checkin_qr_image(appointment)
        inline_images.append(image)
        extra["checkin_qr_cid"] = checkin_qr_cid(appointment)
    elif notification.kind == Notification.Kind.RELOCATION_OFFER:
        extra["offered_slots"] = offered_slots(appointment, notification.payload)
    elif notification.payload.get("reason") in CancelReason.values:
        # Cancelled by staff for the citizen: the mail names the reason chosen from the list.
        extra["cancel_reason"] = CancelReason(notification.payload["reason"]).label
    services = services_of(appointment)
    with translation.override(appointment.language or settings.LANGUAGE_CODE):
        context = {
            "appointment": appointment,
            "office": appointment.office,
            "fmt": mail_formats(),
            "directions": directions(appointment.office),
            "travel": travel(appointment.office),
            "services": services,
            "documents": documents_of(services),
            "kind": notification.kind,
            **links(appointment, notification.payload.get("token")),
            **extra,
        }
        subject = render_to_string(f"emails/{notification.kind}_subject.txt", context).strip()
        text = render_to_string(f"emails/{notification.kind}.txt", context)
        html = render_to_string(f"emails/{notification.kind}.html", context)
    message = MessageWithInlineImages(
        subject=" ".join(subject.split()),
        body=text,
        # "Kfz-Zulassung … (Pfalz)": unquoted, mail programs would read "(Pfalz)" as a comment.
        from_email=formataddr(parseaddr(settings.DEFAULT_FROM_EMAIL)),
        to=[appointment.email],
        # Answers go to the office that performs the appointment, not to the portal's sender.
        reply_to=[appointment.office.email] if appointment.office.email else None,
        headers={"Auto-Submitted": "auto-generated"},
        inline_images=inline_images,
    )
    message.attach_alternative(html, "text/html")
    # No charset in these types: Django adds one, and a second would make the header invalid.
    if notification.kind in (Notification.Kind.CONFIRMATION, Notification.Kind.RESCHEDULE):
        message.attach("termin.ics", appointment_ics(appointment), "text/calendar; method=PUBLISH")
    elif notification.kind == Notification.Kind.CANCELLATION:
        message.attach("termin.ics", appointment_ics(appointment, cancel=True), "text/calendar; method=CANCEL")
    return message


def services_of(appointment: Appointment) -> list[Service]:
    """The services of the appointment in booking order, from the configuration in memory."""
    by_id = {service.id: service for service in config.current(now=clock.now()).services.values()}
    ids = appointment.items.order_by("id").values_list("service_id", flat=True)
    return [by_id[service_id] for service_id in ids if service_id in by_id]


def documents_of(services) -> list[Document]:
    """The documents for all these services (with their documents read), each once, in checklist order."""
    unique = {document.id: document for service in services for document in service.documents.all()}
    return sorted(unique.values(), key=lambda d: (d.position, d.name_de, d.id))


def documents_for(appointment: Appointment) -> list[Document]:
    """The documents for all services of the appointment, each once, in checklist order."""
    return documents_of(services_of(appointment))


def queue_reminders(appointment: Appointment, *, token: str | None, now: dt.datetime) -> None:
    """Reminders for a confirmed appointment, due a configurable lead before it. A reminder that
    would be due already (booked at short notice) is left out: the confirmation was just sent."""
    for hours in settings.REMINDER_LEAD_HOURS:
        due_at = appointment.start - dt.timedelta(hours=hours)
        if due_at > now:
            queue(appointment, Notification.Kind.REMINDER, due_at=due_at, token=token)


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential back-off with full jitter (Celery's own formula), at least half a minute."""
    seconds = get_exponential_backoff_interval(factor=60, retries=attempts - 1, maximum=3600, full_jitter=True)
    return dt.timedelta(seconds=max(seconds, 30))


def still_wanted(notification: Notification, now: dt.datetime) -> bool:
    """A message that has lost its point by the time it is due is dropped, not sent."""
    appointment = notification.appointment
    if not appointment.email:
        return False
    if notification.kind == Notification.Kind.REMINDER:
        return appointment.status == Status.CONFIRMED and appointment.is_changeable(now)
    if notification.kind == Notification.Kind.OPT_IN:
        return appointment.status == Status.UNCONFIRMED and not appointment.hold_expired(now)
    if notification.kind == Notification.Kind.RELOCATION_OFFER:
        # The offer asks the citizen to move the booking: pointless once that is no longer possible.
        return appointment.is_changeable(now)
    return True


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
        Notification.objects.filter(id__in=ids).update(
            claimed_until=now + dt.timedelta(seconds=settings.NOTIFICATION_CLAIM_SECONDS)
        )
    return ids


def send_due(*, now: dt.datetime | None = None, limit: int = 100) -> int:
    """Send the messages that are due; return how many were sent. One connection to the mail
    server for all of them (a TLS handshake per message would cost more than the message); after a
    failure the next message opens a new one."""
    now = now or clock.now()
    sent = 0
    connection = get_connection()
    try:
        for notification_id in _claim(now, limit):
            notification = Notification.objects.select_related("appointment", "appointment__office").get(
                pk=notification_id
            )
            if not still_wanted(notification, now):
                Notification.objects.filter(pk=notification_id).update(state=Notification.State.DROPPED, payload={})
                continue
            try:
                message = build_message(notification)
                message.connection = connection
                connection.open()  # no-op while it is open
                message.send()
            except Exception as exc:  # noqa: BLE001 - any failure is retried later; the row keeps the error
                _close_quietly(connection)
                attempts = notification.attempts + 1
                failed = attempts >= settings.NOTIFICATION_MAX_ATTEMPTS
                Notification.objects.filter(pk=notification_id).update(
                    attempts=attempts,
                    # The error class only: SMTP answers can quote the recipient's address.
                    last_error=f"{type(exc).__name__} at attempt {attempts}",
                    claimed_until=None,
                    due_at=now if failed else now + retry_delay(attempts),
                    state=Notification.State.FAILED if failed else Notification.State.PENDING,
                )
                log.warning(
                    "sending notification %s failed (%s, attempt %s)", notification_id, type(exc).__name__, attempts
                )
                continue
            Notification.objects.filter(pk=notification_id, state=Notification.State.PENDING).update(
                state=Notification.State.SENT, sent_at=clock.now(), payload={}, attempts=notification.attempts + 1
            )
            sent += 1
    finally:
        _close_quietly(connection)
    return sent


def _close_quietly(connection) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - a connection that broke is closed as far as we are concerned
        log.warning("closing the mail connection failed")
