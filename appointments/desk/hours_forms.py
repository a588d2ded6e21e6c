"""Forms of the office-hours pages: the week grid (the office's spans per weekday and the counters'
own hours) and a closure on the year's calendar. Times are hours and minutes only; every message
says in plain words what to change."""

from __future__ import annotations

import datetime as dt
import re

from crispy_forms.layout import Div, Field, Layout
from django import forms
from django.utils.translation import gettext_lazy as _

from appointments.ui.forms import Group, Hint, PortalForm
from offices.models import Closure, Counter, Weekday
from offices.week import HoursRow, overlaps_by_day

# Empty spans offered beyond the saved ones, per weekday and for the counters' own hours.
SPARE_SPANS = 1
MIN_SPANS = 2
SPARE_COUNTER_ROWS = 2
MAX_ROWS = 40  # what a page may send at most (a crafted request is refused, not looped over)

TIME_ERRORS = {"invalid": _("Enter the time as hours and minutes, for example 08:00 or 14:30.")}


class MinuteTimeInput(forms.TimeInput):
    """A plain text box showing "08:00": a browser's own time box shows "08:00 AM" or seconds
    depending on its settings, and this one reads the same everywhere, without JavaScript."""

    def __init__(self, attrs=None):
        attrs = {"inputmode": "numeric", "autocomplete": "off", "maxlength": 5, "size": 5, **(attrs or {})}
        super().__init__(attrs={"class": "time", **attrs}, format="%H:%M")


def time_field(label) -> forms.TimeField:
    return forms.TimeField(
        label=label,
        required=False,
        input_formats=["%H:%M", "%H.%M", "%H"],
        widget=MinuteTimeInput(),
        error_messages=TIME_ERRORS,
    )


def hh_mm(span) -> str:
    return f"{span[0]:%H:%M}–{span[1]:%H:%M}"


def _highest_index(data, pattern: str) -> int:
    """The highest row number the page sent (-1: none)."""
    found = [int(m.group(1)) for key in data for m in [re.fullmatch(pattern, key)] if m]
    return min(max(found, default=-1), MAX_ROWS - 1)


class WeekForm(PortalForm):
    """The office's opening hours per weekday (several spans a day) and the counters' exceptions.

    A span is removed by clearing both of its times. A counter with hours of its own works only
    those, on every weekday: its rows replace the office's hours for that counter entirely."""

    def __init__(self, *args, office, rows: list[HoursRow], **kwargs):
        self.office = office
        self.counters = list(Counter.objects.filter(office=office).order_by("name"))
        office_rows = [r for r in rows if r.counter_id is None]
        counter_rows = sorted(
            (r for r in rows if r.counter_id is not None),
            key=lambda r: (self._counter_name(r.counter_id), r.weekday, r.opens),
        )
        data = args[0] if args else kwargs.get("data")
        per_day = {day: sorted((r.opens, r.closes) for r in office_rows if r.weekday == day) for day in Weekday.values}
        self.span_count = max(MIN_SPANS, max(len(s) for s in per_day.values()) + SPARE_SPANS)
        self.row_count = len(counter_rows) + SPARE_COUNTER_ROWS
        if data is not None:
            self.span_count = max(MIN_SPANS, _highest_index(data, r"day[0-6]_(\d+)_opens") + 1)
            self.row_count = max(1, _highest_index(data, r"row(\d+)_opens") + 1)
        initial = {}
        for day, spans in per_day.items():
            for number, (opens, closes) in enumerate(spans):
                initial[f"day{day}_{number}_opens"], initial[f"day{day}_{number}_closes"] = opens, closes
        for number, row in enumerate(counter_rows):
            initial.update(
                {
                    f"row{number}_counter": str(row.counter_id),
                    f"row{number}_weekday": str(row.weekday),
                    f"row{number}_opens": row.opens,
                    f"row{number}_closes": row.closes,
                }
            )
        kwargs["initial"] = {**initial, **kwargs.get("initial", {})}
        super().__init__(*args, **kwargs)

    def _counter_name(self, counter_id) -> str:
        return next((c.name for c in self.counters if c.pk == counter_id), "")

    def layout(self) -> Layout:
        # PortalFormMixin asks for the layout right after the form is made: the fields, whose number
        # depends on the saved hours or on what the page sent, are added here with it.
        self._add_fields()
        days = []
        for day in Weekday:
            pairs = [
                Div(Field(f"day{day.value}_{n}_opens"), Field(f"day{day.value}_{n}_closes"), css_class="span-pair")
                for n in range(self.span_count)
            ]
            days.append(Group(day.label, *pairs, css_class=f"group weekday weekday-{day.value}"))
        rows = [
            Group(
                _("Counter hours, row %(number)s") % {"number": n + 1},
                Div(
                    Field(f"row{n}_counter"),
                    Field(f"row{n}_weekday"),
                    Field(f"row{n}_opens"),
                    Field(f"row{n}_closes"),
                    css_class="span-pair counter-row",
                ),
                css_class="group counter-hours",
            )
            for n in range(self.row_count)
        ]
        return Layout(
            Div(*days, css_class="week-grid"),
            Group(
                _("Counters with hours of their own"),
                Hint(
                    _(
                        "A counter listed here works only the hours listed for it, on every weekday; the "
                        "office's hours above no longer apply to it. Leave the rows empty when every counter "
                        "keeps the office's hours. To remove a row, clear both of its times."
                    )
                ),
                *rows,
                css_class="group counter-exceptions",
            ),
        )

    def _add_fields(self) -> None:
        for day in Weekday:
            for n in range(self.span_count):
                self.fields[f"day{day.value}_{n}_opens"] = time_field(_("Span %(number)s opens") % {"number": n + 1})
                self.fields[f"day{day.value}_{n}_closes"] = time_field(_("Span %(number)s closes") % {"number": n + 1})
        counter_choices = [("", _("Choose a counter"))] + [
            (str(c.pk), c.name if c.is_active else _("%(name)s (inactive)") % {"name": c.name}) for c in self.counters
        ]
        weekday_choices = [("", _("Choose a weekday"))] + [(str(v), label) for v, label in Weekday.choices]
        for n in range(self.row_count):
            self.fields[f"row{n}_counter"] = forms.ChoiceField(
                label=_("Counter"),
                choices=counter_choices,
                required=False,
                error_messages={"invalid_choice": _("Choose one of this office's counters.")},
            )
            self.fields[f"row{n}_weekday"] = forms.ChoiceField(
                label=_("Weekday"),
                choices=weekday_choices,
                required=False,
                error_messages={"invalid_choice": _("Choose a weekday from the list.")},
            )
            self.fields[f"row{n}_opens"] = time_field(_("Opens"))
            self.fields[f"row{n}_closes"] = time_field(_("Closes"))

    def _span(self, prefix: str, where) -> tuple[dt.time, dt.time] | None:
        """The span of one row, or None when it is empty or wrong (then with an error on the field)."""
        opens = self.cleaned_data.get(f"{prefix}_opens")
        closes = self.cleaned_data.get(f"{prefix}_closes")
        if f"{prefix}_opens" in self.errors or f"{prefix}_closes" in self.errors:
            return None
        if opens is None and closes is None:
            return None
        if opens is None or closes is None:
            missing = f"{prefix}_opens" if opens is None else f"{prefix}_closes"
            self.add_error(
                missing,
                _("%(where)s: enter both the opening and the closing time, or clear both to remove these hours.")
                % {"where": where},
            )
            return None
        if opens >= closes:
            self.add_error(
                f"{prefix}_closes",
                _("%(where)s: the closing time (%(closes)s) must be later than the opening time (%(opens)s).")
                % {"where": where, "opens": f"{opens:%H:%M}", "closes": f"{closes:%H:%M}"},
            )
            return None
        return opens, closes

    def clean(self):
        cleaned = super().clean()
        rows: list[HoursRow] = []
        for day in Weekday:
            for n in range(self.span_count):
                where = _("%(weekday)s, span %(number)s") % {"weekday": day.label, "number": n + 1}
                span = self._span(f"day{day.value}_{n}", where)
                if span:
                    rows.append(HoursRow(None, day.value, *span))
        for n in range(self.row_count):
            where = _("Counter hours, row %(number)s") % {"number": n + 1}
            span = self._span(f"row{n}", where)
            if span is None:
                continue
            counter, weekday = cleaned.get(f"row{n}_counter"), cleaned.get(f"row{n}_weekday")
            if not counter:
                self.add_error(
                    f"row{n}_counter", _("%(where)s: choose the counter these hours are for.") % {"where": where}
                )
            if not weekday:
                self.add_error(f"row{n}_weekday", _("%(where)s: choose the weekday.") % {"where": where})
            if counter and weekday:
                rows.append(HoursRow(int(counter), int(weekday), *span))
        for (counter_id, weekday), pairs in overlaps_by_day(rows).items():
            for first, second in pairs:
                params = {"weekday": Weekday(weekday).label, "first": hh_mm(first), "second": hh_mm(second)}
                if counter_id is None:
                    message = _(
                        "On %(weekday)s the hours %(first)s and %(second)s overlap. Let one end before the next begins."
                    )
                else:
                    params["counter"] = self._counter_name(counter_id)
                    message = _(
                        "For %(counter)s on %(weekday)s the hours %(first)s and %(second)s overlap. Let one "
                        "end before the next begins."
                    )
                self.add_error(None, message % params)
        self.hours_rows = rows
        return cleaned


class ClosureForm(PortalForm):
    """A closure of the whole office or of one counter: whole days, or a time on each day."""

    start_date = forms.DateField(
        label=_("First day"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d.%m.%Y"],
        error_messages={
            "required": _("Enter the first day of the closure."),
            "invalid": _("Enter the day as in 24.12.2027."),
        },
    )
    end_date = forms.DateField(
        label=_("Last day"),
        required=False,
        help_text=_("Leave empty for a single day."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d.%m.%Y"],
        error_messages={"invalid": _("Enter the day as in 24.12.2027.")},
    )
    start_time = time_field(_("From (time)"))
    end_time = time_field(_("Until (time)"))
    counter = forms.ChoiceField(label=_("What is closed"), required=False)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=200,
        help_text=_("Shown to staff, e.g. “Betriebsausflug”."),
        error_messages={"required": _("Enter a reason, e.g. “Betriebsausflug”.")},
    )

    def __init__(self, *args, office, **kwargs):
        self.office = office
        super().__init__(*args, **kwargs)
        self.fields["start_time"].help_text = _("Leave both times empty to close whole days.")
        self.fields["counter"].choices = [("", _("the whole office"))] + [
            (str(c.pk), c.name) for c in Counter.objects.filter(office=office, is_active=True).order_by("name")
        ]
        self.fields["counter"].error_messages["invalid_choice"] = _("Choose one of this office's counters.")

    def layout(self) -> Layout:
        return Layout(
            Div(Field("start_date"), Field("end_date"), css_class="form-row"),
            Div(Field("start_time"), Field("end_time"), css_class="form-row"),
            Field("counter"),
            Field("reason"),
        )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The last day must not be before the first day."))
        opens, closes = cleaned.get("start_time"), cleaned.get("end_time")
        if (opens is None) != (closes is None) and "start_time" not in self.errors and "end_time" not in self.errors:
            missing = "start_time" if opens is None else "end_time"
            self.add_error(missing, _("Enter both times for a closure of some hours, or neither for whole days."))
        elif opens and closes and opens >= closes:
            self.add_error("end_time", _("The closure must end later than it begins."))
        return cleaned

    def closure(self) -> Closure:
        data = self.cleaned_data
        return Closure(
            office=self.office,
            counter_id=int(data["counter"]) if data.get("counter") else None,
            start_date=data["start_date"],
            end_date=data.get("end_date") or data["start_date"],
            start_time=data.get("start_time"),
            end_time=data.get("end_time"),
            reason=data["reason"].strip(),
        )
