"""Whether a page offers the link to an office's hours page: only to those who may use it."""

from django import template

from appointments.domain import clerk

register = template.Library()


@register.filter
def may_edit_hours(user, office) -> bool:
    return office is not None and clerk.may_edit_hours(user, office)
