"""Django admin for what administrators configure. The rules live in the models' clean() methods and
constraints, which the admin forms run; the one thing a model cannot see is several rows of one
form submission, which the opening-hours formset checks itself.

Every change is recorded with who and when (django-simple-history): each page's "History" lists the
changes of that row, and an office's "Changes" page those of the office with its counters, hours,
closures, holiday openings, cooperation rules and memberships, the rows edited on the office page.
An administrator of an administration (AdministrationManager) manages the memberships of that
administration's offices only."""

from __future__ import annotations

from collections import defaultdict

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.widgets import AdminTimeWidget
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from .audit import AuditedAdmin, office_changes
from .hours import public_holidays
from .models import (
    Administration,
    AdministrationManager,
    Closure,
    CooperationRule,
    Counter,
    Document,
    HolidayOpening,
    Membership,
    Municipality,
    Office,
    OpeningHours,
    Service,
    Weekday,
)
from .week import overlaps


class OpeningHoursInlineFormSet(BaseInlineFormSet):
    """Rejects rows of one submission that overlap each other for the same counter and weekday.

    OpeningHours.clean() compares a row only with rows already in the database, so two new rows
    that overlap would each pass on their own.
    """

    def clean(self):
        super().clean()
        spans_by_day = defaultdict(list)
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.errors or self._should_delete_form(form):
                continue
            data = form.cleaned_data
            if data.get("weekday") is None or data.get("opens") is None or data.get("closes") is None:
                continue  # an empty extra row
            spans_by_day[(data.get("counter"), data["weekday"])].append((data["opens"], data["closes"]))

        errors = [
            self._overlap_error(counter, weekday, first, second)
            for (counter, weekday), spans in spans_by_day.items()
            for first, second in overlaps(spans)
        ]
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def _overlap_error(counter, weekday, first, second) -> ValidationError:
        params = {
            "weekday": Weekday(weekday).label,
            "first": f"{first[0]:%H:%M}–{first[1]:%H:%M}",
            "second": f"{second[0]:%H:%M}–{second[1]:%H:%M}",
        }
        if counter is None:
            message = _("Two rows of the office's hours overlap on %(weekday)s: %(first)s and %(second)s.")
        else:
            message = _("Two rows for %(counter)s overlap on %(weekday)s: %(first)s and %(second)s.")
            params["counter"] = counter.name
        return ValidationError(message, code="overlap", params=params)


class OfficeCounterChoicesMixin:
    """On an office's page, offer only that office's counters; the model would reject others. The
    empty choice is named for what it means instead of "---------"."""

    no_counter_label = _("all counters")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "counter":
            match = request.resolver_match
            object_id = match.kwargs.get("object_id") if match else None
            # A new office has no counters yet: the rows added with it are for the whole office.
            kwargs["queryset"] = (
                Counter.objects.filter(office_id=unquote(object_id)) if object_id else Counter.objects.none()
            )
            kwargs["empty_label"] = self.no_counter_label
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class MinutesTimeInput(AdminTimeWidget):
    """Office times in hours and minutes: "08:00", not "08:00:00"."""

    def __init__(self, attrs=None, format=None):
        super().__init__(attrs=attrs, format=format or "%H:%M")


# Times without seconds on every page that edits them.
MINUTE_TIMES = {models.TimeField: {"widget": MinutesTimeInput}}


def hh_mm(value) -> str:
    return f"{value:%H:%M}" if value else ""


class CounterInline(admin.TabularInline):
    model = Counter
    fields = ("name", "bookable_online", "is_active")
    extra = 0
    # Which services a counter handles is edited on the counter's own page.
    show_change_link = True


class OpeningHoursInline(OfficeCounterChoicesMixin, admin.TabularInline):
    model = OpeningHours
    formset = OpeningHoursInlineFormSet
    fields = ("weekday", "opens", "closes", "counter")
    extra = 0
    formfield_overrides = MINUTE_TIMES


class ClosureInline(OfficeCounterChoicesMixin, admin.TabularInline):
    model = Closure
    fields = ("start_date", "end_date", "start_time", "end_time", "counter", "reason")
    extra = 0
    formfield_overrides = MINUTE_TIMES
    no_counter_label = _("whole office")


class HolidayOpeningInline(admin.TabularInline):
    model = HolidayOpening
    fields = ("date", "note")
    extra = 0


@admin.register(Administration)
class AdministrationAdmin(AuditedAdmin):
    list_display = ("name", "plate_code", "email")
    search_fields = ("name", "plate_code")
    prepopulated_fields = {"slug": ("name",)}
    # Administrations' websites are all HTTPS; also what Django 6 will assume.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Municipality)
class MunicipalityAdmin(AuditedAdmin):
    list_display = ("name", "postcode", "association", "administration")
    list_filter = ("administration", "association")
    search_fields = ("name", "postcode")
    list_select_related = ("administration",)
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Office)
class OfficeAdmin(AuditedAdmin):
    list_display = ("name", "administration", "city", "hours_are_example", "visitor_info_is_example", "is_active")
    list_filter = ("administration", "is_active")
    search_fields = ("name", "city")
    list_select_related = ("administration",)
    prepopulated_fields = {"slug": ("name",)}
    fieldsets = [
        (None, {"fields": ("name", "slug", "administration", "is_active")}),
        (_("Address and contact"), {"fields": ("street", "postcode", "city", "phone", "email")}),
        (
            _("Getting there"),
            {
                "description": _("Shown to citizens on the office's card, the confirmation page and in the e-mails."),
                "fields": (
                    ("directions", "directions_en"),
                    ("public_transport_de", "public_transport_en"),
                    ("parking_de", "parking_en"),
                    ("accessibility_de", "accessibility_en"),
                    "visitor_info_is_example",
                ),
            },
        ),
        (_("Booking"), {"fields": ("slot_minutes", "booking_horizon_days", "min_lead_minutes", "hours_are_example")}),
    ]
    inlines = [CounterInline, OpeningHoursInline, ClosureInline, HolidayOpeningInline]
    change_form_template = "admin/offices/office/change_form.html"

    def get_urls(self):
        changes = path(
            "<path:object_id>/changes/", self.admin_site.admin_view(self.changes_view), name="offices_office_changes"
        )
        return [changes, *super().get_urls()]

    def changes_view(self, request, object_id):
        """The audit trail of the office page: who changed what and when, newest first."""
        office = self.get_object(request, unquote(object_id))
        if office is None:
            raise Http404
        if not self.has_view_or_change_permission(request, office):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("Changes: %(office)s") % {"office": office.name},
            "opts": self.model._meta,
            "office": office,
            "original": office,
            "entries": office_changes(office),
        }
        return TemplateResponse(request, "admin/offices/office/changes.html", context)


@admin.register(Counter)
class CounterAdmin(AuditedAdmin):
    list_display = ("name", "office", "bookable_online", "is_active")
    list_filter = ("office", "bookable_online", "is_active")
    fields = ("office", "name", "bookable_online", "is_active", "services")
    search_fields = ("name", "office__name")
    list_select_related = ("office",)
    filter_horizontal = ("services",)


@admin.register(OpeningHours)
class OpeningHoursAdmin(AuditedAdmin):
    list_display = ("office", "weekday", "opens_at", "closes_at", "counter_or_all")
    list_filter = ("office", "weekday")
    list_select_related = ("office", "counter__office")
    formfield_overrides = MINUTE_TIMES

    @admin.display(description=_("opens"), ordering="opens")
    def opens_at(self, obj):
        return hh_mm(obj.opens)

    @admin.display(description=_("closes"), ordering="closes")
    def closes_at(self, obj):
        return hh_mm(obj.closes)

    @admin.display(description=_("counter"), ordering="counter__name")
    def counter_or_all(self, obj):
        return obj.counter.name if obj.counter else _("all counters")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "counter":
            kwargs["empty_label"] = _("all counters")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Closure)
class ClosureAdmin(AuditedAdmin):
    list_display = ("reason", "office", "counter", "start_date", "end_date", "from_time", "until_time", "created_by")
    list_filter = ("office",)
    search_fields = ("reason",)
    date_hierarchy = "start_date"
    list_select_related = ("office", "counter__office", "created_by")
    readonly_fields = ("created_by",)
    formfield_overrides = MINUTE_TIMES

    @admin.display(description=_("from time"), ordering="start_time")
    def from_time(self, obj):
        return hh_mm(obj.start_time)

    @admin.display(description=_("until time"), ordering="end_time")
    def until_time(self, obj):
        return hh_mm(obj.end_time)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "counter":
            kwargs["empty_label"] = _("whole office")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


def managed_offices(user):
    """The offices whose memberships `user` may manage: all for a superuser, else the offices of the
    administrations the user administers (AdministrationManager)."""
    if user.is_superuser:
        return Office.objects.all()
    return Office.objects.filter(administration__managers__user=user)


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    """Which staff account works for which office (clerks see only their offices' schedules).
    Appointments affected by a closure entered here are moved or offered new times from the staff
    area's closures page of the office (offices knows nothing of appointments).

    An administrator of an administration sees and changes the memberships of its own offices only:
    the list, the office choices and the permissions for each row are limited to them. (The model
    permissions for memberships come from the account's groups as usual; this narrows them.)"""

    list_display = ("user", "office", "role")
    list_filter = ("office", "role")
    search_fields = ("user__username", "user__first_name", "user__last_name", "office__name")
    list_select_related = ("user", "office")
    autocomplete_fields = ("user",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(office__in=managed_offices(request.user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "office":
            kwargs["queryset"] = managed_offices(request.user).order_by("name")
        if db_field.name == "user" and not request.user.is_superuser:
            # Nobody but a superuser gives their own account an office or a role (office lead).
            kwargs["queryset"] = get_user_model().objects.exclude(pk=request.user.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _manages(self, request, obj) -> bool:
        return obj is None or managed_offices(request.user).filter(pk=obj.office_id).exists()

    def _own(self, request, obj) -> bool:
        return obj is not None and obj.user_id == request.user.pk and not request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._manages(request, obj)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and managed_offices(request.user).exists()

    def has_change_permission(self, request, obj=None):
        return (
            super().has_change_permission(request, obj) and self._manages(request, obj) and not self._own(request, obj)
        )

    def has_delete_permission(self, request, obj=None):
        return (
            super().has_delete_permission(request, obj) and self._manages(request, obj) and not self._own(request, obj)
        )


@admin.register(AdministrationManager)
class AdministrationManagerAdmin(AuditedAdmin):
    """Who administers the staff of which administration. Only superusers assign this: an
    administrator must not make themselves administrator of the partner."""

    list_display = ("user", "administration")
    list_filter = ("administration",)
    list_select_related = ("user", "administration")
    autocomplete_fields = ("user",)

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


@admin.register(HolidayOpening)
class HolidayOpeningAdmin(AuditedAdmin):
    list_display = ("office", "date", "holiday", "note")
    list_filter = ("office",)
    list_select_related = ("office",)

    @admin.display(description=_("public holiday"))
    def holiday(self, obj):
        return public_holidays(obj.date.year).get(obj.date, "")


@admin.register(Document)
class DocumentAdmin(AuditedAdmin):
    list_display = ("name_de", "name_en", "position")
    list_editable = ("position",)
    search_fields = ("name_de", "name_en")
    prepopulated_fields = {"slug": ("name_de",)}


@admin.register(Service)
class ServiceAdmin(AuditedAdmin):
    list_display = (
        "name_de",
        "minutes_first_vehicle",
        "minutes_per_extra_vehicle",
        "max_vehicles",
        "bookable_online",
        "position",
    )
    list_filter = ("bookable_online", "offices")
    search_fields = ("name_de", "name_en")
    prepopulated_fields = {"slug": ("name_de",)}
    filter_horizontal = ("documents", "offices")
    fieldsets = [
        (None, {"fields": ("name_de", "name_en", "slug", "description_de", "description_en", "position")}),
        (_("Duration"), {"fields": ("minutes_first_vehicle", "minutes_per_extra_vehicle", "max_vehicles")}),
        (_("Booking"), {"fields": ("bookable_online", "offices", "documents")}),
    ]


@admin.register(CooperationRule)
class CooperationRuleAdmin(AuditedAdmin):
    list_display = ("office", "administration", "service_scope", "valid_from", "valid_until")
    list_filter = ("office", "administration", "scope")
    list_select_related = ("office", "administration")
    fields = ("office", "administration", "scope", "services", "valid_from", "valid_until", "note")
    filter_horizontal = ("services",)
    radio_fields = {"scope": admin.VERTICAL}

    @admin.display(description=_("services"))
    def service_scope(self, obj):
        names = ", ".join(service.name_de for service in obj.services.all())
        if obj.scope == CooperationRule.Scope.EXCEPT:
            return _("all services except: %(services)s") % {"services": names} if names else _("all services")
        return names or _("all services")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("services")
