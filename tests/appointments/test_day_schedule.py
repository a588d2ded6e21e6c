"""The day schedule at any hour: the whole day stays on the page, what is over is marked past, and
free time counts from now (working time that went by unused is never "free").

Tuesday, 1 December 2026: the Frankenthal office works 08:00–12:00 at each counter. The clock is
13:00 unless a test moves it, so the counters' hours are over; the clients ask for English pages.
"""

from __future__ import annotations

import datetime as dt

import pytest

from appointments.domain.schedule import day_schedule
from tests.appointments.clerk_personas import DAY, schedule_url, text, walk_in
from tests.conftest import berlin

AFTER_NOON = berlin(2026, 12, 1, 13, 0)
EARLY = berlin(2026, 12, 1, 7, 0)  # when the bookings of these tests were made

pytestmark = pytest.mark.clock_start(AFTER_NOON)


def kinds(column) -> list[tuple[str, str, str, bool]]:
    return [
        (
            e.kind,
            e.start.astimezone(AFTER_NOON.tzinfo).strftime("%H:%M"),
            e.end.astimezone(AFTER_NOON.tzinfo).strftime("%H:%M"),
            e.past,
        )
        for e in column.entries
    ]


def test_after_the_counters_hours_the_whole_day_is_there_and_all_of_it_past(desk):
    booked = walk_in(desk.demo, start=berlin(2026, 12, 1, 9, 0), now=EARLY)

    schedule = day_schedule(office=desk.demo.frankenthal, day=DAY, now=AFTER_NOON)

    for column in schedule.columns:
        assert column.working, column.name  # the counter had hours that day
        assert column.entries, column.name
        assert all(entry.past for entry in column.entries), column.name
        assert not [e for e in column.entries if e.kind == "gap"], "elapsed time is not free"
    mine = next(c for c in schedule.columns if c.counter_id == booked.counter_id)
    assert kinds(mine) == [
        ("elapsed", "08:00", "09:00", True),
        ("appointment", "09:00", "09:15", True),
        ("elapsed", "09:15", "12:00", True),
    ]
    assert schedule.next_free is None


def test_free_time_counts_from_now(desk, clock):
    """At 10:00:20 the part of a gap before now is elapsed; the free part starts at the next full
    minute, and its length agrees with its start."""
    booked = walk_in(desk.demo, start=berlin(2026, 12, 1, 11, 0), now=EARLY)
    now = berlin(2026, 12, 1, 10, 0) + dt.timedelta(seconds=20)

    schedule = day_schedule(office=desk.demo.frankenthal, day=DAY, now=now)

    mine = next(c for c in schedule.columns if c.counter_id == booked.counter_id)
    assert kinds(mine) == [
        ("elapsed", "08:00", "10:01", True),
        ("gap", "10:01", "11:00", False),
        ("appointment", "11:00", "11:15", False),
        ("gap", "11:15", "12:00", False),
    ]
    assert [e.minutes for e in mine.entries if e.kind == "gap"] == [59, 45]


def test_an_appointment_under_way_is_not_past(desk):
    booked = walk_in(desk.demo, start=berlin(2026, 12, 1, 9, 0), now=EARLY)

    schedule = day_schedule(office=desk.demo.frankenthal, day=DAY, now=berlin(2026, 12, 1, 9, 10))

    entry = next(e for c in schedule.columns for e in c.entries if e.appointment == booked)
    assert not entry.past


def test_a_coming_day_has_nothing_past_and_a_gone_day_nothing_free(desk):
    tomorrow = day_schedule(office=desk.demo.frankenthal, day=DAY + dt.timedelta(days=1), now=AFTER_NOON)
    yesterday = day_schedule(office=desk.demo.frankenthal, day=DAY - dt.timedelta(days=1), now=AFTER_NOON)

    tomorrows = [e for c in tomorrow.columns for e in c.entries]
    assert tomorrows and all(e.kind == "gap" and not e.past for e in tomorrows)
    yesterdays = [e for c in yesterday.columns for e in c.entries]
    assert yesterdays and all(e.kind == "elapsed" and e.past for e in yesterdays)


def test_the_page_after_noon_shows_the_hours_greyed_and_no_free_time(desk):
    booked = walk_in(desk.demo, start=berlin(2026, 12, 1, 9, 0), name="Erika Mustermann", now=EARLY)

    response = desk.frankenthal_clerk.get(schedule_url(desk.demo.frankenthal))

    page, html = text(response), response.content.decode()
    assert response.status_code == 200
    assert "No working hours and no appointments" not in page
    assert page.count("Working hours: 08:00–12:00") == 3
    assert "Free (" not in page
    assert "Past: 08:00–09:00 Not booked" in page
    assert f"Past: 09:00–09:15 {booked.reference}" in page and "Erika Mustermann" in page
    assert 'class="entry entry-elapsed past"' in html
    assert 'class="entry entry-appointment entry-confirmed past"' in html


def test_the_page_in_the_morning_shows_free_time_from_now(desk, clock):
    clock.now = berlin(2026, 12, 1, 10, 30)

    page = text(desk.frankenthal_clerk.get(schedule_url(desk.demo.frankenthal)))

    assert page.count("Past: 08:00–10:30 Not booked") == 3
    assert page.count("10:30–12:00 Free (90 min)") == 3
    assert "08:00–12:00 Free" not in page


def test_the_print_view_marks_the_past_and_lists_no_elapsed_time_as_free(desk):
    walk_in(desk.demo, start=berlin(2026, 12, 1, 9, 0), now=EARLY)

    response = desk.frankenthal_clerk.get(schedule_url(desk.demo.frankenthal) + "?print=1")

    page = text(response)
    assert "Working hours: 08:00–12:00" in page and "Free (" not in page
    assert "Past: 09:00–09:15" in page and "Not booked" in page
    assert "No working hours" not in page
