"""The portal's own error pages (403, 403 for a refused form, 404, 500) in its look: German by
default, English on request, and a 500 page that needs neither the request context nor the database.
"""

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import translation

from appointments.ops.unavailable import server_error


def test_the_500_page_is_the_portals_and_needs_no_database():
    """Rendered without the `db` fixture: any query would fail the test. German, the default, is
    switched on here because an earlier test may have left this thread in English."""
    with translation.override("de"):
        response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert 'lang="de"' in html and "Etwas ist schiefgegangen" in html
    assert "/static/css/portal.css" in html and "Kfz-Zulassung" in html


def test_the_500_page_in_english():
    with translation.override("en"):
        html = render_to_string("500.html")
    assert 'lang="en"' in html and "Something went wrong" in html


@pytest.fixture
def strict_csrf():
    return Client(enforce_csrf_checks=True)


def test_a_refused_form_gets_the_portals_page_in_german(db, strict_csrf):
    response = strict_csrf.post("/termin/reservieren/", {"start": "x"})
    html = response.content.decode()
    assert response.status_code == 403
    assert "Das Formular konnte nicht gesendet werden" in html
    assert "/static/css/portal.css" in html and "CSRF verification failed" not in html
    assert "no-store" in response["Cache-Control"]


def test_a_refused_form_in_english_and_its_language_switch_works(db, strict_csrf):
    response = strict_csrf.post("/termin/reservieren/", {"start": "x"}, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert "The form could not be sent" in html
    assert 'name="csrfmiddlewaretoken" value="' in html  # rendered with the request: the switch has a token


def test_404_and_403_are_the_portals_pages(db, django_user_model):
    assert "Seite nicht gefunden" in Client().get("/gibt-es-nicht/").content.decode()
    clerk = django_user_model.objects.create_user("nobody-special", is_staff=True)
    client = Client()
    client.force_login(clerk)
    response = client.get("/mitarbeiter/berichte/")
    assert response.status_code == 403
    assert "/static/css/portal.css" in response.content.decode() or "clerk.css" in response.content.decode()
