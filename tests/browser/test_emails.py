"""The HTML part of every kind of e-mail, rendered by `notifications.build_message` as the worker
sends it and scanned with axe-core (WCAG 2.1 A and AA) in the browser, in German and in English."""

from __future__ import annotations

import pytest

from tests.browser.support import html_of, require_browser

require_browser()

from appointments.domain import booking  # noqa: E402
from appointments.models import Notification  # noqa: E402
from appointments.outbox import notifications  # noqa: E402
from offices.models import Municipality, Office, Service  # noqa: E402
from tests.conftest import berlin  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("language", ["de", "en"])
def test_every_kind_of_e_mail_has_no_violations(portal, new_page, scanner, language):
    appointment, hold_token = booking.place_hold(
        office=Office.objects.get(slug="frankenthal"),
        start=berlin(2026, 12, 2, 9, 0),
        services=[Service.objects.get(slug="umschreibung"), Service.objects.get(slug="wechselkennzeichen")],
        vehicles=2,
        municipality=Municipality.objects.get(slug="frankenthal-pfalz"),
        now=portal.clock.now,
        language=language,
    )
    booking.submit_booking(
        appointment=appointment,
        hold_token=hold_token,
        name="Erika Mustermann",
        email="erika@example.org",
        phone="",
        privacy_consent=True,
        now=portal.clock.now,
    )
    token = appointment.notifications.get(kind=Notification.Kind.OPT_IN).payload["token"]
    offered = [
        {"office": "frankenthal", "start": berlin(2026, 12, 2, 11, 0).isoformat()},
        {"office": "schifferstadt", "start": berlin(2026, 12, 3, 8, 0).isoformat()},
    ]

    page = new_page(language=language, width=375)
    for kind in Notification.Kind.values:
        message = notifications.build_message(
            Notification(appointment=appointment, kind=kind, payload={"token": token, "slots": offered})
        )
        html = html_of(message)
        page.set_content(html)
        assert page.locator("html").get_attribute("lang") == language
        scanner.scan(page, f"e-mail {kind}")
    assert len(scanner.scanned) == 6
    scanner.assert_clean()
