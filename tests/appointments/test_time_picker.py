"""The time picker: the grouping and thinning of free times (appointments/domain/picker.py, pure
functions over slots) and the calendar page built on it.

The pure tests use two offices that are never saved: Frankenthal (administration 2) sorts before
the Rhein-Pfalz-Kreis office in Schifferstadt (administration 1) by name. The page tests use the
demo data and the frozen clock (Tuesday, 1 December 2026, 07:00 in Berlin, lead time two hours).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from appointments.domain import picker
from appointments.domain.availability import DayFree, Slot
from offices.models import Office
from tests.appointments.test_pages import calendar_url, page_of, text
from tests.conftest import berlin

FRANKENTHAL = Office(id=2, slug="frankenthal", name="Zulassungsstelle Frankenthal (Pfalz)", administration_id=2)
SCHIFFERSTADT = Office(id=1, slug="schifferstadt", name="Zulassungsstelle Rhein-Pfalz-Kreis", administration_id=1)
UTC = dt.UTC


def slots_every(office: Office, first: dt.datetime, last: dt.datetime, *, grid=5, length=15) -> list[Slot]:
    """Free starts every `grid` minutes from `first` to `last` (inclusive), in absolute time."""
    slots, start = [], first.astimezone(UTC)
    while start <= last.astimezone(UTC):
        slots.append(Slot(office, start, start + dt.timedelta(minutes=length)))
        start += dt.timedelta(minutes=grid)
    return slots


def wall(slot: Slot) -> str:
    return slot.start.astimezone(picker.BERLIN).strftime("%H:%M")


# --- grouping -------------------------------------------------------------------------------


def test_the_home_office_comes_first_then_the_others_by_name():
    day = dt.date(2026, 12, 3)
    slots = slots_every(FRANKENTHAL, berlin(2026, 12, 3, 9), berlin(2026, 12, 3, 10)) + slots_every(
        SCHIFFERSTADT, berlin(2026, 12, 3, 10), berlin(2026, 12, 3, 11)
    )
    schifferstadt_resident = picker.day_overview(slots, day=day, home_administration_id=1, free=())
    assert [(o.office.slug, o.home) for o in schifferstadt_resident] == [
        ("schifferstadt", True),
        ("frankenthal", False),
    ]
    frankenthal_resident = picker.day_overview(slots, day=day, home_administration_id=2, free=())
    assert [(o.office.slug, o.home) for o in frankenthal_resident] == [("frankenthal", True), ("schifferstadt", False)]
    # Without a home (the office filter of another administration's office): by name.
    assert [o.office.slug for o in picker.day_overview(slots, day=day, home_administration_id=None, free=())] == [
        "frankenthal",
        "schifferstadt",
    ]


def test_only_the_chosen_berlin_day_is_shown():
    """A start at 00:30 in Berlin is on that Berlin day, though it is the day before in UTC."""
    late = Slot(FRANKENTHAL, dt.datetime(2026, 12, 2, 23, 30, tzinfo=UTC), dt.datetime(2026, 12, 2, 23, 45, tzinfo=UTC))
    (office,) = picker.day_overview([late], day=dt.date(2026, 12, 3), home_administration_id=2, free=())
    assert office.first == late
    assert picker.day_overview([late], day=dt.date(2026, 12, 2), home_administration_id=2, free=()) == []


def test_morning_and_afternoon_split_at_noon_berlin_time():
    slots = slots_every(SCHIFFERSTADT, berlin(2026, 12, 3, 11, 45), berlin(2026, 12, 3, 12, 15))
    (office,) = picker.day_overview(slots, day=dt.date(2026, 12, 3), home_administration_id=1, free=())
    morning, afternoon = office.parts
    assert morning.name == picker.MORNING and [wall(s) for s in morning.starts] == ["11:45", "11:50", "11:55"]
    assert afternoon.name == picker.AFTERNOON and [wall(s) for s in afternoon.starts] == [
        "12:00",
        "12:05",
        "12:10",
        "12:15",
    ]


def test_a_day_with_only_afternoon_times_has_only_an_afternoon():
    slots = slots_every(FRANKENTHAL, berlin(2026, 12, 3, 14), berlin(2026, 12, 3, 15))
    (office,) = picker.day_overview(slots, day=dt.date(2026, 12, 3), home_administration_id=2, free=())
    assert [part.name for part in office.parts] == [picker.AFTERNOON]


# --- thinning -------------------------------------------------------------------------------


def test_the_short_list_has_at_most_one_start_per_quarter_hour_per_office():
    slots = slots_every(FRANKENTHAL, berlin(2026, 12, 3, 9, 5), berlin(2026, 12, 3, 10, 55)) + slots_every(
        SCHIFFERSTADT, berlin(2026, 12, 3, 9), berlin(2026, 12, 3, 9, 40)
    )
    (schifferstadt, frankenthal) = picker.day_overview(
        slots, day=dt.date(2026, 12, 3), home_administration_id=1, free=()
    )
    (short,) = [part.short for part in frankenthal.parts]
    # The first free start of each quarter hour: 09:05 (09:00 is taken), then on the quarter.
    assert [wall(s) for s in short] == ["09:05", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45"]
    assert [wall(s) for s in schifferstadt.parts[0].short] == ["09:00", "09:15", "09:30"]
    # "More times" keeps every start.
    assert len(frankenthal.parts[0].starts) == 23 and frankenthal.parts[0].has_more
    for office in (schifferstadt, frankenthal):
        quarters = [
            (s.start.astimezone(picker.BERLIN).hour, s.start.astimezone(picker.BERLIN).minute // 15)
            for s in office.parts[0].short
        ]
        assert len(quarters) == len(set(quarters))


def test_thin_starts_keeps_each_office_apart():
    slots = slots_every(FRANKENTHAL, berlin(2026, 12, 3, 9), berlin(2026, 12, 3, 9, 10)) + slots_every(
        SCHIFFERSTADT, berlin(2026, 12, 3, 9, 5), berlin(2026, 12, 3, 9, 10)
    )
    assert [(s.office.slug, wall(s)) for s in picker.thin_starts(slots)] == [
        ("frankenthal", "09:00"),
        ("schifferstadt", "09:05"),
    ]


def test_a_short_list_that_is_everything_offers_no_more_times():
    slots = slots_every(FRANKENTHAL, berlin(2026, 12, 3, 9), berlin(2026, 12, 3, 10), grid=15)
    (office,) = picker.day_overview(slots, day=dt.date(2026, 12, 3), home_administration_id=2, free=())
    assert office.parts[0].short == office.parts[0].starts and not office.parts[0].has_more


# --- counts ---------------------------------------------------------------------------------


def test_day_counts_add_up_the_offices_free_appointments_per_day():
    """The counts are availability.day_overview's (appointments on all counters), added up per day;
    days without a free appointment are left out."""
    thursday, friday = dt.date(2026, 12, 3), dt.date(2026, 12, 4)
    free = [
        DayFree(FRANKENTHAL, thursday, 48, berlin(2026, 12, 3, 8)),
        DayFree(SCHIFFERSTADT, thursday, 120, berlin(2026, 12, 3, 7, 30)),
        DayFree(FRANKENTHAL, friday, 0, None),
        DayFree(SCHIFFERSTADT, friday, 3, berlin(2026, 12, 4, 11)),
    ]
    assert picker.day_counts(free) == {thursday: 168, friday: 3}
    assert picker.day_counts([DayFree(FRANKENTHAL, friday, 0, None)]) == {}


def test_each_office_of_the_day_says_its_own_count_not_its_starts():
    """Three counters free 09:00–10:00: ten distinct 15-minute starts, twelve appointments."""
    day = dt.date(2026, 12, 3)
    hour = slots_every(FRANKENTHAL, berlin(2026, 12, 3, 9), berlin(2026, 12, 3, 9, 45))
    other = slots_every(SCHIFFERSTADT, berlin(2026, 12, 3, 9), berlin(2026, 12, 3, 9, 45))
    free = [
        DayFree(FRANKENTHAL, day, 12, berlin(2026, 12, 3, 9)),
        DayFree(SCHIFFERSTADT, day, 4, berlin(2026, 12, 3, 9)),
        DayFree(FRANKENTHAL, dt.date(2026, 12, 4), 30, berlin(2026, 12, 4, 9)),  # another day
    ]
    frankenthal, schifferstadt = picker.day_overview(hour + other, day=day, home_administration_id=2, free=free)
    assert len(frankenthal.parts[0].starts) == 10
    assert (frankenthal.office.slug, frankenthal.appointments) == ("frankenthal", 12)
    assert (schifferstadt.office.slug, schifferstadt.appointments) == ("schifferstadt", 4)


# --- daylight saving ------------------------------------------------------------------------


def test_the_night_the_clocks_go_back_keeps_both_hours_apart():
    """25 October 2026: 03:00 summer time becomes 02:00 winter time, so 02:00–03:00 happens twice.
    Starts from 01:30 summer time to 03:15 winter time (2 h 45 min of absolute time) are one day,
    all morning, twelve quarter hours."""
    slots = slots_every(
        SCHIFFERSTADT, dt.datetime(2026, 10, 24, 23, 30, tzinfo=UTC), dt.datetime(2026, 10, 25, 2, 15, tzinfo=UTC)
    )
    (office,) = picker.day_overview(slots, day=dt.date(2026, 10, 25), home_administration_id=1, free=())
    (morning,) = office.parts
    assert morning.name == picker.MORNING
    assert [wall(s) for s in morning.short] == [
        "01:30", "01:45", "02:00", "02:15", "02:30", "02:45",  # summer time
        "02:00", "02:15", "02:30", "02:45", "03:00", "03:15",  # winter time
    ]  # fmt: skip


def test_noon_on_the_day_the_clocks_go_forward_is_noon_in_summer_time():
    """29 March 2026: from 03:00 on it is UTC+2, so 10:55 UTC is 12:55, afternoon; the day before,
    10:55 UTC is 11:55, morning."""

    def at(day: int, hour: int, minute: int) -> Slot:
        start = dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)
        return Slot(SCHIFFERSTADT, start, start + dt.timedelta(minutes=15))

    assert picker.part_of_day(at(29, 10, 55)) == picker.AFTERNOON
    assert picker.part_of_day(at(29, 9, 55)) == picker.MORNING
    assert picker.part_of_day(at(28, 10, 55)) == picker.MORNING
    # The short list of the jump: 01:45 winter time is followed by 03:00 summer time, one hour later.
    night = [at(29, 0, 45), at(29, 0, 50), at(29, 1, 0), at(29, 1, 5)]
    assert [wall(s) for s in picker.thin_starts(night)] == ["01:45", "03:00"]


# --- weeks ----------------------------------------------------------------------------------


def test_weeks_run_from_monday_and_lead_to_the_nearest_weeks_with_free_days():
    assert picker.week_of(dt.date(2026, 12, 3)) == [dt.date(2026, 11, 30) + dt.timedelta(days=n) for n in range(7)]
    free = [dt.date(2026, 12, 1), dt.date(2026, 12, 2), dt.date(2026, 12, 16), dt.date(2026, 12, 17)]
    # From the week of 1 December the next week with free days is that of 14 December.
    assert picker.neighbour_weeks(free, dt.date(2026, 12, 2)) == (None, dt.date(2026, 12, 16))
    # Back from there: the first free day of the week of 30 November.
    assert picker.neighbour_weeks(free, dt.date(2026, 12, 17)) == (dt.date(2026, 12, 1), None)


# --- the calendar page ----------------------------------------------------------------------


SCHIFFERSTADT_RESIDENT = {"municipality": "schifferstadt"}


def office_blocks(html: str) -> list[str]:
    return re.findall(r'<div class="office-times[^"]*">(.*?)</form>', html, flags=re.S)


def test_a_schifferstadt_resident_sees_their_office_first_with_labelled_times(citizen):
    response = citizen.get(calendar_url(date="2026-12-03", **SCHIFFERSTADT_RESIDENT))
    assert response.status_code == 200
    html = response.content.decode()
    times = html[html.index('id="times"') :]
    first, second = office_blocks(times)
    assert "Zulassungsstelle Rhein-Pfalz-Kreis" in first and "zuständig für Ihren Wohnort" in first
    assert "Zulassungsstelle Frankenthal (Pfalz)" in second and "zuständig" not in second
    # Headings per part of the day, and each time says its day, hour and office to a screen reader.
    assert "<h4>Vormittag</h4>" in first and "<h4>Nachmittag</h4>" in first
    label = re.sub(r"<[^>]+>", "", re.search(r'<button type="submit" name="start"[^>]*>(.*?)</button>', first).group(1))
    assert label == "Do., 3. Dezember, 07:30 Uhr, Zulassungsstelle Rhein-Pfalz-Kreis"


def test_the_short_list_shows_quarter_hours_and_the_details_every_time(citizen):
    response = citizen.get(calendar_url(date="2026-12-03", **SCHIFFERSTADT_RESIDENT))
    first = office_blocks(response.content.decode())[0]
    morning = first[first.index("<h4>Vormittag</h4>") : first.index("<h4>Nachmittag</h4>")]
    short = morning[: morning.index("<details")]
    more = morning[morning.index("<details") :]
    short_values = re.findall(r'name="start" value="([^"]+)"', short)
    assert short_values[:3] == ["2026-12-03T07:30:00+01:00", "2026-12-03T07:45:00+01:00", "2026-12-03T08:00:00+01:00"]
    assert all(value[14:16] in ("00", "15", "30", "45") for value in short_values)
    all_values = re.findall(r'name="start" value="([^"]+)"', more)
    assert "2026-12-03T07:35:00+01:00" in all_values and set(short_values) <= set(all_values)
    assert "Alle Uhrzeiten am Vormittag" in more


def test_the_day_strip_shows_one_week_with_free_appointments_and_week_links(citizen):
    response = citizen.get(calendar_url(date="2026-12-03", **SCHIFFERSTADT_RESIDENT))
    page = page_of(response)
    content = text(response)
    assert "Woche vom 30. November bis 6. Dezember 2026" in content
    day_links = [link for link in page.links if "date=2026-1" in link and link.endswith("#times")]
    # Tuesday to Friday of this week (Monday 30 November is past); no weekend without free times.
    assert [re.search(r"date=([\d-]+)", link).group(1) for link in day_links] == [
        "2026-12-01",
        "2026-12-02",
        "2026-12-03",
        "2026-12-04",
    ]
    # Counts are appointments: Thursday at both offices, on all their counters.
    # Thursday: Schifferstadt 6 counters × (20 + 18), Frankenthal 3 counters × (16 + 16) quarter hours.
    assert "Donnerstag, 3. Dezember 2026: 324 freie Termine" in content
    assert any("date=2026-12-07" in link and link.endswith("#days") for link in page.links)  # next week
    assert "Nächste Woche" in content and "Vorherige Woche" not in content
    later = page_of(citizen.get(calendar_url(date="2026-12-09", **SCHIFFERSTADT_RESIDENT)))
    assert any("date=2026-12-01" in link and link.endswith("#days") for link in later.links)  # previous week


def test_three_free_counters_for_a_morning_count_every_appointment_they_fit(citizen, demo):
    """Frankenthal has three counters, all free on Friday 4 December from 08:00 to 12:00: the
    morning fits 3 × 16 quarter-hour appointments. The page says 48, not the 46 distinct starts
    (08:00 to 11:45 every five minutes) nor the 16 that fit one after another on one counter."""
    assert demo.frankenthal.counters.count() == 3
    response = citizen.get(calendar_url(office="frankenthal", date="2026-12-04"))
    assert response.status_code == 200
    starts = {b["value"] for _, b in page_of(response).slot_buttons() if b["value"].startswith("2026-12-04")}
    assert len(starts) == 46
    assert "Freitag, 4. Dezember 2026: 48 freie Termine" in text(response)  # the day strip
    html = response.content.decode()
    assert "48 freie Termine" in html[html.index('id="times"') :]  # the office's times

    # One of them booked: one fewer, though every start is still free at another counter.
    hold_form, first = page_of(response).slot_buttons()[1]
    held = citizen.post(hold_form["action"], dict(hold_form["hidden"]) | {"start": first["value"]})
    assert held.status_code == 302
    again = citizen.get(calendar_url(office="frankenthal", date="2026-12-04"))
    assert "Freitag, 4. Dezember 2026: 47 freie Termine" in text(again)
    assert len({b["value"] for _, b in page_of(again).slot_buttons() if b["value"].startswith("2026-12-04")}) == 46


def test_the_office_filter_and_the_day_still_work(citizen):
    response = citizen.get(calendar_url(office="frankenthal", date="2026-12-04", **SCHIFFERSTADT_RESIDENT))
    assert response.status_code == 200
    buttons = page_of(response).slot_buttons()
    assert buttons and all(("office", "frankenthal") in form["hidden"] for form, _ in buttons)
    assert all(b["value"].startswith("2026-12-04") for _, b in buttons[1:])
    # Day links keep the filter.
    assert all("office=frankenthal" in link for link in page_of(response).links if "date=2026-12-03" in link)


def test_at_the_same_earliest_time_the_home_office_is_offered(citizen):
    """Both offices open at 09:00 (after the lead time): each resident is offered their own."""
    for municipality, office in (("schifferstadt", "schifferstadt"), ("frankenthal-pfalz", "frankenthal")):
        page = page_of(citizen.get(calendar_url(municipality=municipality)))
        form, button = page.slot_buttons()[0]
        assert button["value"] == "2026-12-01T09:00:00+01:00"
        assert ("office", office) in form["hidden"]


def test_the_time_picker_in_english(citizen):
    response = citizen.get(calendar_url(date="2026-12-03"), HTTP_ACCEPT_LANGUAGE="en")
    content = text(response)
    assert "Week of 30 November to 6 December 2026" in content
    # The earliest slot, then the day's times: a Frankenthal resident's office first.
    _, first_time = page_of(response).slot_buttons()[1]
    assert first_time["text"] == "Thu, 3 December, 08:00, Zulassungsstelle Frankenthal (Pfalz)"
    assert "Morning" in content and "Afternoon" in content and "All morning times" in content


@pytest.mark.parametrize("name", ["appointments:hold"])
def test_the_hold_form_keeps_its_fields(citizen, name):
    """Each office's form sends the request, the office and the start, as before."""
    page = page_of(citizen.get(calendar_url(date="2026-12-03")))
    for form, button in page.slot_buttons():
        assert form["action"] == reverse(name) and form["method"] == "post"
        fields = {key for key, _ in form["hidden"]}
        assert {"service", "vehicles", "municipality", "office", "csrfmiddlewaretoken"} <= fields
        assert button["name"] == "start"
