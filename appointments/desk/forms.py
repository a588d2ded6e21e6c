"""Forms of the clerks' pages: they parse what the browser sends; the rules live in clerk.py and
booking.py, whose errors the views carry back to the fields. Rendered by the portal's crispy pack
(templates/portal/) after each form's `layout()`."""

from __future__ import annotations

import datetime as dt

from crispy_forms.layout import Div, Field, Layout
from django import forms
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from appointments.models import CancelReason, Channel
from appointments.ui.forms import Group, Hint, LanguageSelect, PortalForm, ServiceField, TelInput
from offices.models import Counter, Municipality, Office, Service

TIME_FORMATS = ["%H:%M", "%H:%M:%S"]


def time_input() -> forms.TimeInput:
    return forms.TimeInput(format="%H:%M", attrs={"type": "time", "step": 300})


class ReferenceForm(PortalForm):
    reference = forms.CharField(
        label=_("Booking reference"),
        max_length=200,
        help_text=_(
            "As on the citizen's e-mail, e.g. K7Q-4MZP; upper or lower case. A hand scanner may read the QR "
            "code into this field."
        ),
        error_messages={"required": _("Please enter a booking reference.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autofocus": True}),
    )


class DeskServiceField(ServiceField):
    """The clerks book services that citizens cannot book online too; those are marked."""

    def label_from_instance(self, obj):
        if obj.bookable_online:
            return obj.name
        return format_html('{} <span class="tag">{}</span>', obj.name, gettext("not online"))


class WalkInForm(PortalForm):
    """A walk-in or a phone caller: what booking.book_in_office needs, on the schedule's day."""

    service = DeskServiceField(
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
        initial=1,
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
        help_text=_("Pre-filled with the next free time on the office's grid."),
        error_messages={
            "required": _("Please give the time, e.g. 09:15."),
            "invalid": _("Please give the time, e.g. 09:15."),
        },
        widget=time_input(),
    )
    name = forms.CharField(
        label=_("Name"),
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"maxlength": 150, "autocomplete": "off"}),
    )
    email = forms.CharField(
        label=_("E-mail address (optional)"),
        required=False,
        strip=False,
        widget=forms.EmailInput(attrs={"maxlength": 254, "autocomplete": "off", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label=_("Phone number (optional)"),
        required=False,
        strip=False,
        widget=TelInput(attrs={"maxlength": 40, "autocomplete": "off"}),
    )
    channel = forms.ChoiceField(
        label=_("Booked"),
        choices=[(Channel.COUNTER, _("at the counter")), (Channel.PHONE, _("by phone"))],
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Please choose how the booking was made."),
            "invalid_choice": _("Please choose how the booking was made."),
        },
    )
    # Each language named in itself (and marked so), as in the language switch.
    language = forms.ChoiceField(
        label=_("Language of the e-mails"),
        choices=[("de", "Deutsch"), ("en", "English")],
        required=False,
        initial="de",
        widget=LanguageSelect,
    )

    def __init__(self, *args, office: Office, **kwargs):
        super().__init__(*args, **kwargs)
        self.office = office
        self.fields["service"].queryset = Service.objects.filter(offices=office).order_by("position", "name_de")
        groups: dict[str, list[tuple[str, str]]] = {}
        for municipality in self.fields["municipality"].queryset:
            option = (municipality.slug, f"{municipality.name} ({municipality.postcode})")
            groups.setdefault(municipality.administration.name, []).append(option)
        self.fields["municipality"].choices = [("", _("Please choose")), *groups.items()]

    def layout(self) -> Layout:
        return Layout(
            Field("service", wrapper_class="service-choices"),
            Div("vehicles", "time", css_class="form-row"),
            "municipality",
            "name",
            Div("email", "phone", css_class="form-row"),
            Div("channel", "language", css_class="form-row"),
        )


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
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    start_time = forms.TimeField(
        label=_("From"),
        required=False,
        input_formats=TIME_FORMATS,
        error_messages={"invalid": _("Please give the time, e.g. 09:15.")},
        widget=time_input(),
    )
    end_time = forms.TimeField(
        label=_("Until"),
        required=False,
        input_formats=TIME_FORMATS,
        error_messages={"invalid": _("Please give the time, e.g. 11:30.")},
        widget=time_input(),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        help_text=_("Shown to colleagues in the schedule, e.g. “training” or “technical fault”. No health details."),
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

    def layout(self) -> Layout:
        return Layout(
            "counter",
            "day",
            Group(
                _("Time"),
                Hint(_("Leave both empty to block the whole day."), css_id="times_hint"),
                Div(
                    Field("start_time", aria_describedby="times_hint"),
                    Field("end_time", aria_describedby="times_hint"),
                    css_class="form-row",
                ),
            ),
            "reason",
        )


class NoteForm(PortalForm):
    note = forms.CharField(
        label=_("Note for colleagues (the citizen never sees it)"),
        required=False,
        max_length=2000,
        strip=True,
        error_messages={"max_length": _("A note may have at most 2000 characters.")},
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["note"].widget.attrs.pop("cols", None)  # the width comes from the style sheet


class CancelForm(PortalForm):
    """Cancel on the citizen's behalf: a reason from the list (the mail names it) and a note that
    stays with the clerks."""

    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=CancelReason.choices,
        widget=forms.RadioSelect,
        help_text=_("The e-mail to the citizen names this reason."),
        error_messages={
            "required": _("Please choose a reason."),
            "invalid_choice": _("Please choose a reason from the list."),
        },
    )
    cancel_note = forms.CharField(
        label=_("Note for colleagues (optional; not in the e-mail)"),
        required=False,
        max_length=200,
        error_messages={"max_length": _("At most 200 characters.")},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class MoveDayForm(PortalForm):
    """The day whose free times the move page shows (a GET filter)."""

    day = forms.DateField(
        label=_("Day"),
        required=False,
        input_formats=["%Y-%m-%d", "%d.%m.%Y"],
        error_messages={"invalid": _("Please give the day, e.g. 2026-12-01.")},
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )


class MoveForm(PortalForm):
    """A free time chosen on the move page: the office and the start with its UTC offset."""

    office = forms.ModelChoiceField(
        queryset=Office.objects.filter(is_active=True).select_related("administration"),
        to_field_name="slug",
        error_messages={"required": _("Please choose a free time."), "invalid_choice": _("Please choose a free time.")},
    )
    start = forms.CharField(max_length=40, error_messages={"required": _("Please choose a free time.")})

    def clean_start(self) -> dt.datetime:
        try:
            start = dt.datetime.fromisoformat(self.cleaned_data["start"])
        except ValueError:
            start = None
        if start is None or start.tzinfo is None:
            raise forms.ValidationError(_("Please choose a free time."))
        return start


class FollowUpForm(WalkInForm):
    """The follow-up appointment after a visit with incomplete documents: the walk-in and phone
    booking form with a day, pre-filled from the first visit."""

    day = forms.DateField(
        label=_("Day"),
        input_formats=["%Y-%m-%d", "%d.%m.%Y"],
        error_messages={"required": _("Please give the day."), "invalid": _("Please give the day, e.g. 2026-12-01.")},
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time"].help_text = _("On the office's time grid; the next free times are listed above.")

    def layout(self) -> Layout:
        return Layout(
            Field("service", wrapper_class="service-choices"),
            Div("day", "time", "vehicles", css_class="form-row"),
            "municipality",
            "name",
            Div("email", "phone", css_class="form-row"),
            Div("channel", "language", css_class="form-row"),
        )
