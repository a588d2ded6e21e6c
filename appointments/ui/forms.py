"""Form pieces the citizen pages and the staff workspace share: the base that renders a form through
the portal's crispy template pack (templates/portal/), the error summary, and the service field."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Field, Fieldset, Layout, LayoutObject
from crispy_forms.utils import TEMPLATE_PACK
from django import forms
from django.forms.boundfield import BoundField
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.translation import gettext as _

# Where the error summary links to for each field: the input itself, or the first box of a group.
ANCHORS = {"service": "id_service_0", "channel": "id_channel_0"}
# Fields that no page renders as an input: their errors appear only in the summary.
UNRENDERED = {"office", "date", "start"}


# --- widgets ------------------------------------------------------------------------------------


class TelInput(forms.TextInput):
    input_type = "tel"


class HoneypotInput(forms.TextInput):
    """Never shows a value again: only form-filling bots type into it."""

    def format_value(self, value):
        return None


class LanguageSelect(forms.Select):
    """Each language's name in its own language, marked as such for screen readers."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["attrs"]["lang"] = value
        return option


class ServiceCheckboxes(forms.CheckboxSelectMultiple):
    """One box per service; with `hints`, each box is described by the service's description and
    its duration (read out with the box)."""

    hints = False

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        service = getattr(value, "instance", None)
        if self.hints and service is not None and option["attrs"].get("id"):
            option["hint"] = service_hint(service)
            option["attrs"]["aria-describedby"] = f"{option['attrs']['id']}_hint"
        return option


def service_hint(service) -> str:
    minutes, extra = service.minutes_first_vehicle, service.minutes_per_extra_vehicle
    if service.max_vehicles == 1 or not extra:
        duration = _("About %(minutes)s minutes.") % {"minutes": minutes}
    elif extra == minutes:
        duration = _("About %(minutes)s minutes per vehicle.") % {"minutes": minutes}
    else:
        duration = _("About %(minutes)s minutes, %(extra)s minutes for each further vehicle.") % {
            "minutes": minutes,
            "extra": extra,
        }
    if service.max_vehicles == 1:
        duration = f"{duration} {_('One vehicle per appointment.')}"
    return format_html('{} <span class="duration">{}</span>', service.description, duration)


class ServiceField(forms.ModelMultipleChoiceField):
    widget = ServiceCheckboxes

    def __init__(self, *args, hints: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.widget.hints = hints

    def label_from_instance(self, obj):
        return obj.name


# --- layout objects -----------------------------------------------------------------------------


class Hint(LayoutObject):
    """A hint paragraph inside a layout (a group's explanation); `id` lets fields refer to it."""

    template = "%s/layout/hint.html"

    def __init__(self, text, *, css_id: str = ""):
        self.text, self.css_id = text, css_id

    def render(self, form, context, template_pack=TEMPLATE_PACK, **kwargs):
        return render_to_string(self.get_template_name(template_pack), {"text": self.text, "css_id": self.css_id})


class Group(Fieldset):
    """A fieldset of several fields with its legend (KERN's `group`)."""

    def __init__(self, legend, *fields, css_class: str = "group", **kwargs):
        super().__init__(legend, *fields, css_class=css_class, **kwargs)


class FieldWithButton(Field):
    """A field with a submit button beside its input (e.g. the postcode and "Find municipality")."""

    def __init__(self, field: str, *, button_label, button_name: str, button_value: str = "1", **kwargs):
        super().__init__(field, **kwargs)
        self.button = {"label": button_label, "name": button_name, "value": button_value}

    def render(self, form, context, template_pack=TEMPLATE_PACK, extra_context=None, **kwargs):
        extra_context = {**(extra_context or {}), "button": self.button}
        return super().render(form, context, template_pack=template_pack, extra_context=extra_context, **kwargs)


# --- the form base ------------------------------------------------------------------------------


class PortalBoundField(BoundField):
    """What a screen reader needs of a field, as the pack renders it: the hint (`<id>_hint`), the
    error (`<id>_error`) and ids the layout names (`aria-describedby` on the layout's Field) are
    read with the input; an input with an error, or one the form marks invalid with it, says so."""

    @property
    def hint_id(self) -> str:
        return f"{self.auto_id}_hint" if self.auto_id and self.help_text else ""

    @property
    def error_id(self) -> str:
        return f"{self.auto_id}_error" if self.auto_id and self.errors else ""

    @property
    def is_invalid(self) -> bool:
        return bool(self.errors) or self.name in self.form.marked_invalid()

    def value(self):
        shown = getattr(self.form, "shown_values", {})
        return shown[self.name] if self.name in shown else super().value()

    @property
    def widget_data(self) -> dict:
        """The widget's context (type, name, value, attrs, options) for the pack's own markup."""
        widget = self.field.widget
        return widget.get_context(self.html_name, self.value(), self.build_widget_attrs({}, widget))["widget"]

    def build_widget_attrs(self, attrs, widget=None):
        widget = widget or self.field.widget
        # The id first: it names the input, the rest describes it.
        attrs = {"id": self.auto_id, **attrs} if self.auto_id and "id" not in widget.attrs else dict(attrs)
        attrs = super().build_widget_attrs(attrs, widget)
        attrs.pop("aria-invalid", None)
        attrs.pop("aria-describedby", None)
        if self.use_fieldset or widget.is_hidden:
            return attrs  # a group: its fieldset carries the error, each box its own hint
        described_by = [self.hint_id, *widget.attrs.get("aria-describedby", "").split(), self.error_id]
        if any(described_by):
            attrs["aria-describedby"] = " ".join(part for part in described_by if part)
        if self.is_invalid:
            attrs["aria-invalid"] = "true"
        return attrs


class PortalFormMixin:
    """Rendered with `{% crispy form %}` by the portal's pack: the page owns the <form> element (its
    action, method, CSRF token and buttons), the form class the fields inside it (`layout()`)."""

    bound_field_class = PortalBoundField

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.shown_values: dict[str, object] = {}  # what a field shows instead of what was sent
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = self.layout()

    def layout(self) -> Layout:
        return Layout(*self.fields)

    def marked_invalid(self) -> set[str]:
        """Fields that are marked invalid by an error of the whole form (e.g. a wrong password)."""
        return set()

    def summary(self) -> list[dict]:
        """Every error once, with the id of the input it belongs to (None: no input to jump to)."""
        entries = []
        for field, errors in self.errors.items():
            if field == forms.forms.NON_FIELD_ERRORS or field in UNRENDERED or field not in self.fields:
                anchor = None
            else:
                anchor = ANCHORS.get(field, f"id_{field}")
            entries.extend({"anchor": anchor, "message": message} for message in errors)
        return entries


class PortalForm(PortalFormMixin, forms.Form):
    """A portal form: the server checks every field and answers with the error summary, so the
    inputs carry no `required` (the browser's own bubbles would come first, unlike the summary)."""

    use_required_attribute = False
