"""The office-hours pages in a real browser: the week grid and the year's calendar fit a phone
(375 px) and a desk screen (1280 px) without horizontal scrolling, and axe-core finds no WCAG 2.1
A/AA violation, before and after a preview, with an error, and after a one-click closure.

The demo administrator changes Frankenthal's Thursday afternoon to 14:00–19:00 on Tuesday,
1 December 2026 (the frozen clock); the pages work without JavaScript, so only the forms are used.
"""

from __future__ import annotations

import os

import pytest

from tests.browser.support import require_browser

require_browser()

from offices.models import Closure  # noqa: E402
from tests.browser.support import Scanner  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

HOURS = "/mitarbeiter/frankenthal/oeffnungszeiten/"
YEAR = "/mitarbeiter/frankenthal/oeffnungszeiten/2026/"
NO_HORIZONTAL_SCROLLING = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
# What sticks out of the screen (outside the tables' own scrolling regions), to name in a failure.
TOO_WIDE = """() => [...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .filter(e => !e.closest(".table-scroll"))
  .slice(0, 8)
  .map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)"""
# Screenshots for a person to look at, when asked for: SCREENSHOT_DIR=/some/folder.
SCREENSHOTS = os.environ.get("SCREENSHOT_DIR", "")


def log_in(page, portal, path: str):
    page.goto(portal.url + path)
    page.wait_for_url("**/mitarbeiter/anmelden/**")
    page.locator("input[name=username]").fill("admin")
    page.locator("input[name=password]").fill(portal.accounts["admin"])
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**" + path)


def check(page, scanner: Scanner, label: str, width: int) -> None:
    assert page.evaluate(NO_HORIZONTAL_SCROLLING), (
        label,
        page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"),
        page.evaluate(TOO_WIDE),
    )
    scanner.scan(page, f"{label} at {width} px")
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"hours-{label}-{width}.png"), full_page=True)
        page.screenshot(path=os.path.join(SCREENSHOTS, f"hours-{label}-{width}-top.png"))
        for number, section in enumerate(page.locator("main section").all()):
            section.screenshot(path=os.path.join(SCREENSHOTS, f"hours-{label}-{width}-section{number}.png"))


@pytest.mark.parametrize("width", [375, 1280])
def test_the_week_grid_and_its_preview_fit_the_screen(portal, new_page, width):
    scanner = Scanner()
    page = new_page(width=width)
    log_in(page, portal, HOURS)
    check(page, scanner, "week", width)

    page.locator("#id_day3_1_closes").fill("19:00")
    with page.expect_navigation():
        page.locator("button[name=preview]").click()
    assert "noch nicht gespeichert" in page.locator("main").inner_text()
    check(page, scanner, "preview", width)

    page.locator("#id_day3_1_closes").fill("13:00")
    with page.expect_navigation():
        page.locator("button[name=preview]").click()
    assert "muss nach dem Beginn" in page.locator(".error-summary").inner_text()
    check(page, scanner, "error", width)

    page.locator("#id_day3_1_closes").fill("19:00")
    with page.expect_navigation():
        page.locator("button[name=save]").click()
    assert "Die Öffnungszeiten sind gespeichert" in page.locator("main").inner_text()
    scanner.assert_clean()


@pytest.mark.parametrize("width", [375, 1280])
def test_the_year_calendar_fits_the_screen_and_closes_christmas_eve(portal, new_page, width):
    scanner = Scanner()
    page = new_page(width=width)
    log_in(page, portal, YEAR)
    check(page, scanner, "year", width)

    with page.expect_navigation():
        page.locator("form", has=page.locator("input[value=christmas-eve]")).locator("button").click()
    assert Closure.objects.filter(office__slug="frankenthal", reason="Heiligabend").exists()
    assert "Heiligabend" in page.locator("main").inner_text()
    check(page, scanner, "year-after-preset", width)
    scanner.assert_clean()
