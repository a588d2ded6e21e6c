"""Form pieces the citizen pages and the staff workspace share: the error summary and the service field."""

from __future__ import annotations

from django import forms

# Where the error summary links to for each field: the input itself, or the first box of a group.
ANCHORS = {"service": "id_service_0"}
# Fields that no page renders as an input: their errors appear only in the summary.
UNRENDERED = {"office", "date", "start"}


class ServiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class PortalForm(forms.Form):
    """Helpers for hand-written templates: the error summary and the values to show again."""

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
