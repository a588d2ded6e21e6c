"""The whole booking with the keyboard alone (Tab, Space, Enter, typing), in a real browser. Every
element the Tab key reaches on the way must show where the focus is (an outline or a box shadow),
and the skip link must lead into the main content."""

from __future__ import annotations

import pytest
from django.core import mail

from tests.browser.support import link_in, require_browser, tab_to

require_browser()

from appointments.models import Appointment, Status  # noqa: E402
from appointments.outbox import notifications  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)


def press(page, key: str) -> None:
    """Press a key that leads to another page, and wait for it."""
    with page.expect_navigation():
        page.keyboard.press(key)


def is_submit(focused: dict) -> bool:
    """The form's own submit button (not the language switch, not the postcode look-up)."""
    return focused["tag"] == "button" and focused["name"] == "" and focused["type"] == "submit"


@pytest.mark.parametrize("language", ["de", "en"])
def test_the_whole_booking_with_the_keyboard_alone(portal, new_page, language):
    page = new_page(language=language, width=1280)
    page.goto(portal.url + "/")

    # The first Tab shows the skip link; Enter moves the focus to the main content.
    skip = tab_to(page, lambda f: True, limit=1)
    assert skip["href"] == "#main"
    box = page.locator(".skip-link").bounding_box()
    assert box and box["y"] >= 0, "the focused skip link is off screen"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"

    tab_to(page, lambda f: f["href"] == "/termin/")
    press(page, "Enter")

    # The request: a concern (Space ticks it), the postcode, Enter looks up the municipality.
    tab_to(page, lambda f: f["name"] == "service" and f["value"] == "umschreibung")
    page.keyboard.press("Space")
    assert page.locator("input[value=umschreibung]").is_checked()
    tab_to(page, lambda f: f["id"] == "id_postcode")
    page.keyboard.type("67227")
    press(page, "Enter")
    assert page.locator("#id_municipality").input_value() == "frankenthal-pfalz"
    assert page.locator("input[value=umschreibung]").is_checked()
    tab_to(page, is_submit)
    press(page, "Enter")
    assert "/termin/kalender/" in page.url

    # The earliest time comes first.
    tab_to(page, lambda f: f["tag"] == "button" and f["name"] == "start")
    press(page, "Enter")
    assert page.url.endswith("/angaben/")

    tab_to(page, lambda f: f["id"] == "id_name")
    page.keyboard.type("Erika Mustermann")
    tab_to(page, lambda f: f["id"] == "id_email", limit=3)
    page.keyboard.type("erika@example.org")
    tab_to(page, lambda f: f["id"] == "id_privacy_consent", limit=3)
    page.keyboard.press("Space")
    tab_to(page, is_submit, limit=5)
    press(page, "Enter")
    assert page.url.endswith("/gesendet/")

    appointment = Appointment.objects.get()
    assert appointment.status == Status.UNCONFIRMED and appointment.name == "Erika Mustermann"
    notifications.send_due(now=portal.clock.now)
    (opt_in,) = mail.outbox
    page.goto(link_in(opt_in, "/bestaetigen/"))
    tab_to(page, is_submit)
    press(page, "Enter")
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED
