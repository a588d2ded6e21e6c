"""The Frankenthal clerk in a real browser: logs in, checks a citizen in from the day's schedule,
opens the booking, searches, blocks a counter and sees the result, the list of blocks, the print
view and a refusal; the administrator's reports. Every page is scanned with axe-core (WCAG 2.1 A
and AA), in German and in English.

Two citizens booked online for today at Frankenthal, 09:00 and 10:00; the clock is 08:50.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.support import require_browser

require_browser()

from appointments.domain import booking  # noqa: E402
from appointments.models import Appointment, Status  # noqa: E402
from offices.models import Municipality, Office, Service  # noqa: E402
from tests.conftest import berlin  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)


def confirmed_online_booking(clock, start: dt.datetime, name: str) -> Appointment:
    """A citizen's booking through the same services as the pages: hold, submit, confirm."""
    appointment, hold_token = booking.place_hold(
        office=Office.objects.get(slug="frankenthal"),
        start=start,
        services=[Service.objects.get(slug="umschreibung")],
        vehicles=1,
        municipality=Municipality.objects.get(slug="frankenthal-pfalz"),
        now=clock.now,
        language="de",
    )
    booking.submit_booking(
        appointment=appointment,
        hold_token=hold_token,
        name=name,
        email=f"{name.split()[0].lower()}@example.org",
        phone="06233 12345",
        privacy_consent=True,
        now=clock.now,
    )
    token = appointment.notifications.get(kind="opt_in").payload["token"]
    booking.confirm_booking(appointment=appointment, token=token, now=clock.now)
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED
    return appointment


@pytest.mark.parametrize("language", ["de", "en"])
def test_clerk_logs_in_and_checks_a_citizen_in(portal, new_page, scanner, language):
    first = confirmed_online_booking(portal.clock, berlin(2026, 12, 1, 9, 0), "Erika Mustermann")
    second = confirmed_online_booking(portal.clock, berlin(2026, 12, 1, 10, 0), "Max Mustermann")
    portal.clock.now = berlin(2026, 12, 1, 8, 50)
    page = new_page(language=language, width=1280)

    page.goto(portal.url + "/mitarbeiter/")
    page.wait_for_url("**/mitarbeiter/anmelden/**")
    scanner.scan(page, "login")
    page.locator("input[name=username]").fill("clerk-frankenthal")
    page.locator("input[name=password]").fill("wrong password")
    page.locator("main button[type=submit]").click()
    page.wait_for_selector("#error-summary")
    scanner.scan(page, "login with an error")
    page.locator("input[name=password]").fill(portal.accounts["clerk-frankenthal"])
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/mitarbeiter/frankenthal/2026-12-01/")
    assert first.reference in page.locator("#schedule").inner_text()
    scanner.scan(page, "schedule")

    # Check the first citizen in from the schedule.
    page.locator(f"form[action$='/{first.reference}/checkin/'] button").click()
    page.wait_for_url("**/mitarbeiter/frankenthal/2026-12-01/**")
    first.refresh_from_db()
    assert first.status == Status.CHECKED_IN
    scanner.scan(page, "schedule after a check-in")

    # A walk-in booked without details: the errors are listed and linked.
    page.locator("#walk-in button[type=submit]").click()
    page.wait_for_selector("#walk-in #error-summary")
    scanner.scan(page, "walk-in with errors")
    page.goto(portal.url + "/mitarbeiter/frankenthal/2026-12-01/")

    page.locator(f"#schedule a[href$='/termin/{first.reference}/']").click()
    page.wait_for_url(f"**/termin/{first.reference}/")
    assert page.locator(".status-tag.status-checked_in").count() == 1
    scanner.scan(page, "booking")

    page.goto(portal.url + "/mitarbeiter/suche/")
    scanner.scan(page, "search")
    page.locator("#id_reference").fill("FT-NOTHIN")
    page.locator("main button[type=submit]").click()
    page.wait_for_selector("main .notice-error")
    scanner.scan(page, "search without a result")

    # Block the second citizen's counter at 10:00: the booking moves to another counter.
    page.goto(portal.url + "/mitarbeiter/frankenthal/sperren/")
    scanner.scan(page, "block")
    page.locator("main button[type=submit]").first.click()
    page.wait_for_selector("#error-summary")
    scanner.scan(page, "block with errors")
    page.locator("#id_counter").select_option(str(second.counter_id))
    page.locator("#id_day").fill("2026-12-01")
    page.locator("#id_start_time").fill("10:00")
    page.locator("#id_end_time").fill("10:30")
    page.locator("#id_reason").fill("Schulung")
    page.locator("main button[type=submit]").first.click()
    page.wait_for_selector(".result-table")
    old_counter = second.counter_id
    second.refresh_from_db()
    assert second.counter_id != old_counter and second.status == Status.CONFIRMED
    scanner.scan(page, "block result")

    page.goto(portal.url + "/mitarbeiter/frankenthal/sperren/liste/")
    scanner.scan(page, "blocks and closures")
    page.goto(portal.url + "/mitarbeiter/frankenthal/2026-12-01/?print=1")
    assert second.reference in page.locator("main").inner_text()
    scanner.scan(page, "print view")
    response = page.goto(portal.url + "/mitarbeiter/schifferstadt/")
    assert response.status == 403
    scanner.scan(page, "another office (403)")

    # The reports, as the demo administrator.
    admin = new_page(language=language, width=1280)
    admin.goto(portal.url + "/mitarbeiter/anmelden/")
    admin.locator("input[name=username]").fill("admin")
    admin.locator("input[name=password]").fill(portal.accounts["admin"])
    admin.locator("main button[type=submit]").click()
    admin.wait_for_url("**/mitarbeiter/*/2026-12-01/")
    assert admin.goto(portal.url + "/mitarbeiter/berichte/").status == 200
    scanner.scan(admin, "reports")
    scanner.assert_clean()
