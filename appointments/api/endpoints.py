"""The public JSON API v1 (the contract is API.md). Thin: parse, call the service functions, answer.

Every error answer has the shape {"code", "message", "errors"?}; the status follows from the code
(ERROR_STATUS). Nothing a client can send may end in a 500: ninja's own validation and parse errors
and stray ValueErrors from odd input are turned into 400 answers here.
"""

import datetime as dt
import logging
import threading
from typing import Annotated, Literal, Optional

from django.conf import settings
from django.http import Http404
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from ninja import Field, NinjaAPI, Query, Schema, Swagger
from ninja import Status as HttpStatus
from ninja.errors import HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.throttling import BaseThrottle
from pydantic import PlainSerializer, StrictBool, StrictInt, WithJsonSchema

from appointments.domain import booking
from appointments.domain.availability import SlotRequest, duration_minutes, find_slots
from appointments.domain.links import find_booking
from appointments.errors import PortalError
from appointments.models import Appointment, Channel, Status
from appointments.ops.unavailable import UNAVAILABLE, unavailable_response
from appointments.outbox.notifications import documents_of, services_of
from appointments.security import captcha
from appointments.security.hoarding import Client, check_search_rate, normalise_email
from appointments.security.limits import RateLimited, check_rate, client_address, record_blocked
from ikz_portal import clock
from ikz_portal.clock import today
from offices import config
from offices.hours import BERLIN
from offices.models import Municipality, Office, Service

log = logging.getLogger(__name__)

# A search costs time linear in its days: a client may not ask for unbounded work. The longest
# range is the setting SLOTS_MAX_DAYS (a longer one answers 400 range_too_long).
DEFAULT_SEARCH_DAYS = 14
# No office books further ahead than a year (Office.booking_horizon_days ≤ 365).
SEARCH_LIMIT_DAYS = 366
MAX_SERVICES = 20
SLUG_MAX = 80
TOKEN_MAX = 200

ERROR_STATUS = {
    "invalid": 400,
    "invalid_time": 400,
    "too_many_vehicles": 400,
    "outside_area": 400,
    "not_bookable_online": 400,
    "service_not_offered": 400,
    "not_allowed": 400,
    "unknown": 400,
    "bad_token": 403,
    "not_found": 404,
    "slot_taken": 409,
    "invalid_state": 409,
    "already_submitted": 409,
    "expired": 410,
    "rate_limited": 429,
    "too_many_bookings": 409,
    "too_many_unconfirmed": 429,
    "range_too_long": 400,
    "same_time": 409,
    "captcha_invalid": 400,
}


def berlin_iso(value: dt.datetime) -> str:
    return value.astimezone(BERLIN).isoformat()


# Times go out as ISO 8601 with the Berlin offset, whatever zone the database returned.
BerlinDateTime = Annotated[
    dt.datetime,
    PlainSerializer(berlin_iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "example": "2026-12-01T08:00:00+01:00"}),
]
Slug = Annotated[str, Field(max_length=SLUG_MAX)]
Token = Annotated[str, Field(max_length=TOKEN_MAX, description="The secret from the link in the e-mail.")]


class BookingThrottle(BaseThrottle):
    """BOOKING_RATE_LIMIT per client address, read at request time so operators and load tests can
    change it. A fixed window counted with one atomic increment in the shared cache (Redis in
    production), as the other rate limits are (abuse.check_rate): ninja's own throttle keeps the
    time of every request of the window per address and reads and writes that whole list each
    time. ninja keeps one throttle object per operation for all threads: the wait is thread-local."""

    def __init__(self):
        self._local = threading.local()

    def allow_request(self, request) -> bool:
        try:
            check_rate("api-bookings", client_address(request), settings.BOOKING_RATE_LIMIT)
        except RateLimited as limited:
            self._local.wait = limited.retry_after
            return False
        return True

    def wait(self):
        return getattr(self._local, "wait", None)


api = NinjaAPI(
    title="IKZ Vorderpfalz – Kfz-Zulassung appointments",
    version="1",
    description=(
        "Vehicle-registration appointments at the offices of the Rhein-Pfalz-Kreis and the Stadt "
        "Frankenthal (Pfalz). Times are ISO 8601 with offset in Europe/Berlin. Errors: "
        '`{"code", "message", "errors"?}`. Send `Accept-Language: en` for English messages.\n\n'
        "**Captcha.** When the portal's captcha is on (it is in production), `POST /bookings` needs a "
        "solved proof-of-work challenge (ALTCHA, PoW v2, `PBKDF2/SHA-256`): fetch one from "
        "`GET /captcha/challenge/` (JSON: `parameters`, `signature`), find the counter whose derived "
        "key starts with `parameters.keyPrefix`, and send the base64 of "
        '`{"challenge": {"parameters", "signature"}, "solution": {"counter", "derivedKey"}}` as the '
        "`altcha` field. ALTCHA's libraries (e.g. `altcha` on PyPI and npm) do this. A challenge "
        "expires after a few minutes and counts for one booking. Missing, wrong, expired or reused: "
        "400 `captcha_invalid`."
    ),
    urls_namespace="api-v1",
    # validatorUrl: Swagger UI would otherwise fetch a badge from validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
)


# --- schemas ------------------------------------------------------------------------------------


class AdministrationOut(Schema):
    slug: str
    name: str


class ServiceOut(Schema):
    slug: str
    name: str
    description: str
    minutes_first_vehicle: int
    minutes_per_extra_vehicle: int
    max_vehicles: int
    bookable_online: bool
    documents: list[str]


class OfficeOut(Schema):
    slug: str
    name: str
    administration: AdministrationOut
    address: str
    street: str
    postcode: str
    city: str
    phone: str
    email: str
    slot_minutes: int
    booking_horizon_days: int
    hours_are_example: bool


class MunicipalityOut(Schema):
    slug: str
    name: str
    postcode: str
    association: str
    administration: AdministrationOut


class SlotOut(Schema):
    office: str = Field(description="Slug of the office.")
    start: BerlinDateTime
    end: BerlinDateTime


class SlotsOut(Schema):
    duration_minutes: int
    slots: list[SlotOut]


class BookingIn(Schema):
    services: list[Slug] = Field(max_length=MAX_SERVICES, description="Service slugs.")
    vehicles: StrictInt = 1
    municipality: Slug = Field(description="Slug of the municipality of residence.")
    office: Slug
    start: dt.datetime = Field(description="A free start time from /slots, with its UTC offset.")
    name: str = Field(max_length=booking.NAME_MAX)
    email: str = Field(max_length=booking.EMAIL_MAX)
    phone: str = Field("", max_length=booking.PHONE_MAX)
    privacy_consent: StrictBool = Field(description="Must be true.")
    language: Optional[Literal["de", "en"]] = Field(
        None, description="Language of the e-mails; default: the request's language."
    )
    altcha: Optional[str] = Field(
        None,
        max_length=captcha.PAYLOAD_MAX,
        description="The solved captcha challenge from `/captcha/challenge/` (base64 ALTCHA payload); "
        "required while the captcha is on, ignored otherwise. See the API description.",
    )


class TokenIn(Schema):
    token: Token


class RescheduleIn(Schema):
    token: Token
    office: Slug
    start: dt.datetime


class BookingOut(Schema):
    reference: str
    status: str
    office: str
    office_name: str
    address: str
    start: BerlinDateTime
    end: BerlinDateTime
    duration_minutes: int
    services: list[str]
    vehicles: int
    municipality: str
    language: str
    confirm_by: Optional[BerlinDateTime] = Field(
        None, description="An unconfirmed booking expires unless confirmed by then."
    )
    documents: list[str]


class ErrorOut(Schema):
    code: str
    message: str
    errors: Optional[dict[str, list[str]]] = None


class ConflictOut(ErrorOut):
    alternatives: Optional[list[SlotOut]] = Field(
        None, description="With `slot_taken`: free slots near the requested time (at any allowed office)."
    )


# --- errors -------------------------------------------------------------------------------------


def error_response(request, status: int, code: str, message, errors: dict | None = None, **extra):
    body = {"code": code, "message": str(message)}
    if errors:
        body["errors"] = {field: [str(m) for m in messages] for field, messages in errors.items()}
    body.update(extra)
    return api.create_response(request, body, status=status)


@api.exception_handler(PortalError)
def portal_error(request, exc: PortalError):
    errors = exc.extra.get("errors")
    if not errors and exc.field:
        errors = {exc.field: [exc.message]}
    extra = {}
    if "alternatives" in exc.extra:
        extra["alternatives"] = [slot_out(slot) for slot in exc.extra["alternatives"]]
    response = error_response(request, ERROR_STATUS.get(exc.code, 400), exc.code, exc.message, errors, **extra)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    return response


VALIDATION_MESSAGES = {
    "missing": _("This field is required."),
    "string_type": _("Please give a text."),
    "string_too_long": _("At most %(max_length)s characters."),
    "too_long": _("At most %(max_length)s entries."),
    "list_type": _("Please give a list."),
    "int_type": _("Please give a whole number."),
    "int_parsing": _("Please give a whole number."),
    "int_from_float": _("Please give a whole number."),
    "bool_type": _("Please give true or false."),
    "bool_parsing": _("Please give true or false."),
    "literal_error": _("Please choose one of: %(expected)s."),
    "date_type": _("Please give a date as YYYY-MM-DD."),
    "date_parsing": _("Please give a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": _("Please give a date as YYYY-MM-DD."),
    "date_from_datetime_inexact": _("Please give a date as YYYY-MM-DD."),
    "datetime_type": _("Please give a date and time in ISO 8601 with its UTC offset."),
    "datetime_parsing": _("Please give a date and time in ISO 8601 with its UTC offset."),
    "datetime_from_date_parsing": _("Please give a date and time in ISO 8601 with its UTC offset."),
    "model_type": _("Please send a JSON object."),
    "model_attributes_type": _("Please send a JSON object."),
    "dict_type": _("Please send a JSON object."),
}


def validation_message(error: dict) -> str:
    template = VALIDATION_MESSAGES.get(error.get("type"))
    if template is None:
        return str(_("Invalid value."))
    try:
        return str(template) % error.get("ctx", {})
    except (KeyError, TypeError, ValueError):
        return str(_("Invalid value."))


def error_field(loc) -> str:
    """The client's name for the field: `email` for ('body', 'data', 'email'), `service` for
    ('query', 'service', 0). A body that is not an object at all is reported as `body`."""
    parts = list(loc)
    source = parts.pop(0) if parts else "body"
    if source == "body" and parts:
        parts.pop(0)  # the view's parameter name
    names = [p for p in parts if isinstance(p, str)]
    return names[0] if names else source


@api.exception_handler(NinjaValidationError)
def validation_error(request, exc: NinjaValidationError):
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        errors.setdefault(error_field(error.get("loc", ())), []).append(validation_message(error))
    return error_response(request, 400, "invalid", _("Please correct the marked fields."), errors)


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    if isinstance(exc, Throttled):
        return error_response(request, 429, "rate_limited", _("Too many requests. Please try again later."))
    if exc.status_code == 400:
        # ninja's only own 400: a body that is not JSON.
        return error_response(request, 400, "invalid", _("The request body is not valid JSON."))
    if exc.status_code == 405:
        return error_response(request, 405, "method_not_allowed", _("This method is not allowed here."))
    return error_response(request, exc.status_code, "error", exc.message)


@api.exception_handler(Http404)
def not_found(request, exc):
    return error_response(request, 404, "not_found", _("Not found."))


def bad_input(request, exc: Exception):
    # A value the schema let through but the domain code could not handle (a date at the end of
    # the calendar, an offset that overflows). It is the client's input, so a 400, but log it: a
    # new case here may deserve its own check.
    log.warning("API input rejected by a %s: %s", type(exc).__name__, exc, exc_info=True)
    return error_response(request, 400, "invalid", _("The request contains a value that cannot be processed."))


for _exc in (ValueError, TypeError, OverflowError):
    api.add_exception_handler(_exc, bad_input)

# A database that is restarting or too slow: 503 with Retry-After in the API's error shape. ninja
# handles exceptions before Django's middleware sees them (with DEBUG it would answer a 500 page).
for _exc in UNAVAILABLE:
    api.add_exception_handler(_exc, unavailable_response)


# --- helpers --------------------------------------------------------------------------------------


def slot_out(slot) -> dict:
    # Serialised here, not by the schema: error answers (alternatives) bypass the response schemas.
    return {"office": slot.office.slug, "start": berlin_iso(slot.start), "end": berlin_iso(slot.end)}


def request_language() -> str:
    return "en" if (translation.get_language() or "").startswith("en") else "de"


class Lookup:
    """Resolves the slugs of one request; unknown ones are collected per field and reported together.
    From the configuration in memory (offices.config): no query of its own."""

    def __init__(self):
        self.errors: dict[str, list] = {}
        self.configuration = config.current(now=clock.now())

    def _unknown(self, field: str, message, slug: str) -> None:
        self.errors.setdefault(field, []).append(message % {"slug": slug[:SLUG_MAX]})

    def services(self, slugs, field: str = "services") -> list[Service]:
        slugs = list(dict.fromkeys(slugs))  # the same concern twice is the same concern
        found = self.configuration.services
        for slug in slugs:
            if slug not in found:
                self._unknown(field, _("Unknown concern “%(slug)s”."), slug)
        return [found[slug] for slug in slugs if slug in found]

    def municipality(self, slug: str, field: str = "municipality") -> Municipality | None:
        # Only municipalities of the two areas exist, so one from elsewhere is unknown here too.
        municipality = self.configuration.municipalities.get(slug)
        if municipality is None:
            self._unknown(field, _("Unknown municipality “%(slug)s”."), slug)
        return municipality

    def offices(self, slugs, field: str = "office") -> list[Office]:
        slugs = list(dict.fromkeys(slugs))
        found = {o.slug: o for o in self.configuration.active_offices}
        for slug in slugs:
            if slug not in found:
                self._unknown(field, _("Unknown office “%(slug)s”."), slug)
        return [found[slug] for slug in slugs if slug in found]

    def office(self, slug: str, field: str = "office") -> Office | None:
        offices = self.offices([slug], field)
        return offices[0] if offices else None

    def check(self) -> None:
        if self.errors:
            raise PortalError("unknown", _("Please correct the marked fields."), errors=self.errors)


def check_start(start: dt.datetime, now: dt.datetime) -> None:
    # Far beyond any horizon: say so before the domain code does arithmetic that would overflow.
    if start.tzinfo is not None and start > now + dt.timedelta(days=SEARCH_LIMIT_DAYS):
        raise booking.BookingError("invalid_time", _("This day is beyond the booking horizon."), field="start")


def booking_out(appointment: Appointment, services=None) -> dict:
    """The booking as the API shows it. `services`: the ones just booked (a new booking), which
    saves reading them back."""
    if services is None:
        services = services_of(appointment)
    documents = documents_of(services)
    return {
        "reference": appointment.reference,
        "status": appointment.status,
        "office": appointment.office.slug,
        "office_name": appointment.office.name,
        "address": appointment.office.address,
        "start": appointment.start,
        "end": appointment.end,
        "duration_minutes": appointment.duration_minutes,
        "services": [service.slug for service in services],
        "vehicles": appointment.vehicles,
        "municipality": appointment.municipality.slug,
        "language": appointment.language,
        "confirm_by": appointment.hold_expires_at if appointment.status == Status.UNCONFIRMED else None,
        "documents": [document.name for document in documents],
    }


def load_booking(request, reference: str, token: str) -> Appointment:
    # An unknown reference and a wrong token answer alike (404 not_found); misses are rate-limited.
    return find_booking(request, reference=reference, token=token)


ERRORS_400 = {400: ErrorOut}


# --- endpoints ------------------------------------------------------------------------------------


@api.get("/services", response=list[ServiceOut], tags=["catalogue"], summary="Concerns that can be booked")
def list_services(request):
    services = Service.objects.prefetch_related("documents").order_by("position", "name_de")
    return [
        {
            "slug": s.slug,
            "name": s.name,
            "description": s.description,
            "minutes_first_vehicle": s.minutes_first_vehicle,
            "minutes_per_extra_vehicle": s.minutes_per_extra_vehicle,
            "max_vehicles": s.max_vehicles,
            "bookable_online": s.bookable_online,
            "documents": [d.name for d in s.documents.all()],
        }
        for s in services
    ]


def administration_out(administration) -> dict:
    return {"slug": administration.slug, "name": administration.name}


@api.get("/offices", response=list[OfficeOut], tags=["catalogue"], summary="Registration offices")
def list_offices(request):
    offices = Office.objects.filter(is_active=True).select_related("administration").order_by("name")
    return [
        {
            "slug": o.slug,
            "name": o.name,
            "administration": administration_out(o.administration),
            "address": o.address,
            "street": o.street,
            "postcode": o.postcode,
            "city": o.city,
            "phone": o.phone,
            "email": o.email,
            "slot_minutes": o.slot_minutes,
            "booking_horizon_days": o.booking_horizon_days,
            "hours_are_example": o.hours_are_example,
        }
        for o in offices
    ]


@api.get(
    "/municipalities",
    response={200: list[MunicipalityOut], **ERRORS_400},
    tags=["catalogue"],
    summary="Municipalities of residence in the two areas",
    description="With `postcode`: the municipalities with that postcode; an empty list for a postcode "
    "outside the Rhein-Pfalz-Kreis and Frankenthal (Pfalz).",
)
def list_municipalities(request, postcode: Annotated[Optional[str], Query(max_length=10)] = None):
    municipalities = Municipality.objects.select_related("administration").order_by("name")
    if postcode is not None:
        postcode = postcode.strip()
        if not (len(postcode) == 5 and postcode.isascii() and postcode.isdigit()):
            raise PortalError("invalid", _("A postcode has five digits."), field="postcode")
        municipalities = municipalities.filter(postcode=postcode)
    return [
        {
            "slug": m.slug,
            "name": m.name,
            "postcode": m.postcode,
            "association": m.association,
            "administration": administration_out(m.administration),
        }
        for m in municipalities
    ]


@api.get(
    "/slots",
    response={200: SlotsOut, **ERRORS_400, 429: ErrorOut},
    tags=["booking"],
    summary="Free start times",
    description="One entry per office and start time, in time order. At most "
    f"{settings.SLOTS_MAX_DAYS} days per search (`date_from` to `date_to`, both included): a longer "
    "range answers 400 with the code `range_too_long`; search further ahead with several requests. "
    "Searches are rate-limited per client address and per network: 429 `rate_limited` with "
    "`Retry-After`.",
)
@config.one_reading()
def list_slots(
    request,
    service: Annotated[list[Slug], Query(max_length=MAX_SERVICES, description="Service slug; repeat for several.")],
    municipality: Annotated[Slug, Query(description="Slug of the municipality of residence.")],
    vehicles: Annotated[int, Query()] = 1,
    date_from: Annotated[Optional[dt.date], Query(description="Default: today.")] = None,
    date_to: Annotated[Optional[dt.date], Query(description="Inclusive; default: two weeks on.")] = None,
    office: Annotated[Optional[list[Slug]], Query(max_length=10, description="Only these offices.")] = None,
):
    # Before any work: a search is the most expensive request a client can send.
    check_search_rate(request)
    now = clock.now()
    lookup = Lookup()
    services = lookup.services(service, field="service")
    home = lookup.municipality(municipality)
    offices = lookup.offices(office or [])
    lookup.check()
    # Beyond every office's horizon nothing is free; clamping keeps the date arithmetic in range.
    limit = today(now) + dt.timedelta(days=SEARCH_LIMIT_DAYS)
    date_from = date_from or today(now)
    max_days = settings.SLOTS_MAX_DAYS
    if date_to is None:
        default_days = min(DEFAULT_SEARCH_DAYS, max_days)
        date_to = date_from + dt.timedelta(days=default_days - 1) if date_from <= limit else date_from
    if date_to < date_from:
        raise PortalError("invalid", _("The end date must not be before the start date."), field="date_to")
    if (date_to - date_from).days >= max_days:
        raise PortalError(
            "range_too_long", _("Please search at most %(days)s days at once.") % {"days": max_days}, field="date_to"
        )
    slot_request = SlotRequest(
        services=tuple(services),
        vehicles=vehicles,
        municipality=home,
        date_from=min(date_from, limit),
        date_to=min(date_to, limit),
        offices=tuple(offices),
    )
    slots = find_slots(request=slot_request, now=now)
    return {"duration_minutes": duration_minutes(services, vehicles), "slots": [slot_out(slot) for slot in slots]}


@api.post(
    "/bookings",
    response={201: BookingOut, 400: ErrorOut, 409: ConflictOut, 429: ErrorOut},
    tags=["booking"],
    summary="Book an appointment (double opt-in)",
    description="Creates an unconfirmed booking and sends an e-mail with the confirmation link. "
    "Unless confirmed by `confirm_by`, it expires and the time is free again. While the captcha is "
    "on, `altcha` must carry a solved challenge from `GET /captcha/challenge/` (400 "
    "`captcha_invalid` otherwise); each solution counts once.",
    throttle=[BookingThrottle()],
)
@config.one_reading()
def create_booking(request, data: BookingIn):
    now = clock.now()
    lookup = Lookup()
    services = lookup.services(data.services)
    home = lookup.municipality(data.municipality)
    office = lookup.office(data.office)
    lookup.check()
    check_start(data.start, now)
    if captcha.enabled() and not captcha.verify_payload(data.altcha):
        record_blocked("captcha")
        raise PortalError(
            "captcha_invalid",
            _("The captcha is missing, wrong, expired or already used. Please solve a new challenge."),
            field="altcha",
        )
    check_rate("email", normalise_email(data.email) or data.email, settings.RATE_LIMIT_EMAIL)
    appointment = booking.book(
        office=office,
        start=data.start,
        services=services,
        vehicles=data.vehicles,
        municipality=home,
        name=data.name,
        email=data.email,
        phone=data.phone,
        privacy_consent=data.privacy_consent,
        language=data.language or request_language(),
        now=now,
        channel=Channel.API,
        client=Client.of(request),
    )
    return HttpStatus(201, booking_out(appointment, services=services))


@api.get(
    "/bookings/{reference}",
    response={200: BookingOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    tags=["manage"],
    summary="A booking",
)
def get_booking(request, reference: str, token: Annotated[str, Query(max_length=TOKEN_MAX)]):
    return booking_out(load_booking(request, reference, token))


@api.post(
    "/bookings/{reference}/confirm",
    response={
        200: BookingOut,
        400: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ConflictOut,
        410: ErrorOut,
        429: ErrorOut,
    },
    tags=["manage"],
    summary="Confirm a booking with the token from the e-mail",
)
def confirm_booking(request, reference: str, data: TokenIn):
    check_rate("confirm", client_address(request), settings.RATE_LIMIT_CONFIRM)
    appointment = load_booking(request, reference, data.token)
    appointment = booking.confirm_booking(appointment=appointment, token=data.token, now=clock.now())
    return booking_out(appointment)


@api.post(
    "/bookings/{reference}/cancel",
    response={200: BookingOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ConflictOut, 429: ErrorOut},
    tags=["manage"],
    summary="Cancel a booking",
)
def cancel_booking(request, reference: str, data: TokenIn):
    appointment = load_booking(request, reference, data.token)
    appointment = booking.cancel_booking(appointment=appointment, token=data.token, now=clock.now())
    return booking_out(appointment)


@api.post(
    "/bookings/{reference}/reschedule",
    response={
        200: BookingOut,
        400: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ConflictOut,
        410: ErrorOut,
        429: ErrorOut,
    },
    tags=["manage"],
    summary="Move a booking to another time or office",
    description="On 409 `slot_taken` the booking keeps its old time; `alternatives` lists free slots nearby. "
    "Moving to the booking's own time answers 409 `same_time`. The time left behind is offered online "
    "again only after a delay, like a cancelled one.",
)
def reschedule_booking(request, reference: str, data: RescheduleIn):
    now = clock.now()
    appointment = load_booking(request, reference, data.token)
    lookup = Lookup()
    office = lookup.office(data.office)
    lookup.check()
    check_start(data.start, now)
    appointment = booking.reschedule_booking(
        appointment=appointment, token=data.token, office=office, start=data.start, now=now
    )
    return booking_out(appointment)
