"""Appointments and the outbox in the admin: read mostly; changes go through the service functions.

Also the appointments' side of the office page: its capacity for the coming weeks, for the saved
configuration and, with "Preview capacity", for the changes on the page before they are saved
(offices knows nothing of appointments, so the office page is extended from here)."""

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp import admin as otp_totp_admin
from django_otp.plugins.otp_totp.models import TOTPDevice

from appointments.domain.capacity import PREVIEW_DAYS, office_capacity, preview_schedule
from appointments.domain.names import clean_name
from appointments.domain.relocation import affected
from appointments.models import Appointment, AppointmentEvent, AppointmentService, BlockedAttempt, Notification
from ikz_portal import clock
from ikz_portal.clock import today
from offices.admin import OfficeAdmin
from offices.audit import AuditedAdmin
from offices.models import Closure, Counter, HolidayOpening, Office, OpeningHours


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
    """Who changed the appointment in the staff area, and when (written by appointments.domain.clerk)."""

    model = AppointmentEvent
    fk_name = "appointment"
    extra = 0
    can_delete = False
    fields = ("at", "user", "from_status", "to_status", "note")
    readonly_fields = fields
    ordering = ("at", "id")

    def has_add_permission(self, request, obj=None):
        return False


class AppointmentAdminForm(forms.ModelForm):
    """The contact fields follow the same name rule as the citizen's form, the API and the clerks'
    bookings: an administrator correcting a name cannot store what a citizen could not."""

    class Meta:
        model = Appointment
        fields = ("name", "email", "phone")

    def clean_name(self):
        value = self.cleaned_data.get("name", "")
        if not value and not self.instance.name:
            return value  # erased after the retention period: stays empty
        return clean_name(value)


@admin.register(Appointment)
class AppointmentAdmin(AuditedAdmin):
    """Its "History" lists every status change with who and when (the personal fields are not in it)."""

    list_display = ("reference", "start", "office", "counter", "status", "home_administration", "channel")
    list_filter = ("status", "office", "home_administration", "channel")
    search_fields = ("reference",)
    date_hierarchy = "start"
    list_select_related = ("office", "counter", "home_administration")
    inlines = [AppointmentServiceInline, AppointmentEventInline, NotificationInline]
    # Times, counters and statuses change only through the booking service, which keeps the
    # outbox and the no-overlap rule consistent.
    readonly_fields = (
        "reference",
        "office",
        "counter",
        "start",
        "end",
        "vehicles",
        "home_administration",
        "municipality",
        "status",
        "hold_expires_at",
        "channel",
        "language",
        "created_at",
        "updated_at",
        "submitted_at",
        "confirmed_at",
        "cancelled_at",
        "relocation_offered_at",
        "note",
    )
    fields = (*readonly_fields, "name", "email", "phone")
    form = AppointmentAdminForm

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


# --- the office page's capacity ---------------------------------------------------------------

PREVIEW = "_preview_capacity"


class _PreviewForm:
    """The office form of a preview: validated as usual, but never valid for saving, so that the
    admin renders the page again with what was typed instead of saving it."""

    def is_valid(self):
        self.preview_valid = super().is_valid()
        return False


def _kept_forms(formset):
    """The rows a save would keep: neither deleted nor empty extra rows."""
    for form in formset.forms:
        if form.instance.pk is None and not form.has_changed():
            continue
        if formset.can_delete and formset._should_delete_form(form):
            continue
        yield form


class OfficeCapacityAdmin(OfficeAdmin):
    change_form_template = "admin/offices/office/capacity_change_form.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if request.method == "POST" and PREVIEW in request.POST:
            return type(form.__name__, (_PreviewForm, form), {})
        return form

    def save_related(self, request, form, formsets, change):
        """After saving closures: name the appointments they hit and where staff move them (the
        staff area's closures page runs the relocation and shows its outcome)."""
        super().save_related(request, form, formsets, change)
        for formset in formsets:
            if formset.model is not Closure:
                continue
            for closure in [f.instance for f in _kept_forms(formset) if f.has_changed() and f.instance.pk]:
                count = len(affected(closure, clock.now()))
                if count:
                    messages.warning(
                        request,
                        format_html(
                            '{} <a href="{}">{}</a>',
                            ngettext(
                                "%(count)s booked appointment lies in the closure “%(closure)s”.",
                                "%(count)s booked appointments lie in the closure “%(closure)s”.",
                                count,
                            )
                            % {"count": count, "closure": closure},
                            reverse("clerk:closures", args=[form.instance.slug]),
                            _("Move them or offer new times in the staff area"),
                        ),
                    )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if change and obj is not None:
            context.update(self.capacity_context(request, context, obj))
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def capacity_context(self, request, context, office: Office) -> dict:
        now = clock.now()
        first = today(now)
        last = first + dt.timedelta(days=PREVIEW_DAYS - 1)
        is_preview = request.method == "POST" and PREVIEW in request.POST
        schedule = None
        if is_preview:
            form = context["adminform"].form
            formsets = {f.formset.model: f.formset for f in context.get("inline_admin_formsets", [])}
            if not getattr(form, "preview_valid", False) or not all(f.is_valid() for f in formsets.values()):
                return {"capacity": None, "capacity_preview": True, "capacity_problem": True}
            schedule = preview_schedule(
                office=form.instance,
                counters=[
                    (f.instance.pk, f.instance.name, f.instance.is_active) for f in _kept_forms(formsets[Counter])
                ],
                opening_hours=[f.instance for f in _kept_forms(formsets[OpeningHours])],
                closures=[f.instance for f in _kept_forms(formsets[Closure])],
                holiday_openings=[f.instance for f in _kept_forms(formsets[HolidayOpening])],
                date_from=first,
                date_to=last,
            )
        days = office_capacity(office=office, date_from=first, days=PREVIEW_DAYS, now=now, schedule=schedule)
        return {
            "capacity": days,
            "capacity_preview": is_preview,
            "capacity_first": first,
            "capacity_last": last,
            "capacity_outside": sum(day.outside for day in days),
            "closures_url": reverse("clerk:closures", args=[office.slug]),
            "block_url": reverse("clerk:block", args=[office.slug]),
            "hours_url": reverse("clerk:hours", args=[office.slug]),
            "preview_name": PREVIEW,
        }


# Replaces the offices app's registration: the same page, plus the capacity.
admin.site.unregister(Office)
admin.site.register(Office, OfficeCapacityAdmin)


class TOTPDeviceAdmin(otp_totp_admin.TOTPDeviceAdmin):
    """django-otp's page for setting up a staff member's authenticator app. Its QR code and
    configuration views look the device up before anything else and answer a server error for an
    id that does not exist: here the permission comes first, then a 404."""

    def _check(self, request, pk):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        get_object_or_404(TOTPDevice, pk=pk)

    def config_view(self, request, pk):
        self._check(request, pk)
        return super().config_view(request, pk)

    def qrcode_view(self, request, pk):
        self._check(request, pk)
        return super().qrcode_view(request, pk)


admin.site.unregister(TOTPDevice)
admin.site.register(TOTPDevice, TOTPDeviceAdmin)


# --- the site ------------------------------------------------------------------------------------

SITE_NAME = _("Vehicle registration Vorderpfalz – administration")
admin.site.site_header = admin.site.site_title = admin.site.index_title = SITE_NAME

# The apps' own machinery (login locks, authenticator devices, history tables, task schedules) is
# for superusers: administrators configure offices and services, not the portal's plumbing.
TECHNICAL_APPS = ("axes", "otp_totp", "otp_static", "simple_history", "django_celery_beat", "django_celery_results")


def _superusers_only(model_admin: admin.ModelAdmin) -> None:
    def superuser(request, obj=None):
        return request.user.is_active and request.user.is_superuser

    model_admin.has_module_permission = superuser  # type: ignore[method-assign]
    for name in ("has_view_permission", "has_change_permission", "has_delete_permission"):
        setattr(model_admin, name, superuser)
    model_admin.has_add_permission = lambda request, *args: superuser(request)  # type: ignore[method-assign]


for _model, _model_admin in list(admin.site._registry.items()):
    if _model._meta.app_label in TECHNICAL_APPS:
        _superusers_only(_model_admin)
