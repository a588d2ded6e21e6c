"""The client address behind reverse proxies (TRUSTED_PROXY_COUNT), and the warning when production
receives forwarded requests without trusting any proxy.

Example of the README: one nginx in front, which appends the address it saw to X-Forwarded-For.
"""

import logging

import pytest
from django.test import Client, RequestFactory

from appointments.security.limits import client_address
from appointments.security.request_checks import ForwardedForWarningMiddleware

NGINX = "10.0.0.2"  # the proxy, as REMOTE_ADDR
# "1.1.1.1" is whatever the client wrote itself; nginx appended the address it saw: 203.0.113.7.
FORWARDED = "1.1.1.1, 203.0.113.7"


def request(**meta):
    return RequestFactory().get("/", REMOTE_ADDR=NGINX, **meta)


def test_one_proxy_uses_the_entry_it_appended(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request(HTTP_X_FORWARDED_FOR=FORWARDED)) == "203.0.113.7"


def test_two_with_only_one_proxy_trusts_what_the_client_wrote(settings):
    """The misconfiguration the README warns of: every request can claim another address."""
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_address(request(HTTP_X_FORWARDED_FOR=FORWARDED)) == "1.1.1.1"


def test_zero_ignores_the_header(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(request(HTTP_X_FORWARDED_FOR=FORWARDED)) == NGINX


@pytest.fixture
def fresh_warning(monkeypatch):
    monkeypatch.setattr(ForwardedForWarningMiddleware, "warned", False)


def warnings_in(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "appointments.security.request_checks" and r.levelno == logging.WARNING
    ]


def test_production_behind_an_untrusted_proxy_warns_once(db, settings, caplog, fresh_warning):
    settings.PRODUCTION = True
    settings.SECURE_SSL_REDIRECT = False
    settings.TRUSTED_PROXY_COUNT = 0
    client = Client(REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_FOR="203.0.113.7")
    with caplog.at_level(logging.WARNING):
        client.get("/healthz")
        client.get("/healthz")
    messages = warnings_in(caplog)
    assert len(messages) == 1
    assert "TRUSTED_PROXY_COUNT" in messages[0] and NGINX in messages[0]


@pytest.mark.parametrize(
    "production, proxies, forwarded",
    [
        (False, 0, "203.0.113.7"),  # development: no warning
        (True, 1, "203.0.113.7"),  # configured
        (True, 0, ""),  # no proxy in front
    ],
)
def test_no_warning_otherwise(db, settings, caplog, fresh_warning, production, proxies, forwarded):
    settings.PRODUCTION = production
    settings.SECURE_SSL_REDIRECT = False
    settings.TRUSTED_PROXY_COUNT = proxies
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    with caplog.at_level(logging.WARNING):
        Client(REMOTE_ADDR=NGINX, **extra).get("/healthz")
    assert warnings_in(caplog) == []
