"""Forms of the clerks' pages: they parse what the browser sends; the rules live in clerk.py and
booking.py, whose errors the views carry back to the fields. Rendered by hand in templates/clerk/."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from appointments.models import Channel
from appointments.ui.forms import PortalForm, ServiceField
from offices.models import Counter, Municipality, Office, Service

TIME_FORMATS = ["%H:%M", "%H:%M:%S"]


class ReferenceForm(forms.Form):
    reference = forms.CharField(
        label=_("Booking reference"),
        max_length=200,
        error_messages={"required": _("Please enter a booking reference.")},
    )


class WalkInForm(PortalForm):
    """A walk-in or a phone caller: what booking.book_in_office needs, on the schedule's day."""

    service = ServiceField(
        queryset=Service.objects.none(),
        to_field_name="slug",
        label=_("Concerns"),
        error_messages={
            "required": _("Please choose at least one concern."),
            "invalid_choice": _("Please choose only concerns from the list."),
            "invalid_pk_value": _("Please choose only concerns from the list."),
            "invalid_list": _("Please choose only concerns from the list."),
        },
    )
    vehicles = forms.IntegerField(
        label=_("Vehicles"),
        min_value=1,
        max_value=10,
        error_messages={
            "required": _("Please give the number of vehicles."),
            "invalid": _("Please give the number of vehicles."),
        },
    )
    municipality = forms.ModelChoiceField(
        queryset=Municipality.objects.select_related("administration").order_by("administration__name", "name"),
        to_field_name="slug",
        label=_("Municipality of residence"),
        error_messages={
            "required": _("Please choose the citizen's municipality."),
            "invalid_choice": _("Please choose a municipality from the list."),
        },
    )
    time = forms.TimeField(
        label=_("Time"),
        input_formats=TIME_FORMATS,
        error_messages={
            "required": _("Please give the time, e.g. 09:15."),
            "invalid": _("Please give the time, e.g. 09:15."),
        },
    )
    name = forms.CharField(label=_("Name"), required=False, strip=False)
    email = forms.CharField(label=_("E-mail address (optional)"), required=False, strip=False)
    phone = forms.CharField(label=_("Phone number (optional)"), required=False, strip=False)
    channel = forms.ChoiceField(
        label=_("Booked"),
        choices=[(Channel.COUNTER, Channel.COUNTER.label), (Channel.PHONE, Channel.PHONE.label)],
        error_messages={
            "required": _("Please choose how the booking was made."),
            "invalid_choice": _("Please choose how the booking was made."),
        },
    )
    language = forms.ChoiceField(
        label=_("Language of the e-mails"), choices=[("de", _("German")), ("en", _("English"))], required=False
    )

    def __init__(self, *args, office: Office, **kwargs):
        super().__init__(*args, **kwargs)
        self.office = office
        self.fields["service"].queryset = Service.objects.filter(offices=office).order_by("position", "name_de")

    # what the template shows again
    def selected_services(self) -> set[str]:
        return {str(v) for v in (self["service"].value() or [])}

    def municipality_groups(self):
        groups: dict[str, list[Municipality]] = {}
        for municipality in self.fields["municipality"].queryset:
            groups.setdefault(municipality.administration.name, []).append(municipality)
        return list(groups.items())

    def time_value(self) -> str:
        value = self["time"].value()
        if hasattr(value, "strftime"):
            return value.strftime("%H:%M")
        return str(value or "")


class BlockForm(PortalForm):
    """Block one counter (or, for an office lead, the whole office) on one day."""

    WHOLE_OFFICE = "office"

    counter = forms.ChoiceField(
        label=_("Counter"),
        error_messages={
            "required": _("Please choose a counter."),
            "invalid_choice": _("Please choose a counter from the list."),
        },
    )
    day = forms.DateField(
        label=_("Day"),
        input_formats=["%Y-%m-%d", "%d.%m.%Y"],
        error_messages={"required": _("Please give the day."), "invalid": _("Please give the day, e.g. 2026-12-01.")},
    )
    start_time = forms.TimeField(
        label=_("From"),
        required=False,
        input_formats=TIME_FORMATS,
        error_messages={"invalid": _("Please give the time, e.g. 09:15.")},
    )
    end_time = forms.TimeField(
        label=_("Until"),
        required=False,
        input_formats=TIME_FORMATS,
        error_messages={"invalid": _("Please give the time, e.g. 11:30.")},
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        error_messages={"required": _("Please give a reason."), "max_length": _("At most 200 characters.")},
    )

    def __init__(self, *args, office: Office, may_close_office: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.office = office
        choices = [("", _("Please choose"))]
        if may_close_office:
            choices.append((self.WHOLE_OFFICE, _("The whole office")))
        choices += [(str(c.pk), c.name) for c in Counter.objects.filter(office=office, is_active=True).order_by("name")]
        self.fields["counter"].choices = choices

    def chosen_counter(self) -> Counter | None:
        value = self.cleaned_data["counter"]
        if value == self.WHOLE_OFFICE:
            return None
        return Counter.objects.get(office=self.office, pk=int(value))

    def _time_value(self, name: str) -> str:
        value = self[name].value()
        if hasattr(value, "strftime"):
            return value.strftime("%H:%M")
        return str(value or "")

    def start_time_value(self) -> str:
        return self._time_value("start_time")

    def end_time_value(self) -> str:
        return self._time_value("end_time")

    def day_value(self) -> str:
        value = self["day"].value()
        if hasattr(value, "isoformat"):
            return value.isoformat()
        return str(value or "")


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        strip=True,
        error_messages={"max_length": _("A note may have at most 2000 characters.")},
    )
