"""Appointments (with their services) and the outbox of messages about them."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from offices.models import Administration, Counter, Municipality, Office, Service


class Status(models.TextChoices):
    HELD = "held", _("held")
    UNCONFIRMED = "unconfirmed", _("unconfirmed")
    CONFIRMED = "confirmed", _("confirmed")
    CHECKED_IN = "checked_in", _("checked in")
    COMPLETED = "completed", _("completed")
    NO_SHOW = "no_show", _("no-show")
    CANCELLED = "cancelled", _("cancelled")
    EXPIRED = "expired", _("expired")


# Statuses that occupy their counter. The PostgreSQL exclusion constraint (migration 0002) lists
# the same statuses: change both together.
LIVE_STATUSES = (Status.HELD, Status.UNCONFIRMED, Status.CONFIRMED, Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW)
# Statuses whose occupation ends when `hold_expires_at` has passed.
EXPIRING_STATUSES = (Status.HELD, Status.UNCONFIRMED)
# Statuses that gave their counter back: every status not in LIVE_STATUSES.
RELEASED_STATUSES = (Status.CANCELLED, Status.EXPIRED)
# Statuses in which the citizen may still cancel or move a booking online (before its start).
CHANGEABLE_STATUSES = (Status.UNCONFIRMED, Status.CONFIRMED)


class VisitOutcome(models.TextChoices):
    """How a visit ended, recorded by the clerk with the completion (`Appointment.outcome`)."""

    COMPLETED = "completed", _("completed")
    DOCUMENTS_INCOMPLETE = "documents_incomplete", _("documents incomplete – new appointment needed")
    REFERRED = "referred", _("referred to another authority")
    ABORTED = "aborted", _("aborted")


class CancelReason(models.TextChoices):
    """Why staff cancelled a booking on the citizen's behalf. The label is the only thing of the
    clerk's choice that the cancellation mail carries: written for the citizen to read."""

    REQUESTED = "requested", _("at the applicant's request")
    DUPLICATE = "duplicate", _("duplicate booking")
    OTHER_AUTHORITY = "other_authority", _("another registration authority is responsible")
    OFFICE = "office", _("the office cannot keep the appointment")


class Channel(models.TextChoices):
    ONLINE = "online", _("online")
    API = "api", _("API")
    COUNTER = "counter", _("at the counter")
    PHONE = "phone", _("by phone")


class AppointmentQuerySet(models.QuerySet):
    """The status rules of `Appointment` as queries: each method here has its twin on the model."""

    def hold_expired(self, now):
        """Holds and unconfirmed bookings whose time ran out (`Appointment.hold_expired`)."""
        return self.filter(status__in=EXPIRING_STATUSES, hold_expires_at__lte=now)

    def occupying(self, now):
        """Appointments that hold their counter at `now` (`Appointment.occupies_counter`)."""
        return self.filter(status__in=LIVE_STATUSES).exclude(status__in=EXPIRING_STATUSES, hold_expires_at__lte=now)

    def changeable(self, now):
        """Bookings the citizen may still cancel or move online (`Appointment.is_changeable`)."""
        return self.filter(status__in=CHANGEABLE_STATUSES, start__gt=now).exclude(
            status__in=EXPIRING_STATUSES, hold_expires_at__lte=now
        )

    def overlapping(self, start, end):
        return self.filter(start__lt=end, end__gt=start)

    def update_with_history(self, *, user=None, skip_locked: bool = False, **changes) -> int:
        """`update()` that also writes the audit trail: a queryset update sends no signal, so
        django-simple-history would not see it. The rows are locked first (in id order) and only
        those are updated, so the history holds exactly the rows this update changed, as the
        database has them afterwards. `skip_locked` leaves a row that another transaction is
        changing to the next run (for sweeps, which must not wait). `user` is named as the author.
        Returns the number of rows changed."""
        with transaction.atomic():
            ids = list(
                self.select_related(None)
                .select_for_update(skip_locked=skip_locked)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            if not ids:
                return 0
            changed = self.model._base_manager.filter(pk__in=ids)
            changed.update(**changes)
            rows = list(changed.order_by("pk"))
            if getattr(user, "is_authenticated", False):
                for row in rows:
                    row._history_user = user
            self.model.history.bulk_history_create(rows, update=True)
        return len(rows)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Personal data of an appointment: erased after the retention period, never copied into its history.
PERSONAL_FIELDS = [
    "name",
    "email",
    "email_key",
    "phone",
    "token_hash",
    "hold_token_hash",
    "note",
    "client_address_key",
    "client_network_key",
]


class Appointment(models.Model):
    """One counter for one interval [start, end), for a citizen's services and vehicles.

    A finished visit has the status COMPLETED whatever its end, and its `outcome` says how it ended
    (completed, documents incomplete, referred, aborted); the outcome is blank until then. So the
    statuses stay what they were: LIVE_STATUSES and the PostgreSQL exclusion constraint (migration
    0002), which list statuses, need no change, and the reports split the finished visits by
    outcome. A visit completed before outcomes were recorded has the outcome "completed".
    """

    reference = models.CharField(_("booking reference"), max_length=12, unique=True)
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("office"))
    counter = models.ForeignKey(
        Counter, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("counter")
    )
    start = models.DateTimeField(_("start"), db_index=True)
    end = models.DateTimeField(_("end"))
    vehicles = models.PositiveSmallIntegerField(_("vehicles"), default=1)
    home_administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="+", verbose_name=_("home administration")
    )
    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, related_name="+", verbose_name=_("municipality of residence")
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.HELD, db_index=True)
    outcome = models.CharField(_("outcome"), max_length=24, choices=VisitOutcome.choices, blank=True)
    hold_expires_at = models.DateTimeField(_("hold expires at"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.ONLINE)
    language = models.CharField(_("language"), max_length=5, default="de")
    # Personal data: erased after the retention period.
    name = models.CharField(_("name"), max_length=150, blank=True)
    email = models.EmailField(_("e-mail"), max_length=254, blank=True)
    # The mailbox behind `email` (hoarding.normalise_email): the cap on upcoming bookings per
    # address counts by it, so "c.ap+1@gmail.com" is not a new address.
    email_key = models.CharField(max_length=254, blank=True, editable=False)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    token_hash = models.CharField(_("manage token (hash)"), max_length=64, blank=True, editable=False)
    # The browser session's secret for a hold; it stays valid after submitting so that a
    # double-clicked submit can be recognised, but it never confirms or manages a booking.
    hold_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    # Keyed digests of the client's address and network (hoarding.py), kept only while a hold or
    # an unconfirmed booking counts against the client's budget: confirming erases them.
    client_address_key = models.CharField(max_length=32, blank=True, editable=False)
    client_network_key = models.CharField(max_length=32, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    # The clerks' own remarks ("brings a power of attorney"); never shown to the citizen.
    note = models.TextField(_("note"), blank=True)
    # Its counter was blocked and no other counter was free at the time: the citizen was offered
    # other times (relocation.py). The schedule shows it while the booking still sits in the block.
    relocation_offered_at = models.DateTimeField(_("new time offered"), null=True, blank=True)

    objects = AppointmentQuerySet.as_manager()
    # Who changed what and when (status, times, counter). The personal fields are left out, so the
    # history holds nothing that the retention sweep would have to erase.
    history = HistoricalRecords(excluded_fields=PERSONAL_FIELDS)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["start", "counter"]
        indexes = [
            models.Index(fields=["counter", "start"], name="appointment_counter_start"),
            # The cap on upcoming bookings per address looks them up by the normalised address at
            # every booking: without it, a scan of the whole table.
            models.Index(fields=["email_key"], name="appointment_email_key"),
            # The hoarding budget counts the pending rows of a client's address and network.
            models.Index(
                fields=["client_network_key"],
                name="appointment_pending_network",
                condition=Q(status__in=["held", "unconfirmed"]),
            ),
            models.Index(
                fields=["client_address_key"],
                name="appointment_pending_address",
                condition=Q(status__in=["held", "unconfirmed"]),
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="appointment_start_before_end"),
            models.CheckConstraint(condition=Q(vehicles__gte=1), name="appointment_vehicles_positive"),
        ]
        permissions = [("view_reports", _("Can view the reports on use and the cost settlement"))]

    def __str__(self):
        return f"{self.reference} {self.start:%d.%m.%Y %H:%M}"

    def token_matches(self, token: str) -> bool:
        # Constant-time comparison: the hash of a guess must not leak through timing.
        return bool(self.token_hash) and hmac.compare_digest(self.token_hash, hash_token(token or ""))

    def hold_token_matches(self, token: str) -> bool:
        return bool(self.hold_token_hash) and hmac.compare_digest(self.hold_token_hash, hash_token(token or ""))

    @property
    def duration_minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)

    # The status rules. The caller passes `now` (services take it, entry points read the clock);
    # AppointmentQuerySet's hold_expired, occupying and changeable ask the same in the database.

    def hold_expired(self, now) -> bool:
        """A hold or an unconfirmed booking whose time ran out: it no longer occupies its counter,
        even before the sweep marks it expired."""
        return self.status in EXPIRING_STATUSES and self.hold_expires_at is not None and self.hold_expires_at <= now

    def is_expired(self, now) -> bool:
        """Marked expired, or a hold or unconfirmed booking whose time ran out."""
        return self.status == Status.EXPIRED or self.hold_expired(now)

    def occupies_counter(self, now) -> bool:
        """Live and not a hold that ran out: its counter is taken for [start, end)."""
        return self.status in LIVE_STATUSES and not self.hold_expired(now)

    def is_changeable(self, now) -> bool:
        """The citizen may still cancel or move it online: unconfirmed (and still in time to be
        confirmed) or confirmed, and not yet begun."""
        return self.status in CHANGEABLE_STATUSES and self.start > now and not self.hold_expired(now)


class AppointmentService(models.Model):
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="items")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+", verbose_name=_("service"))
    vehicles = models.PositiveSmallIntegerField(_("vehicles"), default=1)
    minutes = models.PositiveSmallIntegerField(_("minutes"))

    class Meta:
        verbose_name = _("service of an appointment")
        verbose_name_plural = _("services of an appointment")
        constraints = [models.UniqueConstraint(fields=["appointment", "service"], name="appointment_service_unique")]

    def __str__(self):
        return f"{self.service} × {self.vehicles}"


class Notification(models.Model):
    """The outbox: a message is written in the transaction that causes it and sent by the worker."""

    class Kind(models.TextChoices):
        OPT_IN = "opt_in", _("confirm your booking")
        CONFIRMATION = "confirmation", _("booking confirmed")
        REMINDER = "reminder", _("reminder")
        CANCELLATION = "cancellation", _("cancellation")
        RESCHEDULE = "reschedule", _("appointment moved")
        RELOCATION_OFFER = "relocation_offer", _("counter closed: new time offered")

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        DROPPED = "dropped", _("dropped")

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    due_at = models.DateTimeField(_("due at"))
    # Secrets that only the message may carry (the manage link); erased once the message is sent.
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["state", "due_at"], name="notification_due")]

    def __str__(self):
        return f"{self.get_kind_display()} – {self.appointment.reference}"


class AppointmentEvent(models.Model):
    """Who changed an appointment and when: one row per status change by staff (check-in, outcome,
    undo), and for notes, walk-in bookings and moves after a closure (status unchanged)."""

    appointment = models.ForeignKey(
        Appointment, on_delete=models.CASCADE, related_name="events", verbose_name=_("appointment")
    )
    at = models.DateTimeField(_("at"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    from_status = models.CharField(_("from status"), max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to status"), max_length=20, choices=Status.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    # An undo points at the change it takes back, so that undoing twice steps back twice.
    reverts = models.OneToOneField(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="reverted_by", editable=False
    )

    class Meta:
        verbose_name = _("appointment event")
        verbose_name_plural = _("appointment events")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.appointment.reference} {self.from_status or '–'} → {self.to_status}"


class Heartbeat(models.Model):
    """When a periodic job last ran, for /healthz (several web hosts read it, so not a cache)."""

    name = models.CharField(max_length=40, unique=True)
    at = models.DateTimeField()

    def __str__(self):
        return f"{self.name}: {self.at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def beat(cls, name: str, at) -> None:
        cls.objects.update_or_create(name=name, defaults={"at": at})


class BlockedAttempt(models.Model):
    """How many attempts the defences against bots and hoarding refused, per day and reason.
    Only numbers: no address, no e-mail."""

    day = models.DateField(_("day"))
    reason = models.CharField(_("reason"), max_length=40)
    count = models.PositiveIntegerField(_("count"), default=0)

    class Meta:
        verbose_name = _("blocked attempt")
        verbose_name_plural = _("blocked attempts")
        ordering = ["-day", "reason"]
        constraints = [models.UniqueConstraint(fields=["day", "reason"], name="blocked_attempt_unique")]

    def __str__(self):
        return f"{self.day}: {self.reason} × {self.count}"


class SpentCaptcha(models.Model):
    """A captcha solution (or question) that was used: each counts once. In the database, not in
    Redis, so that a Redis outage or restart cannot make a solved challenge usable again. Only a
    digest is kept, until the challenge has expired anyway; the sweep deletes the row then."""

    digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.digest[:12]}… until {self.expires_at:%Y-%m-%d %H:%M:%S}"


class FreedTime(models.Model):
    """A time a citizen's booking was moved away from. Online it stays taken for
    CANCELLED_SLOT_DELAY_MINUTES like a cancelled one, so that a seller cannot move a booking away
    for a buyer who is waiting for the time. Staff can book it at once. No personal data; the sweep
    deletes rows after a day."""

    counter = models.ForeignKey(Counter, on_delete=models.CASCADE, related_name="+", verbose_name=_("counter"))
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    freed_at = models.DateTimeField(_("freed at"), db_index=True)

    class Meta:
        verbose_name = _("time freed by a move")
        verbose_name_plural = _("times freed by a move")

    def __str__(self):
        return f"{self.counter_id} {self.start:%Y-%m-%d %H:%M} (freed {self.freed_at:%H:%M})"
