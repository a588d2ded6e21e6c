"""Working time of an office-day (offices/hours.py): the minutes the counters work, which the local
reserve, the capacity page and the reports count, and whether an appointment lies within them."""

import datetime as dt

from offices.hours import CounterInfo, OfficeSchedule, local
from offices.models import Closure, Office

MONDAY = dt.date(2026, 11, 30)
# Clocks go forward at 02:00 on this Sunday: 01:00–04:00 on the wall is two hours of work.
SPRING_FORWARD = dt.date(2026, 3, 29)


def schedule(hours: dict | None = None) -> OfficeSchedule:
    """Two counters with the office's hours; counter 2 is blocked 09:00–10:00 on MONDAY."""
    return OfficeSchedule(
        office=Office(slug="frankenthal", name="Frankenthal"),
        counters=[CounterInfo(1, "Schalter 1", None), CounterInfo(2, "Schalter 2", None)],
        office_service_ids=frozenset(),
        office_hours=hours or {MONDAY.weekday(): [(dt.time(8), dt.time(12)), (dt.time(13), dt.time(16))]},
        counter_hours={},
        closures=[
            Closure(
                counter_id=2,
                start_date=MONDAY,
                end_date=MONDAY,
                start_time=dt.time(9),
                end_time=dt.time(10),
                reason="Schulung",
            )
        ],
    )


def at(hour: int, minute: int = 0, day: dt.date = MONDAY) -> dt.datetime:
    return local(day, dt.time(hour, minute))


def test_the_working_minutes_of_a_day_are_the_counters_hours_less_their_blocks():
    office = schedule()
    assert office.counter_minutes(1, MONDAY) == 7 * 60
    assert office.counter_minutes(2, MONDAY) == 6 * 60
    assert office.working_minutes(MONDAY) == 13 * 60
    assert office.working_minutes(MONDAY + dt.timedelta(days=1)) == 0  # no hours on Tuesday


def test_a_day_with_the_clock_change_counts_the_real_minutes():
    office = schedule({SPRING_FORWARD.weekday(): [(dt.time(1), dt.time(4))]})
    assert office.working_minutes(SPRING_FORWARD) == 2 * 2 * 60


def test_an_appointment_lies_within_working_time_up_to_closing_and_not_across_a_break():
    office = schedule()
    assert office.within_working_time(1, MONDAY, at(15, 45), at(16))
    assert not office.within_working_time(1, MONDAY, at(15, 45), at(16, 15))
    # Both halves are working time, but the lunch break lies between them.
    assert not office.within_working_time(1, MONDAY, at(11, 45), at(13, 15))
    assert office.within_working_time(1, MONDAY, at(9), at(9, 15))
    assert not office.within_working_time(2, MONDAY, at(9), at(9, 15))  # blocked
    assert office.within_working_time(2, MONDAY, at(10), at(10, 15))
