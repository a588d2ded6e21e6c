"""Who may open which address: every URL pattern of the portal, found by walking the resolver.

- Every page of the staff workspace (namespace `clerk`) and of the admin sends an anonymous visitor
  to a login page (or refuses: 403, or 405 for a method it does not take): none answers with content.
- A Schifferstadt clerk who opens a Frankenthal booking, schedule, closure or admin object gets
  403 or 404, never the page, and changes nothing with a POST.
- The citizen's pages and the public API stay public: an anonymous visitor reaches them.
- Any other address is a new one that nobody has classified yet: the test names it.

Path parameters are filled with the Frankenthal office, a Frankenthal booking and closure, and for
the admin with a Frankenthal object of the model the address belongs to.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from appointments.models import Appointment, AppointmentEvent
from offices.models import Administration, Closure, Office
from tests.appointments.clerk_personas import DAY, NOW, walk_in

pytestmark = pytest.mark.clock_start(NOW)

LOGIN_PAGES = ("/mitarbeiter/anmelden/", "/admin/login/")
CITIZEN_NAME = "Frieda Frankenthaler"

# The citizen's side and the public API: reachable without an account. Anything here that starts to
# redirect to a login page (or answer 403) has been locked away from citizens by mistake.
PUBLIC_PAGES = [
    "/",
    "/datenschutz/",
    "/barrierefreiheit/",
    "/leichte-sprache/",
    "/impressum/",
    "/standorte/",
    "/termin/",
    "/termin/kalender/?service=umschreibung&vehicles=1&municipality=frankenthal-pfalz",
    "/captcha/challenge/",
    "/api/v1/services",
    "/api/v1/offices",
    "/api/v1/municipalities?postcode=67227",
    "/api/v1/slots?service=umschreibung&municipality=frankenthal-pfalz",
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/static/css/portal.css",
]
# Names of the public patterns (namespace:name); the walk below fails on any pattern that is neither
# in this list nor in the clerk or admin namespaces.
PUBLIC_NAMES = {
    "healthz",
    "healthz_full",
    "set_language",
    *(
        f"appointments:{name}"
        for name in (
            "start",
            "privacy",
            "accessibility",
            "easy_read",
            "imprint",
            "locations",
            "search",
            "calendar",
            "hold",
            "captcha_challenge",
            "details",
            "submitted",
            "confirm",
            "ics",
            "cancel",
            "reschedule",
            "manage",
        )
    ),
    *(
        f"api-v1:{name}"
        for name in (
            "openapi-json",
            "openapi-view",
            "api-root",
            "list_services",
            "list_offices",
            "list_municipalities",
            "list_slots",
            "list_days",
            "create_booking",
            "get_booking",
            "confirm_booking",
            "cancel_booking",
            "reschedule_booking",
        )
    ),
}
# Staff pages that concern no office or booking: a clerk of any office may open them.
CLERK_PAGES_WITHOUT_OBJECT = {
    "clerk:home",
    "clerk:login",
    "clerk:logout",
    "clerk:search",
    "clerk:reports",
    "clerk:settlement_csv",
}
# Admin pages every staff account may open: its own password, the index (showing only what the
# account may see), the admin's JavaScript catalogue, logging out.
ADMIN_PAGES_FOR_ANY_STAFF = {
    "admin:index",
    "admin:login",
    "admin:logout",
    "admin:password_change",
    "admin:password_change_done",
    "admin:jsi18n",
}


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name", or "namespace:?" for an unnamed pattern
    pattern: str  # the whole pattern, prefixes included

    @property
    def namespace(self) -> str:
        return self.name.split(":")[0] if ":" in self.name else ""

    @property
    def has_parameters(self) -> bool:
        return "<" in self.pattern or "(" in self.pattern


def all_routes() -> list[Route]:
    def walk(resolver, prefix: str, namespaces: tuple[str, ...]):
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = namespaces + ((entry.namespace,) if entry.namespace else ())
                yield from walk(entry, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                yield Route(":".join((*namespaces, entry.name or "?")), prefix + str(entry.pattern))

    return list(dict.fromkeys(walk(get_resolver(), "", ())))


def fill(route: Route, values: dict[str, str], positional: list[str]) -> str:
    """The pattern with its parameters filled in: `<conv:name>`, `(?P<name>…)`, plain `(…)` groups."""
    text = route.pattern.replace("^", "").replace("$", "")
    text = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], text)

    def named(match):
        name, body = match.group(1), match.group(2)
        if name in values:
            return values[name]
        return body.split("|")[0]  # a choice of words (the admin's app labels): take the first

    text = re.sub(r"\(\?P<(\w+)>([^)]*)\)", named, text)
    queue = list(positional)
    text = re.sub(r"\([^)]*\)", lambda m: queue.pop(0), text)
    return "/" + text


@pytest.fixture
def frankenthal(desk):
    """A Frankenthal booking (with a citizen's name that must not leak), a closure and an event."""
    demo = desk.demo
    booking = walk_in(demo, name=CITIZEN_NAME, email="frieda@example.org")
    closure = Closure.objects.create(
        office=demo.frankenthal,
        start_date=DAY + dt.timedelta(days=7),
        end_date=DAY + dt.timedelta(days=7),
        reason="Personalversammlung",
    )
    return {"booking": booking, "closure": closure, "office": demo.frankenthal}


def admin_object_id(route: Route, objects: dict) -> str:
    """For /admin/<app>/<model>/…: a Frankenthal object of that model, or any one; "" when the model
    has no rows at all (then there is nothing to protect)."""
    match = re.match(r"admin/(\w+)/(\w+)/", route.pattern)
    if not match:
        return str(objects["booking"].pk)
    try:
        model = apps.get_model(match.group(1), match.group(2))
    except LookupError:
        return ""
    User = get_user_model()
    known = {
        Appointment: objects["booking"],
        Office: objects["office"],
        Administration: objects["office"].administration,
        Closure: objects["closure"],
        User: User.objects.get(username="clerk-frankenthal"),
        AppointmentEvent: AppointmentEvent.objects.filter(appointment=objects["booking"]).first(),
    }
    found = known.get(model)
    if found is None:
        fields = {f.name for f in model._meta.get_fields()}
        if "office" in fields:
            found = model.objects.filter(office=objects["office"]).first()
        elif "administration" in fields:
            found = model.objects.filter(administration=objects["office"].administration).first()
        elif "appointment" in fields:
            found = model.objects.filter(appointment=objects["booking"]).first()
        else:
            found = model.objects.first()
    return str(found.pk) if found is not None else ""


def url_for(route: Route, objects: dict) -> str:
    object_id = (admin_object_id(route, objects) or "1") if route.namespace == "admin" else ""
    history = objects["booking"].history.first() if hasattr(objects["booking"], "history") else None
    values = {
        "office": objects["office"].slug,
        "reference": objects["booking"].reference,
        "day": DAY.isoformat(),
        "year": str(DAY.year),
        "pk": str(objects["closure"].pk),
        "action": "checkin",
        "object_id": object_id,
        "content_type_id": str(ContentType.objects.get_for_model(Appointment).pk),
        "id": str(get_user_model().objects.get(username="clerk-frankenthal").pk),
        "url": "no-such-page/",
        "app_label": "appointments",
    }
    version = str(history.pk) if history is not None else "1"
    url = fill(route, values, [object_id, version])
    assert resolve(url.split("?")[0]) is not None, url
    return url


def visit(client: Client, url: str, *, follow: bool = False):
    """GET, and POST where the page takes only POST (as a form of the page would send it)."""
    response = client.get(url, follow=follow)
    if response.status_code == 405:
        response = client.post(url, follow=follow)
    return response


# Logging in and out needs no account (logging out an anonymous visitor only leads back).
OPEN_STAFF_PAGES = {"clerk:login", "admin:login", "clerk:logout", "admin:logout"}


def protected_routes() -> list[Route]:
    return [r for r in all_routes() if r.namespace in ("clerk", "admin") and r.name not in OPEN_STAFF_PAGES]


# --- the walk covers everything ----------------------------------------------------------------------


def test_every_address_is_classified():
    routes = all_routes()
    assert any(r.namespace == "clerk" for r in routes) and any(r.namespace == "admin" for r in routes)
    unknown = [r for r in routes if r.namespace not in ("clerk", "admin") and r.name not in PUBLIC_NAMES]
    assert not unknown, (
        "New addresses: protect them (clerk or admin namespace) or add them to the public lists of "
        f"this test: {unknown}"
    )


# --- anonymous visitors ---------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_a_login_page_everywhere_in_staff_and_admin(desk, frankenthal):
    failures = []
    for route in protected_routes():
        url = url_for(route, frankenthal)
        response = visit(desk.anonymous, url)
        location = response.get("Location", "")
        to_login = response.status_code == 302 and location.split("?")[0] in LOGIN_PAGES
        refused = response.status_code in (403, 405)
        if not (to_login or refused):
            failures.append((route.name, url, response.status_code, location))
        if CITIZEN_NAME.encode() in response.content:
            failures.append((route.name, url, "shows the citizen's name"))
    assert not failures, failures
    assert Appointment.objects.get(pk=frankenthal["booking"].pk).status == frankenthal["booking"].status


def test_the_login_pages_themselves_are_open(desk):
    for url in LOGIN_PAGES:
        assert desk.anonymous.get(url).status_code == 200


# --- a clerk of the other office --------------------------------------------------------------------------


def test_a_schifferstadt_clerk_cannot_open_or_change_frankenthal_objects(desk, frankenthal):
    booking = frankenthal["booking"]
    before = (booking.status, booking.start, AppointmentEvent.objects.count(), Closure.objects.count())
    failures = []
    for route in protected_routes():
        if not route.has_parameters or route.name in CLERK_PAGES_WITHOUT_OBJECT | ADMIN_PAGES_FOR_ANY_STAFF:
            continue
        if route.name in ("admin:app_list", "admin:?") and "object_id" not in route.pattern:
            continue  # the admin's app index and catch-all: no object of Frankenthal's
        if route.namespace == "admin" and "object_id" in route.pattern and not admin_object_id(route, frankenthal):
            continue  # a model without rows
        url = url_for(route, frankenthal)
        response = visit(desk.schifferstadt_clerk, url, follow=True)
        if response.status_code not in (403, 404):
            failures.append((route.name, url, response.status_code, response.redirect_chain))
        if CITIZEN_NAME.encode() in response.content:
            failures.append((route.name, url, "shows the citizen's name"))
    assert not failures, failures
    booking.refresh_from_db()
    after = (booking.status, booking.start, AppointmentEvent.objects.count(), Closure.objects.count())
    assert after == before


def test_the_same_pages_open_for_the_frankenthal_clerk(desk, frankenthal):
    """The control: the refusals above come from the office, not from broken addresses."""
    for name in ("clerk:appointment", "clerk:office", "clerk:schedule", "clerk:closures"):
        route = next(r for r in all_routes() if r.name == name)
        response = desk.frankenthal_clerk.get(url_for(route, frankenthal), follow=True)
        assert response.status_code == 200, (name, response.status_code)
    page = desk.frankenthal_clerk.get(
        url_for(next(r for r in all_routes() if r.name == "clerk:appointment"), frankenthal)
    )
    assert CITIZEN_NAME.encode() in page.content


def test_admin_lists_are_refused_to_clerks(desk, frankenthal):
    """Clerks are staff (they log in like administrators) but have no admin permissions."""
    for route in protected_routes():
        if route.name.endswith("_changelist") or route.name.endswith("_add"):
            url = url_for(route, frankenthal)
            response = desk.schifferstadt_clerk.get(url)
            assert response.status_code == 403, (route.name, response.status_code)


# --- the citizen's side stays public ------------------------------------------------------------------------


@pytest.mark.parametrize("url", PUBLIC_PAGES)
def test_citizen_pages_and_the_public_api_stay_public(demo, url):
    response = Client().get(url)
    assert response.status_code == 200, (url, response.status_code)


def test_every_citizen_page_without_parameters_is_public(demo):
    for route in all_routes():
        if route.namespace == "appointments" and not route.has_parameters:
            response = visit(Client(), fill(route, {}, []))
            location = response.get("Location", "")
            assert response.status_code != 403 and not location.startswith(LOGIN_PAGES), (route.name, location)
