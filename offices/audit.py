"""The audit trail of the configuration, read from django-simple-history's tables: who changed what,
when, from which value to which. Shared by the admin's per-row "History" pages and an office's
"Changes" page, which gathers the rows edited on the office page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from heapq import merge

from django.core.exceptions import ObjectDoesNotExist
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from .models import Closure, CooperationRule, Counter, HolidayOpening, Membership, Office, OpeningHours

ACTIONS = {"+": _("created"), "~": _("changed"), "-": _("deleted")}


class ChangeFormatter(HistoricalRecordContextHelper):
    """Values as an administrator reads them: the label of a choice ("Thursday", not 3), "–" for
    nothing, yes/no for a switch."""

    def prepare_delta_change_value(self, change, value):
        model_field = self.model._meta.get_field(change.field)
        if model_field.choices and not isinstance(value, list):
            return dict(model_field.flatchoices).get(value, value)
        value = super().prepare_delta_change_value(change, value)
        if value is None or value == "":
            return "–"
        if value is True:
            return _("yes")
        if value is False:
            return _("no")
        if isinstance(value, dt.time):
            return f"{value:%H:%M}"
        return value


class AuditedAdmin(SimpleHistoryAdmin):
    """An admin page with a "History" of who changed what (read-only: SIMPLE_HISTORY_REVERT_DISABLED)."""

    def get_historical_record_context_helper(self, request, historical_record):
        return ChangeFormatter(self.model, historical_record)


@dataclass
class Change:
    when: dt.datetime
    user: object
    kind: str
    subject: str
    action: str
    changes: list[dict] = field(default_factory=list)


def _sources(office: Office):
    """The history of each kind of row the office page edits, with the office as filter."""
    return [
        (Office, Office.history.filter(id=office.pk)),
        (Counter, Counter.history.filter(office_id=office.pk)),
        (OpeningHours, OpeningHours.history.filter(office_id=office.pk)),
        (Closure, Closure.history.filter(office_id=office.pk)),
        (HolidayOpening, HolidayOpening.history.filter(office_id=office.pk)),
        (CooperationRule, CooperationRule.history.filter(office_id=office.pk)),
        (Membership, Membership.history.filter(office_id=office.pk)),
    ]


def office_changes(office: Office, *, limit: int = 100) -> list[Change]:
    """The latest `limit` changes to the office and its counters, hours, closures, holiday openings,
    cooperation rules and memberships, newest first, each with the fields it changed."""
    streams = []
    previous = {}
    for model, history in _sources(office):
        records = list(history.select_related("history_user").order_by("id", "history_date", "history_id"))
        last_of = {}
        for record in records:
            previous[(model, record.history_id)] = last_of.get(record.id)
            last_of[record.id] = record
        records.sort(key=lambda r: (r.history_date, r.history_id), reverse=True)
        streams.append([(record.history_date, record.history_id, model, record) for record in records])
    newest = list(merge(*streams, key=lambda item: (item[0], item[1]), reverse=True))[:limit]

    entries = []
    for when, history_id, model, record in newest:
        before = previous[(model, history_id)]
        changes = []
        if record.history_type == "~" and before is not None:
            delta = record.diff_against(before, foreign_keys_are_objs=True)
            changes = ChangeFormatter(model, record).context_for_delta_changes(delta)
            if not changes:
                continue  # saved without a difference (e.g. a form saved unchanged)
        entries.append(
            Change(
                when=when,
                user=record.history_user,
                kind=capfirst(model._meta.verbose_name),
                subject=_describe(record),
                action=ACTIONS.get(record.history_type, record.history_type),
                changes=changes,
            )
        )
    return entries


def _describe(record) -> str:
    try:
        return str(record.instance)
    except ObjectDoesNotExist:  # its office or user is gone: the history keeps their ids only
        return f"#{record.id}"
