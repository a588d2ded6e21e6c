"""Appointments and the outbox in the admin: read mostly; changes go through the service functions."""
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from .models import Appointment, AppointmentEvent, AppointmentService, BlockedAttempt, Notification


class AppointmentServiceInline(admin.TabularInline):
    model = AppointmentService
    extra = 0
    can_delete = False
    readonly_fields = ("service", "vehicles", "minutes")

    def has_add_permission(self, request, obj=None):
        return False


class NotificationInline(admin.TabularInline):
    model = Notification
    extra = 0
    can_delete = False
    fields = ("kind", "state", "due_at", "attempts", "sent_at", "last_error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class AppointmentEventInline(admin.TabularInline):
    """Who changed the appointment in the staff area, and when (written by appointments.clerk)."""

    model = AppointmentEvent
    fk_name = "appointment"
    extra = 0
    can_delete = False
    fields = ("at", "user", "from_status", "to_status", "note")
    readonly_fields = fields
    ordering = ("at", "id")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ("reference", "start", "office", "counter", "status", "home_administration", "channel")
    list_filter = ("status", "office", "home_administration", "channel")
    search_fields = ("reference",)
    date_hierarchy = "start"
    list_select_related = ("office", "counter", "home_administration")
    inlines = [AppointmentServiceInline, AppointmentEventInline, NotificationInline]
    # Times, counters and statuses change only through the booking service, which keeps the
    # outbox and the no-overlap rule consistent.
    readonly_fields = (
        "reference", "office", "counter", "start", "end", "vehicles", "home_administration", "municipality",
        "status", "hold_expires_at", "channel", "language", "created_at", "updated_at", "submitted_at",
        "confirmed_at", "cancelled_at", "relocation_offered_at", "note",
    )
    fields = readonly_fields + ("name", "email", "phone")

    def has_add_permission(self, request):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("appointment", "kind", "state", "due_at", "attempts", "sent_at")
    list_filter = ("state", "kind")
    search_fields = ("appointment__reference",)
    readonly_fields = ("appointment", "kind", "due_at", "attempts", "last_error", "sent_at", "created_at", "state")
    exclude = ("payload", "claimed_until")
    actions = ["requeue"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Send the selected failed messages again"))
    def requeue(self, request, queryset):
        count = queryset.filter(state=Notification.State.FAILED).update(
            state=Notification.State.PENDING, attempts=0, claimed_until=None
        )
        self.message_user(request, _("%(count)s messages queued again.") % {"count": count}, messages.SUCCESS)


@admin.register(BlockedAttempt)
class BlockedAttemptAdmin(admin.ModelAdmin):
    """What the defences refused, per day and reason (rate limits, cap per address, honeypot)."""

    list_display = ("day", "reason", "count")
    list_filter = ("reason",)
    date_hierarchy = "day"
    readonly_fields = ("day", "reason", "count")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
