"""The citizen's journey as pictures: every step at phone (375 px) and desktop (1280 px) width, as a
full-page screenshot, for a person to look at (and to compare one version of the pages with another).

Steps: start, search form, search with errors, calendar (day strip and times), contact form, contact
form with errors, submitted, confirm (from the e-mail link), confirmed, manage, move (choose a time,
then the question before the move), moved, cancel, cancelled, the booking's details, and the
calendar in English.

The screenshots go to the test artefacts directory, `var/test-artefacts/journey/` in the repository
(ignored by git; `TEST_ARTEFACTS_DIR` names another), and with `SCREENSHOT_DIR` set into that
directory too: `docs/screenshots/journey-before/` and `journey-after/` come from
`SCREENSHOT_DIR=docs/screenshots/journey-after pytest tests/browser/test_journey_screenshots.py`.

The walk uses the pages' URLs, form actions and field names, not their classes, so it runs against
any look of the pages. The clock is Tuesday, 1 December 2026, 07:00.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core import mail

from tests.browser.support import link_in, require_browser

require_browser()

from appointments.models import Appointment, Status  # noqa: E402
from appointments.outbox import notifications  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

REPOSITORY = Path(__file__).resolve().parents[2]
CALENDAR = "/termin/kalender/?service=umschreibung&vehicles=1&municipality=frankenthal-pfalz"
MOVE_DAY = "2026-12-03"


def folders() -> list[Path]:
    artefacts = Path(os.environ.get("TEST_ARTEFACTS_DIR") or REPOSITORY / "var" / "test-artefacts") / "journey"
    result = [artefacts]
    if os.environ.get("SCREENSHOT_DIR"):
        result.append(Path(os.environ["SCREENSHOT_DIR"]))
    for folder in result:
        folder.mkdir(parents=True, exist_ok=True)
    return result


class Camera:
    """Takes the numbered full-page screenshots of one walk; a step with a script error or without
    a heading is noted and fails the test at the end."""

    def __init__(self, width: int):
        self.width = width
        self.folders = folders()
        self.taken: list[str] = []
        self.problems: list[str] = []

    def shoot(self, page, step: str) -> None:
        page.wait_for_load_state("load")
        if page.locator("h1").count() == 0:
            self.problems.append(f"{step}: no heading at {page.url}")
        if page.js_errors:
            self.problems.append(f"{step}: JavaScript errors {page.js_errors} at {page.url}")
            page.js_errors.clear()
        name = f"{self.width}-{len(self.taken) + 1:02d}-{step}.png"
        for folder in self.folders:
            page.screenshot(path=str(folder / name), full_page=True, animations="disabled")
        self.taken.append(name)


def send_mail(portal) -> list:
    before = len(mail.outbox)
    notifications.send_due(now=portal.clock.now)
    return mail.outbox[before:]


def submit(page, action: str) -> None:
    """Press the last submit button (the form's main one, after e.g. "find municipality") of the
    main content's form that posts to `action`."""
    page.locator(f"main form[action*='{action}'] button[type=submit]").last.click()


def first_time(page, day: str = ""):
    """The first time button on screen (of the given day, if one is named)."""
    selector = f"button[name=start][value^='{day}']" if day else "button[name=start]"
    return page.locator(selector).locator("visible=true").first


@pytest.mark.parametrize("width", [375, 1280])
def test_journey_screenshots(portal, new_page, width):
    camera = Camera(width)
    page = new_page(width=width, height=740 if width < 600 else 900)
    page.emulate_media(reduced_motion="reduce")

    page.goto(portal.url + "/")
    camera.shoot(page, "start")

    page.goto(portal.url + "/termin/")
    camera.shoot(page, "search")
    submit(page, "/termin/")  # nothing chosen: the error summary
    page.wait_for_selector("#error-summary")
    camera.shoot(page, "search-errors")

    page.goto(portal.url + CALENDAR)
    camera.shoot(page, "calendar")

    first_time(page).click()
    page.wait_for_url("**/angaben/")
    camera.shoot(page, "contact-form")
    submit(page, "/angaben/")  # sent empty
    page.wait_for_selector("#error-summary")
    camera.shoot(page, "contact-form-errors")

    page.locator("#id_name").fill("Erika Mustermann")
    page.locator("#id_email").fill("erika@example.org")
    page.locator("#id_phone").fill("06233 12345")
    page.locator("#id_privacy_consent").check(force=True)
    submit(page, "/angaben/")
    page.wait_for_url("**/gesendet/")
    camera.shoot(page, "submitted")

    appointment = Appointment.objects.get()
    (opt_in,) = send_mail(portal)
    page.goto(link_in(opt_in, "/bestaetigen/"))
    camera.shoot(page, "confirm")
    submit(page, "/bestaetigen/")
    page.wait_for_load_state("load")
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED
    camera.shoot(page, "confirmed")

    confirmation = next(m for m in send_mail(portal) if "/termin/" in m.body)
    manage_url = link_in(confirmation, rf"/termin/{appointment.reference}/\?token=")
    page.goto(manage_url)
    camera.shoot(page, "manage")

    # Move: the calendar of the move, on Thursday; a time; the question; yes.
    move_url = page.locator("main a[href*='/verschieben/']").first.get_attribute("href")
    page.goto(portal.url + move_url + f"&date={MOVE_DAY}")
    camera.shoot(page, "move-choose")
    first_time(page, MOVE_DAY).click()
    page.wait_for_selector("button[name=confirmed]")
    camera.shoot(page, "move-question")
    page.locator("button[name=confirmed]").click()
    page.wait_for_url(f"**/termin/{appointment.reference}/?token=*")
    appointment.refresh_from_db()
    assert appointment.start.date().isoformat() == MOVE_DAY
    camera.shoot(page, "moved")

    page.goto(portal.url + page.locator("main a[href*='/stornieren/']").first.get_attribute("href"))
    camera.shoot(page, "cancel")
    submit(page, "/stornieren/")
    page.wait_for_url(f"**/termin/{appointment.reference}/?token=*")
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    camera.shoot(page, "cancelled")

    # The details page of a second booking (its time, length, vehicles and the way back).
    page.goto(portal.url + CALENDAR)
    first_time(page).click()
    page.wait_for_url("**/angaben/")
    page.locator("#id_name").fill("Max Mustermann")
    camera.shoot(page, "details")

    english = new_page(language="en", width=width, height=740 if width < 600 else 900)
    english.emulate_media(reduced_motion="reduce")
    english.goto(portal.url + CALENDAR)
    assert english.locator("html").get_attribute("lang") == "en"
    camera.shoot(english, "calendar-en")

    assert len(camera.taken) == 17
    for folder in camera.folders:
        for name in camera.taken:
            assert (folder / name).stat().st_size > 5_000, name  # a page, not a blank
    assert not camera.problems, "\n".join(camera.problems)
