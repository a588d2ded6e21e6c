"""The information pages every public portal needs, linked from the footer of every citizen page:
the accessibility statement, the booking in easy language, the legal notice and the privacy notice.
Both languages; German is the default."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tests.appointments.test_pages import assert_accessible_basics, text

PAGES = {
    "appointments:accessibility": "/barrierefreiheit/",
    "appointments:easy_read": "/leichte-sprache/",
    "appointments:imprint": "/impressum/",
    "appointments:privacy": "/datenschutz/",
}


@pytest.mark.parametrize("name, path", PAGES.items())
def test_the_pages_have_german_paths_and_are_linked_from_every_footer(db, name, path):
    assert reverse(name) == path
    for language in ("de", "en"):
        response = Client().get(path, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        page = assert_accessible_basics(response)
        assert page.lang == language
        assert set(PAGES.values()) <= set(page.links)


def test_the_start_page_links_all_four_pages(demo):
    links = set(assert_accessible_basics(Client().get("/")).links)
    assert set(PAGES.values()) <= links


def test_accessibility_statement_names_the_law_a_feedback_contact_and_the_arbitration_body(db):
    german = text(Client().get("/barrierefreiheit/"))
    assert "Erklärung zur Barrierefreiheit" in german
    assert "BITV 2.0" in german and "WCAG" in german
    assert "barrierefreiheit@rhein-pfalz-kreis.example" in german and "barrierefreiheit@frankenthal.example" in german
    assert "Schlichtung" in german and "Landesinklusionsgesetz" in german
    assert "Beispieldaten" in german
    english = text(Client().get("/barrierefreiheit/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Accessibility statement" in english and "Example data" in english


def test_easy_language_explains_the_booking_in_steps(db, settings):
    settings.HOLD_MINUTES = 10
    german = text(Client().get("/leichte-sprache/"))
    assert "Leichte Sprache" in german
    assert "10 Minuten" in german
    # The button names are the ones the citizen sees on the pages.
    assert "Termin suchen" in german and "Termin bestätigen" in german
    english = text(Client().get("/leichte-sprache/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Step 1" in english and "Find an appointment" in english


def test_legal_notice_names_both_administrations_with_their_addresses(db):
    content = text(Client().get("/impressum/"))
    assert "Kreisverwaltung Rhein-Pfalz-Kreis" in content and "Europaplatz 5" in content
    assert "67063 Ludwigshafen am Rhein" in content
    assert "Stadtverwaltung Frankenthal (Pfalz)" in content and "Rathausplatz 2–7" in content
    assert "67227 Frankenthal (Pfalz)" in content
    assert "Vor der Inbetriebnahme zu prüfen" in content


def test_privacy_notice_gives_controllers_officers_basis_retention_and_rights(db, settings):
    settings.RETENTION_DAYS = 5
    content = text(Client().get("/datenschutz/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Kreisverwaltung Rhein-Pfalz-Kreis" in content and "Stadtverwaltung Frankenthal (Pfalz)" in content
    assert "datenschutz@rhein-pfalz-kreis.example" in content and "datenschutz@frankenthal.example" in content
    assert "Art. 6(1)(e) GDPR" in content
    assert "5 days after the appointment" in content
    assert "no tracking" in content and "nothing is loaded from other providers" in content
    assert "right to information" in content
    assert "Example data" in content
    settings.RETENTION_DAYS = 1
    assert "1 day after the appointment" in text(Client().get("/datenschutz/", HTTP_ACCEPT_LANGUAGE="en"))


def test_an_unknown_address_gets_the_portals_own_not_found_page(db):
    response = Client().get("/gibt-es-nicht/")
    assert response.status_code == 404
    page = assert_accessible_basics(response)
    assert page.lang == "de"
    assert "/" in page.links and "/barrierefreiheit/" in page.links
    english = Client().get("/gibt-es-nicht/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Page not found" in text(english)
