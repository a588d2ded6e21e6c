"""The office page in the admin shows the office's capacity for the coming four weeks, and with
"Preview capacity" the capacity that the changes on the page would give, before anything is saved.

The clock stands at Tuesday, 1 December 2026, 07:30; Tuesday 8 December is an ordinary working day
at Frankenthal (3 counters, 08:00–12:00). Persona: Anna, administrator (superuser), in the admin.
"""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from appointments.domain.capacity import office_capacity
from offices.models import Closure
from tests.admin_forms import add_inline_row, page_form_data, row_index
from tests.appointments.clerk_personas import NOW, walk_in
from tests.conftest import berlin

pytestmark = pytest.mark.clock_start(NOW)

DAY = dt.date(2026, 12, 8)


@pytest.fixture
def anna(demo, clock):
    client = Client(headers={"accept-language": "en"})
    client.force_login(get_user_model().objects.create_superuser("anna-admin", "anna@rpk.example", "not-used"))
    return client


def office_url(office):
    return reverse("admin:offices_office_change", args=[office.pk])


def capacity_row(response, day: dt.date) -> str:
    """The text of the capacity table's row for `day`."""
    html = response.content.decode()
    table = html[html.index('id="capacity"') :]
    for row in re.findall(r"<tr\b.*?</tr>", table, flags=re.S):
        cells = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
        if f"{day:%m/%d/%Y}" in cells:
            return cells
    raise AssertionError(f"no row for {day}")


def test_the_office_page_shows_the_capacity_per_day(anna, demo):
    """Working day: 3 counters, 12 counter-hours; the weekend: no capacity, and why."""
    page = anna.get(office_url(demo.frankenthal))
    assert page.status_code == 200
    assert capacity_row(page, DAY).startswith("Tue 12/08/2026 3 12:00 0")
    assert "Thu 12/10/2026 3 24:00" in capacity_row(page, dt.date(2026, 12, 10)), "Thursday afternoon too"
    assert "no capacity" in capacity_row(page, dt.date(2026, 12, 12))
    assert "no opening hours on this weekday" in capacity_row(page, dt.date(2026, 12, 12))


def test_a_saved_closure_shows_as_a_day_without_capacity(anna, demo):
    Closure.objects.create(office=demo.frankenthal, start_date=DAY, end_date=DAY, reason="Betriebsausflug")
    row = capacity_row(anna.get(office_url(demo.frankenthal)), DAY)
    assert "no capacity" in row and "Betriebsausflug" in row


def test_the_booked_share_counts_the_appointments_of_the_day(anna, demo):
    """Two 15-minute appointments of the 720 counter-minutes: 4 %."""
    walk_in(demo, start=berlin(2026, 12, 8, 9, 0))
    walk_in(demo, start=berlin(2026, 12, 8, 9, 0))
    row = capacity_row(anna.get(office_url(demo.frankenthal)), DAY)
    assert "2 (30 min)" in row and "4 %" in row


def test_the_preview_shows_a_closure_before_it_is_saved(anna, demo):
    """Anna enters a closure of the whole office on 8 December and asks for the preview: the day has
    no capacity, the appointment booked for it is flagged with the way to move it, and nothing is saved."""
    walk_in(demo, start=berlin(2026, 12, 8, 9, 0))
    url = office_url(demo.frankenthal)
    data = page_form_data(anna.get(url))
    del data["_save"]
    add_inline_row(
        data,
        "closures",
        start_date="2026-12-08",
        end_date="2026-12-08",
        reason="Betriebsausflug",
        start_time="",
        end_time="",
        counter="",
    )
    data["_preview_capacity"] = "Preview capacity"

    response = anna.post(url, data)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Preview: capacity with the changes on this page (not saved)" in page
    row = capacity_row(response, DAY)
    assert "no capacity" in row and "Betriebsausflug" in row
    assert "1 appointment outside the working time" in row
    assert reverse("clerk:closures", args=[demo.frankenthal.slug]) in page, "the way to move the appointment"
    assert not Closure.objects.exists(), "a preview saves nothing"
    # The form keeps what was typed, so that Anna can save it as previewed.
    assert 'value="Betriebsausflug"' in page

    del data["_preview_capacity"]
    saved = anna.post(url, {**data, "_save": "Save"})
    assert saved.status_code == 302
    assert Closure.objects.filter(office=demo.frankenthal, start_date=DAY, reason="Betriebsausflug").exists()


def test_the_preview_of_other_hours_and_fewer_counters(anna, demo):
    """Tuesday's hours cut to 08:00–10:00 and one counter switched off: 2 counters × 2 h on 8 December."""
    url = office_url(demo.frankenthal)
    data = page_form_data(anna.get(url))
    del data["_save"]
    data[f"opening_hours-{row_index(data, 'opening_hours', weekday='1')}-closes"] = "10:00"
    del data[f"counters-{row_index(data, 'counters', name='Schalter 3')}-is_active"]
    data["_preview_capacity"] = "Preview capacity"

    response = anna.post(url, data)

    assert response.status_code == 200
    assert capacity_row(response, DAY).startswith("Tue 12/08/2026 2 4:00")
    assert capacity_row(response, dt.date(2026, 12, 9)).startswith("Wed 12/09/2026 2 8:00")
    assert demo.frankenthal.counters.filter(is_active=True).count() == 3, "nothing saved"


def test_a_preview_with_invalid_rows_asks_to_correct_them(anna, demo):
    url = office_url(demo.frankenthal)
    data = page_form_data(anna.get(url))
    del data["_save"]
    add_inline_row(
        data,
        "closures",
        start_date="2026-12-09",
        end_date="2026-12-08",
        reason="falsch",
        start_time="",
        end_time="",
        counter="",
    )
    data["_preview_capacity"] = "Preview capacity"

    response = anna.post(url, data)

    assert response.status_code == 200
    assert "The preview needs valid entries" in response.content.decode()
    assert not Closure.objects.exists()


def test_office_capacity_of_a_closed_day_is_zero(demo):
    """The selector itself: a whole-office closure leaves no working time and names the reason."""
    Closure.objects.create(office=demo.frankenthal, start_date=DAY, end_date=DAY, reason="Stromausfall")
    days = {d.day: d for d in office_capacity(office=demo.frankenthal, date_from=dt.date(2026, 12, 7), days=3, now=NOW)}
    assert (days[DAY].has_capacity, days[DAY].working_minutes, days[DAY].reason) == (False, 0, "Stromausfall")
    assert days[dt.date(2026, 12, 7)].working_minutes == 3 * 240


def test_saving_a_closure_that_hits_bookings_points_to_the_staff_area(anna, demo):
    walk_in(demo, start=berlin(2026, 12, 8, 9, 0))
    url = office_url(demo.frankenthal)
    data = add_inline_row(
        page_form_data(anna.get(url)),
        "closures",
        start_date="2026-12-08",
        end_date="2026-12-08",
        reason="Betriebsausflug",
        start_time="",
        end_time="",
        counter="",
    )

    response = anna.post(url, data, follow=True)

    page = response.content.decode()
    assert "1 booked appointment lies in the closure “Betriebsausflug (08.12.2026–08.12.2026)”." in page
    assert reverse("clerk:closures", args=[demo.frankenthal.slug]) in page


def test_closing_the_whole_office_from_the_capacity_table_moves_the_bookings(anna, demo, clock):
    """The table links each day to the staff area's block page, where an office lead (or a
    superuser) closes the whole office: the relocation runs and its outcome is shown."""
    walk_in(demo, start=berlin(2026, 12, 8, 9, 0), email="erika@example.org")
    block_url = reverse("clerk:block", args=[demo.frankenthal.slug])
    assert f"{block_url}?day=2026-12-08" in anna.get(office_url(demo.frankenthal)).content.decode()

    result = anna.post(block_url, {"counter": "office", "day": "2026-12-08", "reason": "Betriebsausflug"})

    assert result.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", result.content.decode()))
    assert "1 appointment was affected" in text
    assert "new times offered by e-mail" in text
    row = capacity_row(anna.get(office_url(demo.frankenthal)), DAY)
    assert "no capacity" in row and "Betriebsausflug" in row
