"""The POST an administrator's browser sends from an admin change page: every field of the form
and of its inline formsets with the values shown, so that a test changes only what it means to."""

from __future__ import annotations

from django import forms


def _add_form(data: dict, form) -> None:
    for bound in form:
        value = bound.value()
        if isinstance(bound.field, forms.BooleanField):
            if value:
                data[bound.html_name] = "on"
            continue
        if isinstance(value, (list, tuple)):
            data[bound.html_name] = [str(v) for v in value]
        elif value is None:
            data[bound.html_name] = ""
        else:
            data[bound.html_name] = str(value)


def page_form_data(response) -> dict:
    """The data of the change page's form and inline rows as they stand, plus "Save"."""
    context = response.context
    data: dict = {"_save": "Save"}
    _add_form(data, context["adminform"].form)
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        _add_form(data, formset.management_form)
        for form in formset.forms:
            _add_form(data, form)
    return data


def add_inline_row(data: dict, prefix: str, **fields) -> dict:
    """Append a new row to the inline formset `prefix` (e.g. "closures")."""
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    for name, value in fields.items():
        data[f"{prefix}-{index}-{name}"] = value
    return data


def row_index(data: dict, prefix: str, **match) -> int:
    """The index of the inline row whose fields have these values."""
    for index in range(int(data[f"{prefix}-TOTAL_FORMS"])):
        if all(data.get(f"{prefix}-{index}-{k}") == v for k, v in match.items()):
            return index
    raise LookupError(f"no {prefix} row with {match}")
