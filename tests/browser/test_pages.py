"""axe-core scans (WCAG 2.1 A and AA) of the citizen pages outside the booking journey: the
information pages of the footer (the offices, accessibility, easy language, imprint, privacy), the
error pages (no such booking, a wrong link: the same 404, an unknown address), the answer for a
postcode outside both areas and a reservation that has run out; in German and in English."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.browser.support import require_browser

require_browser()

from appointments.domain import booking  # noqa: E402
from offices.models import Municipality, Office, Service  # noqa: E402
from tests.conftest import berlin  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)


def a_booking(clock):
    """A submitted booking (waiting for its confirmation), made through the booking service."""
    appointment, hold_token = booking.place_hold(
        office=Office.objects.get(slug="frankenthal"),
        start=berlin(2026, 12, 1, 10, 0),
        services=[Service.objects.get(slug="umschreibung")],
        vehicles=1,
        municipality=Municipality.objects.get(slug="frankenthal-pfalz"),
        now=clock.now,
        language="de",
    )
    booking.submit_booking(
        appointment=appointment,
        hold_token=hold_token,
        name="Erika Mustermann",
        email="erika@example.org",
        phone="",
        privacy_consent=True,
        now=clock.now,
    )
    return appointment


@pytest.mark.parametrize("language", ["de", "en"])
def test_information_and_error_pages_have_no_violations(portal, new_page, scanner, language):
    page = new_page(language=language, width=375 if language == "de" else 1280)
    footer = ["/standorte/", "/barrierefreiheit/", "/leichte-sprache/", "/impressum/", "/datenschutz/"]
    page.goto(portal.url + "/")
    hrefs = page.locator("footer a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert set(footer) <= set(hrefs)
    for path in footer:
        page.locator(f"footer a[href='{path}']").click()
        page.wait_for_url(f"**{path}")
        assert page.locator("html").get_attribute("lang") == language
        scanner.scan(page, path)

    appointment = a_booking(portal.clock)
    statuses = {}
    for label, path in [
        ("no such booking (404)", "/termin/XX-NOTHING/"),
        ("wrong link (404, like an unknown booking)", f"/termin/{appointment.reference}/?token=wrong"),
        ("unknown address (404)", "/gibt-es-nicht/"),
        ("outside both areas", "/termin/?service=umschreibung&vehicles=1&postcode=67229"),
    ]:
        response = page.goto(portal.url + path)
        statuses[label] = response.status
        scanner.scan(page, label)
    assert statuses == {
        "no such booking (404)": 404,
        "wrong link (404, like an unknown booking)": 404,
        "unknown address (404)": 404,
        "outside both areas": 200,
    }

    # Someone else takes the time while the citizen looks at it: the nearest free times instead.
    page.goto(portal.url + "/termin/kalender/?service=umschreibung&vehicles=1&municipality=lambsheim")
    earliest = page.locator(".earliest button[type=submit]").get_attribute("value")
    office = Office.objects.get(slug=page.locator(".earliest input[name=office]").get_attribute("value"))
    for _ in range(office.counters.count()):
        booking.place_hold(
            office=office,
            start=dt.datetime.fromisoformat(earliest),
            services=[Service.objects.get(slug="umschreibung")],
            vehicles=1,
            municipality=Municipality.objects.get(slug="lambsheim"),
            now=portal.clock.now,
        )
    page.locator(".earliest button[type=submit]").click()
    page.wait_for_selector("#alternatives-title")
    scanner.scan(page, "time just taken")

    # A reservation that ran out while the citizen was away.
    page.goto(portal.url + "/termin/kalender/?service=umschreibung&vehicles=1&municipality=lambsheim")
    page.locator(".earliest button[type=submit]").click()
    page.wait_for_url("**/angaben/")
    portal.clock.now += dt.timedelta(hours=1)
    page.reload()
    assert page.locator("a.button.primary[href*='/termin/kalender/']").count() == 1
    scanner.scan(page, "reservation run out")
    scanner.assert_clean()
