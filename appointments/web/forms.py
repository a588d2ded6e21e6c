"""Forms of the citizen's pages. They parse what a browser sends and carry errors back to the
fields; the booking rules themselves live in availability.py and booking.py.

Each form's `layout()` says how the portal's crispy pack (templates/portal/) renders its fields:
groups and their legends, hints, autocomplete and input modes.
"""

from __future__ import annotations

import datetime as dt
import re

from crispy_forms.layout import Field, Layout
from django import forms
from django.core.validators import MaxValueValidator
from django.db.models import Max
from django.urls import reverse
from django.utils import formats
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _

from appointments.domain.availability import AvailabilityError, check_request
from appointments.errors import ErrorCode
from appointments.ui.forms import FieldWithButton, Group, Hint, HoneypotInput, PortalForm, ServiceField, TelInput
from offices.models import Municipality, Office, Service

# German alphabetical order (DIN 5007, variant 1): umlauts as their base letters, ß as "ss".
GERMAN_ORDER = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss"})


def german_order(text: str) -> str:
    """A sort key for German names: "Heßheim" before "Heuchelheim", "Ötisheim" among the O."""
    return text.casefold().translate(GERMAN_ORDER)


def online_services():
    return Service.objects.filter(bookable_online=True).prefetch_related("documents").order_by("position", "name_de")


def vehicle_limit() -> int:
    return Service.objects.filter(bookable_online=True).aggregate(m=Max("max_vehicles"))["m"] or 1


class RequestForm(PortalForm):
    """What the citizen wants: concerns, number of vehicles, municipality of residence."""

    service = ServiceField(
        queryset=Service.objects.none(),
        to_field_name="slug",
        label=_("Your concerns"),
        hints=True,
        error_messages={
            "required": _("Please choose at least one concern."),
            "invalid_choice": _("Please choose only concerns from the list."),
            "invalid_pk_value": _("Please choose only concerns from the list."),
            "invalid_list": _("Please choose only concerns from the list."),
        },
    )
    vehicles = forms.IntegerField(
        label=_("Number of vehicles"),
        min_value=1,
        widget=forms.Select,
        error_messages={
            "required": _("Please choose the number of vehicles."),
            "invalid": _("Please choose the number of vehicles."),
            "min_value": _("Please choose at least one vehicle."),
            # Set per form (see __init__): the plural depends on the limit.
        },
    )
    municipality = forms.ModelChoiceField(
        queryset=Municipality.objects.select_related("administration"),
        to_field_name="slug",
        label=_("Municipality of residence"),
        error_messages={
            "required": _("Please choose the municipality where you live."),
            "invalid_choice": _("Please choose your municipality from the list."),
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = online_services()
        self.max_vehicles = vehicle_limit()
        # The limit comes from the catalogue; IntegerField adds its validator only when constructed.
        self.fields["vehicles"].max_value = self.max_vehicles
        self.fields["vehicles"].validators.append(MaxValueValidator(self.max_vehicles))
        self.fields["vehicles"].widget.choices = [(n, n) for n in range(1, self.max_vehicles + 1)]
        self.fields["vehicles"].error_messages["max_value"] = ngettext(
            "At most %(limit_value)s vehicle can be booked online in one appointment.",
            "At most %(limit_value)s vehicles can be booked online in one appointment.",
            self.max_vehicles,
        )
        self.fields["vehicles"].help_text = ngettext(
            "Up to %(limit)s vehicle in one appointment.",
            "Up to %(limit)s vehicles in one appointment, for some concerns fewer.",
            self.max_vehicles,
        ) % {"limit": self.max_vehicles}

    def clean(self):
        data = super().clean()
        services, vehicles = data.get("service"), data.get("vehicles")
        if services and vehicles:
            try:
                check_request(services=list(services), vehicles=vehicles, municipality=data.get("municipality"))
            except AvailabilityError as error:
                # The municipality is resolved (and explained) by the page itself.
                if error.code != ErrorCode.OUTSIDE_AREA:
                    self.add_error(error.field if error.field in self.fields else None, error.message)
        return data


class SearchForm(RequestForm):
    """The first form: a postcode may stand in for the municipality (it only pre-fills it)."""

    postcode = forms.CharField(
        label=_("Postcode"),
        required=False,
        max_length=10,
        help_text=_(
            "Enter your postcode and choose “Find municipality” to shorten the list below. "
            "Or choose your municipality directly."
        ),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "postal-code", "size": 7}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["municipality"].required = False
        self.fields["service"].label = _("What do you want to do?")
        self.fields["service"].help_text = _("Choose one or several concerns: they are all handled in one appointment.")

        self.narrowed = None
        self.preselect = ""

    @property
    def narrowed(self) -> list[Municipality] | None:
        """The municipalities of the postcode entered (None: all of them)."""
        return self._narrowed

    @narrowed.setter
    def narrowed(self, municipalities: list[Municipality] | None) -> None:
        self._narrowed = municipalities
        self.fields["municipality"].choices = [("", _("Please choose")), *self.municipality_groups()]
        if municipalities:
            # Also on the bound field: it copied the help text when the form was validated.
            self.fields["municipality"].help_text = self["municipality"].help_text = gettext(
                "Showing the municipalities with the postcode %(postcode)s. To see all municipalities, empty "
                "the postcode field and choose “Find municipality”."
            ) % {"postcode": self["postcode"].value()}

    @property
    def preselect(self) -> str:
        """The municipality a postcode stands for, shown as chosen."""
        return self._preselect

    @preselect.setter
    def preselect(self, slug: str) -> None:
        self._preselect = slug
        if slug:
            self.shown_values["municipality"] = slug

    def municipality_groups(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The select's options: of the postcode entered, or all of them grouped by administration."""
        municipalities = self.narrowed if self.narrowed is not None else list(self.fields["municipality"].queryset)
        groups: dict[str, list[tuple[str, str]]] = {}
        for municipality in sorted(
            municipalities, key=lambda m: (german_order(m.administration.name), german_order(m.name))
        ):
            option = (municipality.slug, f"{municipality.postcode} {municipality.name}")
            groups.setdefault(municipality.administration.name, []).append(option)
        return list(groups.items())

    def layout(self) -> Layout:
        return Layout(
            "service",
            "vehicles",
            Group(
                _("Where do you live?"),
                Hint(
                    _(
                        "Your main residence decides which authority is responsible. Residents of the "
                        "Rhein-Pfalz-Kreis and of the town of Frankenthal (Pfalz) can book here."
                    )
                ),
                FieldWithButton("postcode", button_label=_("Find municipality"), button_name="lookup"),
                "municipality",
            ),
        )

    def clean_postcode(self):
        postcode = re.sub(r"\s", "", self.cleaned_data.get("postcode") or "")
        if postcode and not re.fullmatch(r"\d{5}", postcode):
            raise forms.ValidationError(_("A postcode has five digits, e.g. 67227."))
        return postcode


class CalendarForm(RequestForm):
    """The calendar's query: the request plus an optional office filter and a chosen day."""

    office = forms.ModelChoiceField(
        queryset=Office.objects.filter(is_active=True),
        to_field_name="slug",
        required=False,
        error_messages={"invalid_choice": _("Please choose an office from the list.")},
    )
    # A plain field: a day that is not in the calendar is no error (see clean_date).
    date = forms.Field(required=False)

    def __init__(self, *args, first_day: dt.date | None = None, last_day: dt.date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_day, self.last_day = first_day, last_day
        self.date_notice = ""  # what the page says when it shows another day than the one asked for

    def clean_date(self) -> dt.date | None:
        """The day to show. A day before the calendar, after it or not a date at all (an old link, a
        bookmark, a typed URL) is no reason to send the citizen back to the form: it becomes the
        nearest bookable day (None: the earliest day with free times), and `date_notice` says so."""
        raw = str(self.cleaned_data.get("date") or "").strip()
        if not raw:
            return None
        try:
            day = dt.date.fromisoformat(raw) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) else None
        except ValueError:
            day = None
        if day is None:
            self.date_notice = gettext("The day in the link is not a valid date. Here are the earliest free times.")
        elif self.first_day and day < self.first_day:
            self.date_notice = gettext("The day in the link has passed. Here are the earliest free times.")
            day = None
        elif self.last_day and day > self.last_day:
            self.date_notice = gettext(
                "Appointments can be booked up to %(day)s. Here are the free times closest to the day in the link."
            ) % {"day": formats.date_format(self.last_day, "j. F Y" if get_language().startswith("de") else "j F Y")}
            day = self.last_day
        return day


class AwareDateTimeField(forms.Field):
    """An ISO 8601 time with its UTC offset, as the calendar's buttons send it."""

    def to_python(self, value):
        value = (value or "").strip()
        if not value:
            return None
        try:
            parsed = dt.datetime.fromisoformat(value) if len(value) <= 40 else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise forms.ValidationError(_("Please choose a time from the calendar."))
        return parsed


class SlotForm(PortalForm):
    """A time chosen in the calendar."""

    office = forms.ModelChoiceField(
        queryset=Office.objects.filter(is_active=True).select_related("administration"),
        to_field_name="slug",
        error_messages={
            "required": _("Please choose a time from the calendar."),
            "invalid_choice": _("Please choose a time from the calendar."),
        },
    )
    start = AwareDateTimeField(error_messages={"required": _("Please choose a time from the calendar.")})


class HoldForm(SlotForm, RequestForm):
    """The request and the time chosen for it: everything `place_hold` needs."""


class ContactForm(PortalForm):
    """The citizen's contact data. Only parsed here: booking.clean_contact decides what is valid,
    so that the pages and the API accept and reject the same input."""

    name = forms.CharField(
        label=_("Your name"),
        required=False,
        strip=False,
        help_text=_("First name and surname of the person who comes to the appointment."),
        widget=forms.TextInput(attrs={"autocomplete": "name", "maxlength": 150}),
    )
    email = forms.CharField(
        label=_("E-mail address"),
        required=False,
        strip=False,
        help_text=_("We send you a link to confirm the appointment, and a reminder."),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "maxlength": 254, "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label=_("Phone number (optional)"),
        required=False,
        strip=False,
        help_text=_("Only so that the office can reach you if something changes at short notice."),
        widget=TelInput(attrs={"autocomplete": "tel", "maxlength": 40}),
    )
    privacy_consent = forms.BooleanField(
        label=_("I agree that my details are processed to arrange this appointment."), required=False
    )
    # The honeypot: hidden from people (and from screen readers), filled in by form bots.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        max_length=200,
        widget=HoneypotInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The hint links to the privacy notice (opens in a new tab); its markup is the catalogue's own.
        self.fields["privacy_consent"].help_text = mark_safe(
            gettext(
                'Read the <a href="%(privacy_url)s" target="_blank" rel="noopener">privacy notice (opens in a new '
                "tab)</a>. Your details are deleted a few days after the appointment."
            )
            % {"privacy_url": reverse("appointments:privacy")}
        )

    def layout(self) -> Layout:
        return Layout(
            "name", "email", "phone", Group(_("Privacy"), "privacy_consent"), Field("website", wrapper_class="hp")
        )


class CaptchaQuestionForm(PortalForm):
    """The answer to the small question a browser without JavaScript is asked instead of the
    captcha. The question itself (two digits, signed, with the moment it was asked) travels in a
    hidden field of the page; the view checks the answer against it (guards.check_captcha_answer)
    and passes its verdict in as `error`, so the form only carries the field, its hints and the
    error to the page."""

    captcha_answer = forms.CharField(
        required=False,
        help_text=_(
            "Your browser does not run JavaScript, so we ask this small question to keep automated programs "
            "from reserving times. Please answer with digits."
        ),
        # Three digits at most: KERN's narrow width (that of a postcode) says so too.
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "off",
                "maxlength": 3,
                "class": "kern-form-input__input--width-postcode",
            }
        ),
    )

    def __init__(self, *args, question: dict, wait_seconds: int = 0, error: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["captcha_answer"]
        field.label = gettext("How much is %(first)s plus %(second)s?") % {
            "first": question["first"],
            "second": question["second"],
        }
        if wait_seconds:
            # The wait is read out with the field, after the hint (the pack's `more_hints`).
            wait = ngettext(
                "Please wait %(seconds)s second after this page appeared before you send your answer.",
                "Please wait %(seconds)s seconds after this page appeared before you send your answer.",
                wait_seconds,
            ) % {"seconds": wait_seconds}
            why = gettext(
                "With JavaScript, your browser would do a short calculation instead; the wait keeps programs "
                "from reserving many times at once."
            )
            field.more_hints = [(f"{wait} {why}", "id_captcha_answer_wait")]
            field.widget.attrs["aria-describedby"] = "id_captcha_answer_wait"
        if error and self.is_bound:
            self.full_clean()
            self.add_error("captcha_answer", error)
