"""The time picker in a real browser, phone first: a Schifferstadt resident at 375 px finds their
own office's times first, nothing scrolls sideways, the day strip and "all times" work without
JavaScript and by keyboard, and axe-core finds no WCAG 2.1 A/AA violation.

The clock is Tuesday, 1 December 2026, 07:00. With SCREENSHOT_DIR set, the phone and desktop views
are saved there (docs/screenshots/time-picker-375.png and -1280.png in the README come from
`SCREENSHOT_DIR=docs/screenshots pytest tests/browser/test_time_picker.py`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.support import require_browser, tab_to

require_browser()

pytestmark = pytest.mark.django_db(transaction=True)

CALENDAR = "/termin/kalender/?service=umschreibung&vehicles=1&municipality=schifferstadt"

# Where each time button is, which office it belongs to, whether it is shown (the full lists are
# in closed <details>), its text on screen and its whole text (with the parts only a screen reader reads).
TIME_BUTTONS = """() => [...document.querySelectorAll('#times button.time')].map(b => {
  const box = b.getBoundingClientRect();
  return {office: b.form.elements.office.value, top: box.top + window.scrollY, bottom: box.bottom,
          visible: b.checkVisibility(), name: b.textContent.trim(),
          label: [...b.childNodes].filter(n => n.nodeType === Node.TEXT_NODE).map(n => n.textContent).join('')};
})"""


def save_screenshot(page, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name))


def test_on_a_phone_the_home_office_comes_first_and_nothing_scrolls_sideways(portal, new_page, scanner):
    page = new_page(width=375, height=740)
    page.emulate_media(reduced_motion="reduce")  # no smooth scrolling: positions are final at once
    page.goto(portal.url + CALENDAR)
    scanner.scan(page, "calendar (phone)")  # axe-core, and no horizontal scrolling at 375 px

    # The day strip is one week: at most seven days, the first free day chosen.
    assert page.locator("#days .days li").count() <= 7
    assert page.locator("#days .days a[aria-current=date]").count() == 1

    buttons = [b for b in page.evaluate(TIME_BUTTONS) if b["visible"]]
    assert buttons[0]["office"] == "schifferstadt"
    first_other = min(b["top"] for b in buttons if b["office"] != "schifferstadt")
    # Every visible Schifferstadt time comes before any Frankenthal time: no scrolling past them.
    assert max(b["top"] for b in buttons if b["office"] == "schifferstadt") < first_other
    # What a screen reader hears: the day, the time and the office, not a bare "09:00".
    assert buttons[0]["name"] == "Di., 1. Dezember, 09:00 Uhr, Zulassungsstelle Rhein-Pfalz-Kreis"
    assert buttons[0]["label"] == "09:00"

    # Choosing Thursday in the strip (a plain link) jumps to that day's times: the first one, of
    # the home office, is on screen without scrolling.
    page.locator("#days .days a", has_text="3.12.").click()
    page.wait_for_url("**date=2026-12-03#times")
    first = page.locator("#times button.time").first
    assert first.get_attribute("value") == "2026-12-03T07:30:00+01:00"
    box = first.bounding_box()
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= 740, box
    assert page.evaluate("() => document.querySelector('#times button.time').form.elements.office.value") == (
        "schifferstadt"
    )
    scanner.scan(page, "calendar, Thursday (phone)")
    page.evaluate("() => document.getElementById('days').scrollIntoView()")
    save_screenshot(page, "time-picker-375.png")
    scanner.assert_clean()


def test_all_times_open_by_keyboard_and_the_weeks_change_without_javascript(portal, browser, scanner):
    context = browser.new_context(
        viewport={"width": 375, "height": 740},
        java_script_enabled=False,
        locale="de-DE",
        extra_http_headers={"Accept-Language": "de"},
        reduced_motion="reduce",
    )
    try:
        page = context.new_page()
        page.goto(portal.url + CALENDAR + "&date=2026-12-03")
        morning = page.locator("#times .office-times").first.locator(".part-of-day").first
        short = morning.locator(".times-short button.time")
        assert short.count() <= 20  # 07:30–11:45: one per quarter hour
        assert morning.locator("details .times button.time").first.is_hidden()

        # "Alle Uhrzeiten am Vormittag": reached by Tab, opened with Enter; the full list (every
        # five minutes) replaces the short one.
        # (The office card's "Öffnungszeiten, Anfahrt …" comes first: not this one.)
        tab_to(page, lambda f: f["tag"] == "summary" and "Alle Uhrzeiten am Vormittag" in f["text"], limit=200)
        page.keyboard.press("Enter")
        assert morning.locator("details").get_attribute("open") is not None
        assert morning.locator("details button.time").nth(1).get_attribute("value") == "2026-12-03T07:35:00+01:00"
        assert morning.locator("details button.time").nth(1).is_visible()
        assert short.first.is_hidden()

        # The next week by a plain link: its first free day, Monday 7 December.
        page.get_by_role("link", name="Nächste Woche").click()
        page.wait_for_url("**date=2026-12-07#days")
        assert "7.12." in page.locator("#days .days a[aria-current=date]").inner_text()
        assert page.get_by_role("link", name="Vorherige Woche").count() == 1
    finally:
        context.close()


def test_on_a_desktop_the_picker_passes_axe(portal, new_page, scanner):
    page = new_page(width=1280, height=900)
    page.emulate_media(reduced_motion="reduce")
    page.goto(portal.url + CALENDAR + "&date=2026-12-03")
    page.locator("#times .part-of-day details summary").first.click()  # with the full list open too
    scanner.scan(page, "calendar with all morning times (desktop)")
    page.locator("#times .part-of-day details summary").first.click()
    page.evaluate("() => document.getElementById('days').scrollIntoView()")
    save_screenshot(page, "time-picker-1280.png")
    scanner.assert_clean()
