"""The bugs a walkthrough of the citizen's journey found (issue 15), each as the citizen meets it:
through the pages (Django's test client, a browser without JavaScript) or the service functions.

The clock stands at Tuesday, 1 December 2026, 07:00 in Berlin (the `clock` fixture).
"""

from __future__ import annotations

from django.urls import reverse

from tests.appointments.test_pages import calendar_url, page_of, text

# --- 1: changing the request ------------------------------------------------------------------


def test_change_your_request_opens_the_search_form_filled_in(citizen):
    """ "Anfrage ändern" on the calendar leads to the request form as it was filled in, not back to
    the calendar."""
    calendar = citizen.get(calendar_url(vehicles="2"))
    change = next(link for link in page_of(calendar).links if link.startswith(reverse("appointments:search")))
    response = citizen.get(change)
    assert response.status_code == 200
    html = response.content.decode()
    checked = [i.get("value") for i in page_of(response).inputs if i.get("name") == "service" and "checked" in i]
    assert checked == ["umschreibung"]
    assert '<option value="2" selected>' in html
    assert '<option value="frankenthal-pfalz" selected>' in html
    assert "error-summary" not in html
    # Sending the form again leads to the calendar (no "change" parameter in the form).
    assert "change" not in {i.get("name") for i in page_of(response).inputs}


def test_wrong_postcode_link_keeps_the_ticked_concerns(citizen):
    search = reverse("appointments:search")
    outside = citizen.get(search + "?service=umschreibung&service=ausserbetriebsetzung&vehicles=1&postcode=67059")
    assert "67059" in text(outside)
    retry = next(link for link in page_of(outside).links if link.startswith(search + "?"))
    form = citizen.get(retry)
    assert form.status_code == 200
    html = form.content.decode()
    for slug in ("umschreibung", "ausserbetriebsetzung"):
        assert f'value="{slug}"' in html
    checked = [i.get("value") for i in page_of(form).inputs if i.get("name") == "service" and "checked" in i]
    assert sorted(checked) == ["ausserbetriebsetzung", "umschreibung"]
    assert 'name="postcode"' in html and 'value="67059"' not in html
