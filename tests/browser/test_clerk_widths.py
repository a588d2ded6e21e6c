"""Every page of the staff area fits a phone (375 px) and a desk screen (1280 px): no horizontal
scrolling, and axe-core finds no WCAG 2.1 A/AA violation. The pages as a clerk walks through them:
the day with the walk-in and phone booking form (also sent back with errors), a booking's page,
moving it, the follow-up after "documents incomplete", the search (also for an unknown reference),
blocking a counter, the blocks and closures, the reports, the weekly hours, the year's closures and
holidays (also with a closure's effect before saving), and the start page of an administration's
administrator who works at no office.

Tuesday, 1 December 2026 at Frankenthal (the frozen clock, moved to 10:15): a booking at 08:00
completed with "documents incomplete", one at 11:00 still to come.

SCREENSHOT_DIR=docs/screenshots saves the day, the booking's page, the weekly hours, the blocks and
closures and the year's calendar at both widths as clerk-*.png (the top of each page).
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

from tests.browser.support import require_browser

require_browser()

from django.contrib.auth import get_user_model  # noqa: E402

from appointments.domain import booking, clerk  # noqa: E402
from appointments.models import VisitOutcome  # noqa: E402
from offices.models import Administration, AdministrationManager, Closure, Municipality, Office, Service  # noqa: E402
from tests.browser.support import Scanner  # noqa: E402
from tests.conftest import berlin  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

SCREENSHOTS = os.environ.get("SCREENSHOT_DIR", "")
NO_HORIZONTAL_SCROLLING = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
# What sticks out of the screen (outside the tables' own scrolling regions), to name in a failure.
TOO_WIDE = """() => [...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .filter(e => !e.closest(".table-scroll") && !e.closest(".visually-hidden"))
  .slice(0, 8)
  .map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""


@pytest.fixture
def day(portal):
    office = Office.objects.get(slug="frankenthal")
    home = Municipality.objects.get(slug="frankenthal-pfalz")
    umschreibung = Service.objects.get(slug="umschreibung")
    made = {}
    for key, hour, name in (("done", 8, "Dorothea Unvollständig-Nachreicher"), ("coming", 11, "Konrad Kommt")):
        made[key], _token = booking.book_in_office(
            office=office,
            start=berlin(2026, 12, 1, hour, 0),
            services=[umschreibung],
            vehicles=1,
            municipality=home,
            name=name,
            email="konrad@example.org",
            phone="06233 123456",
            channel="phone",
            now=portal.clock.now,
        )
    admin = get_user_model().objects.get(username="admin")
    portal.clock.now = berlin(2026, 12, 1, 8, 5)
    clerk.check_in(appointment=made["done"], user=admin, now=portal.clock.now)
    clerk.complete(
        appointment=made["done"], user=admin, now=portal.clock.now, outcome=VisitOutcome.DOCUMENTS_INCOMPLETE
    )
    portal.clock.now = berlin(2026, 12, 1, 10, 15)
    # Blocks and closures to list: a counter's training on Thursday afternoon, Christmas Eve.
    counter = office.counters.order_by("name")[1]
    Closure.objects.create(
        office=office,
        counter=counter,
        start_date=dt.date(2026, 12, 3),
        end_date=dt.date(2026, 12, 3),
        start_time=dt.time(14),
        end_time=dt.time(16),
        reason="Schulung zur neuen Zulassungssoftware (i-Kfz Stufe 4) mit anschließender Besprechung",
        created_by=admin,
    )
    Closure.objects.create(
        office=office, start_date=dt.date(2026, 12, 24), end_date=dt.date(2026, 12, 24), reason="Heiligabend"
    )
    return made


def log_in(page, portal, path: str, username: str, password: str) -> None:
    page.goto(portal.url + path)
    page.wait_for_url("**/mitarbeiter/anmelden/**")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**" + path)


def check(page, scanner: Scanner, label: str, width: int, *, screenshot: str = "") -> None:
    assert page.evaluate(NO_HORIZONTAL_SCROLLING), (
        label,
        page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"),
        page.evaluate(TOO_WIDE),
    )
    scanner.scan(page, f"{label} at {width} px")
    if SCREENSHOTS and screenshot:
        # The top of the page (two screens on a phone): enough to judge, small enough to keep.
        height = 1600 if width < 600 else 1000
        page.screenshot(
            path=os.path.join(SCREENSHOTS, f"clerk-{screenshot}-{width}.png"),
            full_page=True,
            clip={"x": 0, "y": 0, "width": width, "height": height},
        )


def visit(page, portal, path: str) -> None:
    response = page.goto(portal.url + path)
    assert response is not None and response.status == 200, (path, response and response.status)


@pytest.mark.parametrize("width", [375, 1280])
def test_the_clerk_pages_fit_the_screen(portal, day, new_page, width):
    scanner = Scanner()
    page = new_page(width=width)
    schedule = "/mitarbeiter/frankenthal/2026-12-01/"
    log_in(page, portal, schedule, "admin", portal.accounts["admin"])
    check(page, scanner, "day", width, screenshot="day")

    # The walk-in and phone booking form, sent without a name and a concern: back with its errors.
    with page.expect_navigation():
        page.locator("#walk-in button[type=submit]").click()
    assert page.locator("#walk-in .error-summary, .error-summary").count() >= 1
    check(page, scanner, "walk-in form with errors", width)

    coming, done = day["coming"].reference, day["done"].reference
    visit(page, portal, f"/mitarbeiter/termin/{coming}/")
    assert coming in page.locator("main").inner_text()
    check(page, scanner, "booking", width, screenshot="booking")

    visit(page, portal, f"/mitarbeiter/termin/{coming}/verschieben/")
    check(page, scanner, "move", width)

    visit(page, portal, f"/mitarbeiter/termin/{done}/")
    assert page.locator(f"a[href$='/termin/{done}/folgetermin/']").count() == 1
    visit(page, portal, f"/mitarbeiter/termin/{done}/folgetermin/")
    assert page.locator("input[name=name]").input_value() == "Dorothea Unvollständig-Nachreicher"
    check(page, scanner, "follow-up", width)

    visit(page, portal, "/mitarbeiter/suche/")
    check(page, scanner, "search", width)
    page.goto(portal.url + "/mitarbeiter/suche/?reference=ZZZ-ZZZZ")
    check(page, scanner, "search without a hit", width)

    visit(page, portal, "/mitarbeiter/frankenthal/sperren/?day=2026-12-01")
    check(page, scanner, "block", width)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").last.click()
    check(page, scanner, "block with errors", width)

    visit(page, portal, "/mitarbeiter/frankenthal/sperren/liste/")
    check(page, scanner, "blocks and closures", width, screenshot="closures")

    visit(page, portal, "/mitarbeiter/berichte/")
    check(page, scanner, "reports", width)

    visit(page, portal, "/mitarbeiter/frankenthal/oeffnungszeiten/")
    check(page, scanner, "weekly hours", width, screenshot="hours-week")

    visit(page, portal, "/mitarbeiter/frankenthal/oeffnungszeiten/2026/")
    check(page, scanner, "year", width, screenshot="hours-year")
    page.locator("#id_start_date").fill("2026-12-01")
    page.locator("#id_reason").fill("Personalversammlung")
    with page.expect_navigation():
        page.locator("button[name=preview]").click()
    effect = page.locator("#closure-effect").inner_text()
    assert "noch nicht gespeichert" in effect and coming in effect
    check(page, scanner, "year with a closure's effect", width)
    if SCREENSHOTS:
        page.locator("#closure-effect").screenshot(path=os.path.join(SCREENSHOTS, f"clerk-closure-effect-{width}.png"))
    scanner.assert_clean()


@pytest.mark.parametrize("width", [375, 1280])
def test_the_start_page_of_an_administrations_administrator_fits_the_screen(portal, new_page, width):
    scanner = Scanner()
    user = get_user_model().objects.create_user(
        "verwaltung-ft", "v@example.org", "Ein-langes-Passwort-42", is_staff=True
    )
    AdministrationManager.objects.create(
        user=user, administration=Administration.objects.get(offices__slug="frankenthal")
    )
    page = new_page(width=width)
    log_in(page, portal, "/mitarbeiter/", "verwaltung-ft", "Ein-langes-Passwort-42")
    assert "Zulassungsstelle Frankenthal" in page.locator("main").inner_text()
    check(page, scanner, "administrator's start", width)
    with page.expect_navigation():
        page.locator("main a", has_text="Wöchentliche Öffnungszeiten").first.click()
    check(page, scanner, "administrator's weekly hours", width)
    scanner.assert_clean()
