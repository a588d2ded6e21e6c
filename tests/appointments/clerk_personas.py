"""Helpers of the clerks' workspace tests. Their personas are the `desk` fixture of tests/conftest.py:
the Frankenthal clerk, the Schifferstadt clerk (each a member of their own office only, as the demo
data makes them), the demo administrator (a superuser) and an anonymous browser.

The pages' clock is Tuesday, 1 December 2026, 07:30 in Berlin (`NOW`): a module of these tests says
`pytestmark = pytest.mark.clock_start(NOW)`. Clients ask for English pages, so that the assertions do
not depend on the German translation.
"""

from __future__ import annotations

import datetime as dt
import re

from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from appointments.domain import booking
from tests.conftest import berlin

NOW = berlin(2026, 12, 1, 7, 30)
DAY = dt.date(2026, 12, 1)


def client_for(username: str | None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if username:
        client.force_login(get_user_model().objects.get(username=username))
    return client


def walk_in(demo, *, office=None, start=None, name="Erika Mustermann", email="", services=None, now=NOW, **kwargs):
    """A booking made by staff (confirmed at once), through the same service the pages use."""
    appointment, _token = booking.book_in_office(
        office=office or demo.frankenthal,
        start=start or berlin(2026, 12, 1, 9, 0),
        services=services or [demo.umschreibung],
        vehicles=kwargs.pop("vehicles", 1),
        municipality=kwargs.pop("municipality", demo.frankenthal_citizen_home),
        name=name,
        email=email,
        channel=kwargs.pop("channel", "counter"),
        now=now,
        **kwargs,
    )
    return appointment


def schedule_url(office, day=DAY) -> str:
    return reverse("clerk:schedule", args=[office.slug, day.isoformat()])


def text(response) -> str:
    """The page's text without tags and with collapsed white space."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'").replace("&amp;", "&")
