"""A citizen in a real browser: books, confirms from the e-mail link, moves and cancels the
appointment, in German and in English, on a phone (375 px) and on a desktop (1280 px). Every page
on the way is scanned with axe-core (WCAG 2.1 A and AA) and, on the phone, checked for reflow.

The clock is Tuesday, 1 December 2026, 07:00; the earliest time is 09:00 at Frankenthal.
"""

from __future__ import annotations

import pytest
from django.core import mail

from tests.browser.support import link_in, require_browser

require_browser()

from appointments.models import Appointment, Status  # noqa: E402
from appointments.outbox import notifications  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

# What the pages say, per language (German is the default, English on request).
WORDS = {
    "de": {
        "choose_time": "Termin auswählen",
        "confirmed": "bestätigt",
        "cancelled": "abgesagt",
        "opt_in_subject": "bestätigen",
        "moved": "verschoben",
    },
    "en": {
        "choose_time": "Choose a time",
        "confirmed": "confirmed",
        "cancelled": "cancelled",
        "opt_in_subject": "confirm",
        "moved": "moved",
    },
}


def send_mail(portal) -> list:
    """Send the outbox as the worker would at the test's clock; return the new messages."""
    before = len(mail.outbox)
    notifications.send_due(now=portal.clock.now)
    return mail.outbox[before:]


@pytest.mark.parametrize(
    "language, width, axe",
    [("de", 375, True), ("en", 1280, True), ("de", 1280, False), ("en", 375, False)],
    ids=["de-phone", "en-desktop", "de-desktop", "en-phone"],
)
def test_citizen_books_confirms_moves_and_cancels(portal, new_page, scanner, language, width, axe):
    """axe-core scans each language once (German on the phone, English on the desktop), which keeps
    the run short; the other two journeys check reflow and script errors on the same pages."""
    scanner.axe = axe
    words = WORDS[language]
    page = new_page(language=language, width=width)

    page.goto(portal.url + "/")
    assert page.locator("html").get_attribute("lang") == language
    scanner.scan(page, "start")

    page.locator("main a[href='/termin/']").first.click()
    page.wait_for_url("**/termin/")
    scanner.scan(page, "search")

    # Sent without a choice: the error summary, linked to the fields.
    page.locator("form.stack .actions button[type=submit]").click()
    page.wait_for_selector("#error-summary")
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    scanner.scan(page, "search with errors")

    page.locator("input[name=service][value=umschreibung]").check()
    page.locator("#id_postcode").fill("")
    page.locator("#id_municipality").select_option("frankenthal-pfalz")
    page.locator("form.stack .actions button[type=submit]").click()
    page.wait_for_url("**/termin/kalender/**")
    assert words["choose_time"] in page.locator("h1").inner_text()
    scanner.scan(page, "calendar")

    page.locator(".earliest button[type=submit]").click()
    page.wait_for_url("**/angaben/")
    scanner.scan(page, "details")

    # Sent empty: the error summary takes the focus.
    page.locator("form.stack .actions button[type=submit]").click()
    page.wait_for_selector("#error-summary")
    assert page.evaluate("() => document.activeElement.id") == "error-summary"
    scanner.scan(page, "details with errors")

    page.locator("#id_name").fill("Erika Mustermann")
    page.locator("#id_email").fill("erika@example.org")
    page.locator("#id_phone").fill("06233 12345")
    page.locator("#id_privacy_consent").check()
    page.locator("form.stack .actions button[type=submit]").click()
    page.wait_for_url("**/gesendet/")
    scanner.scan(page, "submitted")

    appointment = Appointment.objects.get()
    assert appointment.status == Status.UNCONFIRMED
    assert appointment.language == language
    (opt_in,) = send_mail(portal)
    assert words["opt_in_subject"] in opt_in.subject.lower()

    # The e-mail's link only shows the booking; the button on the page confirms it.
    page.goto(link_in(opt_in, "/bestaetigen/"))
    scanner.scan(page, "confirm (not yet confirmed)")
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_selector(".notice-success, .messages")
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED
    scanner.scan(page, "confirm (confirmed)")

    confirmation = next(m for m in send_mail(portal) if "/termin/" in m.body)
    page.goto(link_in(confirmation, rf"/termin/{appointment.reference}/\?token="))
    assert words["confirmed"] in page.locator(".status").inner_text()
    scanner.scan(page, "manage")

    # Move it to the first time of another day.
    first_start = appointment.start
    page.locator("a[href*='/verschieben/']").click()
    page.wait_for_url("**/verschieben/**")
    scanner.scan(page, "reschedule")
    page.locator(".days a:not([aria-current])").first.click()
    page.wait_for_url("**date=*")
    page.locator("#times button.time").first.click()
    # The question before the move: nothing has moved yet.
    page.wait_for_selector("button[name=confirmed]")
    appointment.refresh_from_db()
    assert appointment.start == first_start
    scanner.scan(page, "move question")
    page.locator("button[name=confirmed]").click()
    page.wait_for_url(f"**/termin/{appointment.reference}/?token=*")
    appointment.refresh_from_db()
    assert appointment.start.date() > first_start.date()
    assert appointment.status == Status.CONFIRMED
    assert words["moved"] in page.locator(".messages").inner_text().lower()
    scanner.scan(page, "manage (moved)")
    (moved,) = send_mail(portal)
    assert appointment.reference in moved.subject and words["moved"] in moved.subject

    page.locator("a[href*='/stornieren/']").click()
    page.wait_for_url("**/stornieren/**")
    scanner.scan(page, "cancel")
    page.locator("form button.danger[type=submit]").click()
    page.wait_for_url(f"**/termin/{appointment.reference}/?token=*")
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED
    assert words["cancelled"] in page.locator(".status").inner_text()
    scanner.scan(page, "manage (cancelled)")

    (cancellation,) = send_mail(portal)
    assert appointment.reference in cancellation.subject and words["cancelled"] in cancellation.subject
    assert len(scanner.scanned) == 15
    scanner.assert_clean()
