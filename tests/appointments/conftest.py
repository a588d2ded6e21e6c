"""Fixtures shared by the appointment tests (the personas and the clock are in tests/conftest.py)."""

import socket

import pytest


@pytest.fixture
def portal(settings):
    """Links in mails point at the portal's public address (mail itself goes to Django's locmem outbox)."""
    settings.PORTAL_BASE_URL = "https://termine.example"


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["stopped", "silent"])
def dead_redis(request, settings):
    """The cache (with the production timeouts) at a Redis that is stopped or does not answer."""
    from tests.process_state import forget_local_counts, forget_redis_failures

    silent = None
    if request.param == "silent":
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)  # connections wait in the backlog; nothing is ever read or answered
        port = silent.getsockname()[1]
    else:
        port = unused_port()
    url = f"redis://127.0.0.1:{port}/0"
    timeout = settings.REDIS_TIMEOUT_SECONDS
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
        }
    }
    settings.OUTBOX_SINGLE_TRIGGER = True
    forget_redis_failures()
    forget_local_counts()
    yield url
    forget_redis_failures()
    forget_local_counts()
    if silent is not None:
        silent.close()
