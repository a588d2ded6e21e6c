"""The personas of the clerks' workspace tests: the Frankenthal clerk, the Schifferstadt clerk
(each a member of their own office only, as the demo data makes them), the demo administrator (a
superuser) and an anonymous browser; the pages' clock, and small helpers.

The clock is Tuesday, 1 December 2026, 07:30 in Berlin. Clients ask for English pages, so that the
assertions do not depend on the German translation.
"""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from appointments.domain import booking
from tests.conftest import berlin

NOW = berlin(2026, 12, 1, 7, 30)
DAY = dt.date(2026, 12, 1)


@pytest.fixture
def clock(clock):
    """The one frozen clock (tests/conftest.py), started at 07:30; `clock.now = …` moves it."""
    clock.now = NOW
    return clock


def client_for(username: str | None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if username:
        client.force_login(get_user_model().objects.get(username=username))
    return client


@pytest.fixture
def desk(demo, clock):
    """The demo data, the three personas' browsers and an anonymous one."""
    return SimpleNamespace(
        demo=demo,
        clock=clock,
        frankenthal_clerk=client_for("clerk-frankenthal"),
        schifferstadt_clerk=client_for("clerk-schifferstadt"),
        admin=client_for("admin"),
        anonymous=client_for(None),
    )


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
