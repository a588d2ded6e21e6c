"""Every page a citizen can reach, on a phone (375 px) and on a desktop (1280 px): nothing needs
horizontal scrolling (the page is never wider than the window) and axe-core finds no WCAG 2.1 A/AA
violation. And on the chosen day of the calendar the first time of the citizen's own office is on
screen at once, above every time of the other office.

The pages: start, the offices, privacy, accessibility, easy language, imprint; the request form
(empty, with errors, to change, a postcode outside both areas); the calendar (with and without the
office filter); the question a browser without JavaScript answers instead of the captcha (and with
its error); the contact form (and with errors); submitted; confirm (before and after); manage;
the move's calendar and question; cancel; a cancelled booking; a reservation that ran out; the
error pages (unknown address and unknown booking: 404, a form sent without its security cookie:
403). The clock is Tuesday, 1 December 2026, 07:00.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import NoReverseMatch, reverse

from tests.browser.support import link_in, require_browser

require_browser()

from appointments.models import Appointment  # noqa: E402
from appointments.outbox import notifications  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

REQUEST = "service=umschreibung&vehicles=1&municipality=frankenthal-pfalz"
CALENDAR = "/termin/kalender/?" + REQUEST
# The page's width and the window's. On a phone (Playwright's is_mobile) the browser zooms out to
# show a page that is too wide, and window.innerWidth grows with it: the window is therefore the
# smaller of innerWidth and the layout viewport (clientWidth), which keeps the device's width.
SCROLL = """() => [document.documentElement.scrollWidth,
  Math.min(window.innerWidth, document.documentElement.clientWidth)]"""
# What sticks out to the right, to name in a failure.
TOO_WIDE = """() => [...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 6)
  .map(e => `${e.tagName}.${[...e.classList].join(".")} ${Math.round(e.getBoundingClientRect().right)}`)"""


class Pages:
    """Checks each page the walk reaches: its width and axe-core (the shared scanner), its status."""

    def __init__(self, page, scanner, base: str):
        self.page, self.scanner, self.base = page, scanner, base
        self.statuses: dict[str, int] = {}

    def check(self, label: str, status: int | None = None) -> None:
        self.page.wait_for_load_state("load")
        width, window = self.page.evaluate(SCROLL)
        if width > window:
            self.scanner.problems.append(
                f"{label} ({self.page.url}): {width}px wide in a {window}px window, "
                f"sticking out: {self.page.evaluate(TOO_WIDE)}"
            )
        self.scanner.scan(self.page, label)
        if status is not None:
            self.statuses[label] = status

    def visit(self, label: str, path: str) -> None:
        response = self.page.goto(self.base + path)
        self.check(label, response.status if response else None)


def send_mail(portal) -> list:
    before = len(mail.outbox)
    notifications.send_due(now=portal.clock.now)
    return mail.outbox[before:]


def submit(page, action: str) -> None:
    """Press the form's main (last) submit button of the main content's form posting to `action`."""
    page.locator(f"main form[action*='{action}'] button[type=submit]").last.click()


def first_time(page, day: str = ""):
    selector = f"button[name=start][value^='{day}']" if day else "button[name=start]"
    return page.locator(selector).locator("visible=true").first


def citizen_paths() -> dict[str, str]:
    """The information pages in the footer: those that exist."""
    paths = {}
    for name in ("locations", "privacy", "accessibility", "easy_read", "imprint"):
        try:
            paths[name] = reverse(f"appointments:{name}")
        except NoReverseMatch:
            continue
    return paths


@pytest.mark.parametrize("width", [375, 1280])
def test_every_citizen_page_fits_the_width_and_passes_axe(portal, new_page, scanner, settings, width):
    page = new_page(width=width, height=740 if width < 600 else 900)
    page.emulate_media(reduced_motion="reduce")
    pages = Pages(page, scanner, portal.url)

    pages.visit("start", "/")
    for name, path in citizen_paths().items():
        pages.visit(name, path)

    # The request form: empty, sent without a choice, to change, and a postcode outside both areas.
    pages.visit("search", "/termin/")
    submit(page, "/termin/")
    page.wait_for_selector("#error-summary")
    pages.check("search with errors")
    pages.visit("search to change", "/termin/?" + REQUEST + "&change=1")
    pages.visit("outside both areas", "/termin/?service=umschreibung&vehicles=1&postcode=67229")

    pages.visit("calendar", CALENDAR)
    pages.visit("calendar, one office, Thursday", CALENDAR + "&office=schifferstadt&date=2026-12-03")

    # The question for a browser without JavaScript: the calendar's time form sent with the flag of
    # its <noscript> block (this browser runs JavaScript, so the flag is set by hand), then an answer
    # sent too early.
    settings.CAPTCHA_ENABLED = True
    settings.CAPTCHA_NOJS_WAIT_SECONDS = 20
    cache.clear()
    page.goto(portal.url + CALENDAR + "&office=frankenthal")
    page.evaluate(
        """() => { const form = document.querySelector('#times button[name=start]').form;
                   form.querySelectorAll('altcha-widget').forEach(w => w.remove());
                   const flag = document.createElement('input');
                   flag.type = 'hidden'; flag.name = 'captcha_nojs'; flag.value = '1'; form.append(flag); }"""
    )
    page.locator("#times button[name=start]").first.click()
    page.wait_for_selector("#id_captcha_answer")
    pages.check("captcha question")
    page.locator("#id_captcha_answer").fill("7")
    submit(page, "/termin/reservieren/")
    page.wait_for_selector("#error-summary")
    pages.check("captcha question with error")
    settings.CAPTCHA_ENABLED = False

    # The booking: contact form, errors, submitted, confirm, manage.
    page.goto(portal.url + CALENDAR)
    first_time(page).click()
    page.wait_for_url("**/angaben/")
    pages.check("contact form")
    submit(page, "/angaben/")
    page.wait_for_selector("#error-summary")
    pages.check("contact form with errors")
    page.locator("#id_name").fill("Erika Mustermann")
    page.locator("#id_email").fill("erika@example.org")
    page.locator("#id_privacy_consent").check(force=True)
    submit(page, "/angaben/")
    page.wait_for_url("**/gesendet/")
    pages.check("submitted")

    appointment = Appointment.objects.get()
    (opt_in,) = send_mail(portal)
    page.goto(link_in(opt_in, "/bestaetigen/"))
    pages.check("confirm")
    submit(page, "/bestaetigen/")
    page.wait_for_load_state("load")
    pages.check("confirmed")
    confirmation = next(m for m in send_mail(portal) if "/termin/" in m.body)
    page.goto(link_in(confirmation, rf"/termin/{appointment.reference}/\?token="))
    pages.check("manage")

    move_url = page.locator("main a[href*='/verschieben/']").first.get_attribute("href")
    cancel_url = page.locator("main a[href*='/stornieren/']").first.get_attribute("href")
    pages.visit("move calendar", move_url + "&date=2026-12-03")
    first_time(page, "2026-12-03").click()
    page.wait_for_selector("button[name=confirmed]")
    pages.check("move question")
    pages.visit("cancel", cancel_url)
    submit(page, "/stornieren/")
    page.wait_for_url(f"**/termin/{appointment.reference}/?token=*")
    pages.check("cancelled")

    # A reservation that ran out while the citizen was away.
    page.goto(portal.url + CALENDAR)
    first_time(page).click()
    page.wait_for_url("**/angaben/")
    portal.clock.now += dt.timedelta(hours=1)
    page.reload()
    pages.check("reservation run out")

    # Error pages.
    pages.visit("unknown address", "/gibt-es-nicht/")
    pages.visit("unknown booking", "/termin/XX-NOTHING/")
    page.goto(portal.url + CALENDAR)
    page.context.clear_cookies()  # the security cookie is gone: the form is refused
    response_status = {}
    page.on("response", lambda r: response_status.setdefault(r.url.split("?")[0], r.status))
    first_time(page).click()
    page.wait_for_url("**/termin/reservieren/")
    pages.check("form without its security cookie", response_status.get(portal.url + "/termin/reservieren/"))

    assert pages.statuses == {
        "start": 200,
        **dict.fromkeys(citizen_paths(), 200),
        "search": 200,
        "search to change": 200,
        "outside both areas": 200,
        "calendar": 200,
        "calendar, one office, Thursday": 200,
        "move calendar": 200,
        "cancel": 200,
        "unknown address": 404,
        "unknown booking": 404,
        "form without its security cookie": 403,
    }
    assert len(scanner.scanned) == 23 + len(citizen_paths())
    scanner.assert_clean()


# Each visible time button: its office (from its form), where it is and whether it is on screen.
TIME_BUTTONS = """() => [...document.querySelectorAll('#times button[name=start]')]
  .filter(b => b.checkVisibility())
  .map(b => { const box = b.getBoundingClientRect();
              return {office: b.form.elements.office.value, top: box.top + window.scrollY,
                      onScreen: box.top >= 0 && box.bottom <= window.innerHeight}; })"""


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize(
    "municipality, home", [("schifferstadt", "schifferstadt"), ("frankenthal-pfalz", "frankenthal")]
)
def test_the_first_time_of_the_chosen_day_is_the_home_office_s_and_on_screen(
    portal, new_page, width, municipality, home
):
    page = new_page(width=width, height=740 if width < 600 else 900)
    page.emulate_media(reduced_motion="reduce")
    page.goto(portal.url + f"/termin/kalender/?service=umschreibung&vehicles=1&municipality={municipality}")
    # A day chosen in the strip (a link to the day's times).
    page.locator("a[href*='date=2026-12-03']").first.click()
    page.wait_for_url("**date=2026-12-03*")
    buttons = page.evaluate(TIME_BUTTONS)
    assert {b["office"] for b in buttons} == {"schifferstadt", "frankenthal"}
    assert buttons[0]["office"] == home and buttons[0]["onScreen"], buttons[0]
    # No time of the other office comes before the last one of the home office.
    other = min(b["top"] for b in buttons if b["office"] != home)
    assert max(b["top"] for b in buttons if b["office"] == home) < other
    width_now, window = page.evaluate(SCROLL)
    assert width_now <= window
