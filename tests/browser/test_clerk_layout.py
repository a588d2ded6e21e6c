"""The clerk's day schedule fits the screen: on a phone (375 px), a desk screen (1280 px) and a
counter screen (1920 px) the page needs no horizontal scrolling, no booking card's content sticks
out of its card (bounding boxes), a 150-character name is shortened with the full name in its
title, and axe-core finds no WCAG 2.1 A/AA violation; the print view fits 1280 px too.

A busy Tuesday, 1 December 2026, at the Frankenthal office (08:00–12:00): bookings on every
counter, one with a 150-character name and a long note, one checked in; the clock is 09:35, so
the morning's first hour is past.
"""

from __future__ import annotations

import pytest

from tests.browser.support import require_browser

require_browser()

from django.contrib.auth import get_user_model  # noqa: E402

from appointments.domain import booking, clerk  # noqa: E402
from offices.models import Municipality, Office, Service  # noqa: E402
from tests.browser.support import Scanner  # noqa: E402
from tests.conftest import berlin  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

LONG_NAME = ("Maximiliane Friederike Wilhelmine von und zu Hohenzollern-Sigmaringen-Oberschwaben " * 2)[:150].strip()
SCHEDULE = "/mitarbeiter/frankenthal/2026-12-01/"

# Every element inside a card lies within the card's box (1 px for rounding); visually hidden
# text is clipped to nothing and left out.
OVERFLOWING_CARDS = """() => {
  const out = [];
  for (const card of document.querySelectorAll("#schedule .entry")) {
    const box = card.getBoundingClientRect();
    for (const element of card.querySelectorAll("*")) {
      if (element.closest(".visually-hidden")) continue;
      const r = element.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) {
        out.push(`${card.innerText.slice(0, 40).replace(/\\s+/g, " ")} | ${element.tagName}.${element.className}`);
      }
    }
  }
  return out;
}"""

COLUMNS_OVERLAP = """() => {
  const boxes = [...document.querySelectorAll("#schedule .counter-column")].map(c => c.getBoundingClientRect());
  for (const [i, a] of boxes.entries())
    for (const b of boxes.slice(i + 1))
      if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) return true;
  return false;
}"""

NO_HORIZONTAL_SCROLLING = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture
def busy_day(portal):
    office = Office.objects.get(slug="frankenthal")
    home = Municipality.objects.get(slug="frankenthal-pfalz")
    services = {s.slug: s for s in Service.objects.all()}
    made = []
    plan = [
        (8, 0, LONG_NAME, ["umschreibung", "ausserbetriebsetzung"], 2),
        (8, 0, "Erika Mustermann", ["neuzulassung"], 1),
        (8, 0, "Max Mustermann", ["umschreibung"], 3),
        (9, 30, "Jürgen Çelik-Schmidt", ["umschreibung"], 1),
        (9, 40, "Ana María de los Ángeles García", ["neuzulassung"], 1),
        (10, 0, "Zoë O'Brien", ["ausserbetriebsetzung"], 1),
        (10, 0, "Ben Lange", ["umschreibung"], 1),
        (10, 30, "Olga Weber", ["neuzulassung", "umschreibung"], 2),
    ]
    for hour, minute, name, slugs, vehicles in plan:
        appointment, _token = booking.book_in_office(
            office=office,
            start=berlin(2026, 12, 1, hour, minute),
            services=[services[s] for s in slugs],
            vehicles=vehicles,
            municipality=home,
            name=name,
            channel="phone",
            now=portal.clock.now,
        )
        made.append(appointment)
    admin = get_user_model().objects.get(username="admin")
    clerk.set_note(
        appointment=made[0],
        user=admin,
        note="Bringt die Vollmacht der Erbengemeinschaft mit; der Fahrzeugbrief liegt beim Notar, " * 2,
        now=portal.clock.now,
    )
    portal.clock.now = berlin(2026, 12, 1, 9, 35)
    clerk.check_in(appointment=made[3], user=admin, now=portal.clock.now)
    return made


def log_in(page, portal):
    page.goto(portal.url + SCHEDULE)
    page.wait_for_url("**/mitarbeiter/anmelden/**")
    page.locator("input[name=username]").fill("clerk-frankenthal")
    page.locator("input[name=password]").fill(portal.accounts["clerk-frankenthal"])
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**" + SCHEDULE)


@pytest.mark.parametrize("width", [375, 1280, 1920])
def test_the_busy_day_fits_the_screen(portal, busy_day, new_page, width):
    scanner = Scanner()
    page = new_page(width=width)
    log_in(page, portal)

    assert page.locator("#schedule .entry-appointment").count() == len(busy_day)
    assert page.evaluate(NO_HORIZONTAL_SCROLLING), page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert page.evaluate(OVERFLOWING_CARDS) == []
    assert not page.evaluate(COLUMNS_OVERLAP)
    # The long name is shortened on the card; the full name is in its title.
    who = page.locator("#schedule .who", has_text="Maximiliane").first
    assert who.get_attribute("title") == LONG_NAME
    assert who.evaluate("e => e.scrollHeight > e.clientHeight"), "the 150-character name is not shortened"
    # On a desk screen and wider, the counters stand side by side.
    if width >= 1280:
        tops = page.locator("#schedule .counter-column").evaluate_all(
            "cs => cs.map(c => c.getBoundingClientRect().top)"
        )
        assert len(set(tops)) == 1, tops
    # The past is greyed and says so; free time starts now.
    assert page.locator("#schedule .entry.past").count() >= 3
    assert page.locator("#schedule .entry.past .visually-hidden").first.text_content().strip() == "Vergangen:"
    assert page.locator("#schedule .entry-gap").first.inner_text().startswith("09:35")
    scanner.scan(page, f"schedule at {width} px")
    scanner.assert_clean()


def test_the_print_view_fits_1280_px(portal, busy_day, new_page):
    scanner = Scanner()
    page = new_page(width=1280)
    log_in(page, portal)
    page.goto(portal.url + SCHEDULE + "?print=1")

    assert LONG_NAME in page.locator("main").inner_text()
    assert page.evaluate(NO_HORIZONTAL_SCROLLING)
    overflowing = page.evaluate(
        """() => [...document.querySelectorAll("table")]
          .filter(t => t.getBoundingClientRect().right > document.documentElement.clientWidth).length"""
    )
    assert overflowing == 0
    scanner.scan(page, "print view at 1280 px")
    scanner.assert_clean()
