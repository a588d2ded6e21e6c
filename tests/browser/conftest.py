"""Real-browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

No browser is downloaded: Playwright launches /usr/bin/chromium (CI installs Debian's package when
it is missing). Without that binary or without the `playwright` package the modules skip with the
reason. One browser serves the whole package; each test gets a fresh context (cookies, viewport,
language) and a fresh database with the demo data.

The live server runs in a thread of this process, so the one frozen clock of the HTTP tests (the
`clock` fixture of tests/conftest.py: Tuesday, 1 December 2026, 07:00 in Berlin) holds for its
pages too, and the e-mails land in `django.core.mail.outbox`. Messages are sent only when a test
calls `notifications.send_due(now=…)`, not by the in-process dispatch after each commit, so that a
test sees the outbox as it wants it.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.browser.support import CHROMIUM, LAUNCH_ARGS, Scanner, browser_available


@pytest.fixture(scope="package")
def _async_unsafe_allowed():
    """Playwright's synchronous API keeps an asyncio loop running in the test's thread while the
    test code runs; Django would then refuse every ORM call as "async". The tests are plain
    synchronous code, so the check is switched off for this package only."""
    mp = pytest.MonkeyPatch()
    mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    yield
    mp.undo()


@pytest.fixture(scope="package")
def browser(_async_unsafe_allowed):
    available, reason = browser_available()
    if not available:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def portal(live_server, clock, settings, monkeypatch):
    """The demo portal on the live server: both offices, the services, the demo accounts. Links in
    e-mails point at the live server; the outbox is sent only when a test says so."""
    from appointments.outbox import notifications
    from offices.demo import seed_demo

    settings.PORTAL_BASE_URL = live_server.url
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    monkeypatch.setattr(notifications, "trigger_dispatch", lambda: None)
    accounts = seed_demo()
    return SimpleNamespace(url=live_server.url, clock=clock, accounts=accounts)


@pytest.fixture
def new_page(browser):
    """A factory of pages, each in its own browser context: `new_page(language="en", width=375)`."""
    contexts = []

    def make(*, language: str = "de", width: int = 1280, height: int = 900):
        context = browser.new_context(
            viewport={"width": width, "height": height},
            locale="de-DE" if language == "de" else "en-GB",
            extra_http_headers={"Accept-Language": "de" if language == "de" else "en"},
            is_mobile=width < 600,
            has_touch=width < 600,
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.js_errors = errors
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def scanner():
    """axe-core scans of the pages a test walks through; `scanner.assert_clean()` at the end."""
    return Scanner()
