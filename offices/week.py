"""An office's weekly hours edited as a whole (the staff area's office-hours page and the admin's
hours rows): the check that looks at several rows together, replacing the saved rows, and the
closures that offices commonly take on days that are no public holidays (24.12., 31.12.,
Fastnachtsdienstag)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from dateutil.easter import easter
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from .models import Closure, Counter, Office, OpeningHours

Span = tuple[dt.time, dt.time]


@dataclass(frozen=True)
class HoursRow:
    """One working span of the week: the office's (counter None) or one counter's."""

    counter_id: int | None
    weekday: int
    opens: dt.time
    closes: dt.time


def overlaps(spans: Iterable[Span]) -> list[tuple[Span, Span]]:
    """The pairs of spans (of one day) that overlap; touching spans (08–12, 12–14) do not."""
    ordered = sorted(spans)
    found = []
    if not ordered:
        return found
    # The span reaching furthest so far: comparing neighbours only would miss 08–18 vs 11–12
    # when 09–10 lies between them.
    reach = ordered[0]
    for span in ordered[1:]:
        if span[0] < reach[1]:
            found.append((reach, span))
        if span[1] > reach[1]:
            reach = span
    return found


def overlaps_by_day(rows: Iterable[HoursRow]) -> dict[tuple[int | None, int], list[tuple[Span, Span]]]:
    """Overlapping pairs per (counter id or None, weekday)."""
    spans: defaultdict[tuple[int | None, int], list[Span]] = defaultdict(list)
    for row in rows:
        spans[(row.counter_id, row.weekday)].append((row.opens, row.closes))
    return {key: pairs for key, day in spans.items() if (pairs := overlaps(day))}


def current_rows(office: Office) -> list[HoursRow]:
    return [
        HoursRow(row.counter_id, row.weekday, row.opens, row.closes)
        for row in OpeningHours.objects.filter(office=office).order_by("counter_id", "weekday", "opens")
    ]


@transaction.atomic
def replace_week(*, office: Office, rows: Iterable[HoursRow]) -> bool:
    """Make the office's saved hours exactly `rows` (validated by the caller: no overlaps, opening
    before closing, counters of this office). Unchanged rows stay as they are, so the history lists
    only what changed. Returns whether anything changed."""
    wanted = set(rows)
    own_counters = set(Counter.objects.filter(office=office).values_list("pk", flat=True))
    if any(row.counter_id is not None and row.counter_id not in own_counters for row in wanted):
        raise ValueError("a counter of another office")
    # In id order, without the model's ordering by counter: PostgreSQL locks no outer-joined rows.
    saved = list(OpeningHours.objects.select_for_update().filter(office=office).order_by("pk"))
    kept = set()
    changed = False
    for row in saved:
        key = HoursRow(row.counter_id, row.weekday, row.opens, row.closes)
        if key in wanted and key not in kept:
            kept.add(key)
        else:
            row.delete()  # one at a time: the history records each
            changed = True
    for key in sorted(wanted - kept, key=lambda r: (r.counter_id or 0, r.weekday, r.opens)):
        OpeningHours.objects.create(
            office=office, counter_id=key.counter_id, weekday=key.weekday, opens=key.opens, closes=key.closes
        )
        changed = True
    return changed


# --- closures on days that are no public holidays -------------------------------------------------

PRESETS = {
    "christmas-eve": _("Christmas Eve (24 December)"),
    "new-years-eve": _("New Year's Eve (31 December)"),
    "shrove-tuesday": _("Shrove Tuesday (Fastnachtsdienstag)"),
}
# The reason a preset closure gets: the day's German name, which citizens and staff know it by.
PRESET_REASONS = {"christmas-eve": "Heiligabend", "new-years-eve": "Silvester", "shrove-tuesday": "Fastnachtsdienstag"}


def preset_day(key: str, year: int) -> dt.date:
    if key == "christmas-eve":
        return dt.date(year, 12, 24)
    if key == "new-years-eve":
        return dt.date(year, 12, 31)
    if key == "shrove-tuesday":
        return easter(year) - dt.timedelta(days=47)
    raise KeyError(key)


def whole_office_closure_on(office: Office, day: dt.date) -> Closure | None:
    return (
        Closure.objects.filter(
            office=office, counter__isnull=True, start_time__isnull=True, start_date__lte=day, end_date__gte=day
        )
        .order_by("start_date")
        .first()
    )


@transaction.atomic
def add_preset_closure(*, office: Office, key: str, year: int, user=None) -> tuple[Closure, bool]:
    """Close the whole office on the preset's day of `year`; a day already closed stays as it is.
    Returns the closure and whether it is new."""
    day = preset_day(key, year)
    Office.objects.select_for_update().filter(pk=office.pk).first()  # two clicks at once: one closure
    existing = whole_office_closure_on(office, day)
    if existing is not None:
        return existing, False
    closure = Closure(office=office, start_date=day, end_date=day, reason=PRESET_REASONS[key], created_by=user)
    closure.full_clean()
    closure.save()
    return closure, True
