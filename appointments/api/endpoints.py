"""The public JSON API v1 under /api/v1/: the NinjaAPI object and its endpoints. Thin: parse, call
the service functions, answer. The contract other programs rely on (paths, fields, status and error
codes) is described in the OpenAPI document this API serves (/api/v1/openapi.json, /api/v1/docs);
the shapes are in schemas.py, the error answers in errors.py, the booking rate limit in throttling.py.
"""

import datetime as dt
from typing import Annotated

from django.conf import settings
from django.http import HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI, Query, Swagger
from ninja import Status as HttpStatus

from appointments.api import errors
from appointments.api.schemas import (
    MAX_SERVICES,
    SLUG_MAX,
    TOKEN_MAX,
    BookingIn,
    BookingOut,
    ConflictOut,
    DaysOut,
    ErrorOut,
    MunicipalityOut,
    OfficeOut,
    RescheduleIn,
    ServiceOut,
    SlotsOut,
    Slug,
    TokenIn,
    slot_out,
)
from appointments.api.throttling import BookingThrottle
from appointments.domain import booking, occupancy
from appointments.domain.availability import SlotRequest, day_overview, duration_minutes, find_slots
from appointments.errors import ErrorCode, PortalError
from appointments.models import Appointment, Channel, Status
from appointments.outbox.notifications import documents_of, services_of
from appointments.security.hoarding import Client, check_search_rate
from appointments.ui import conditional, guards
from ikz_portal import clock
from ikz_portal.clock import today
from offices import config
from offices.models import Municipality, Office, Service

# A search costs time linear in its days: a client may not ask for unbounded work. The longest
# range is the setting SLOTS_MAX_DAYS (a longer one answers 400 range_too_long).
DEFAULT_SEARCH_DAYS = 14
# No office books further ahead than a year (Office.booking_horizon_days ≤ 365).
SEARCH_LIMIT_DAYS = 366

api = NinjaAPI(
    title="IKZ Vorderpfalz – Kfz-Zulassung appointments",
    version="1",
    description=(
        "Vehicle-registration appointments at the offices of the Rhein-Pfalz-Kreis and the Stadt "
        "Frankenthal (Pfalz). Times are ISO 8601 with offset in Europe/Berlin. Errors: "
        '`{"code", "message", "errors"?}`. Send `Accept-Language: en` for English messages.\n\n'
        "**Stability.** Other programs rely on this API: its paths, methods, the names of the fields, "
        "the status codes and the error codes stay as they are; fields may be added, none renamed or "
        "dropped. Status codes: 200/201 success, 400 invalid input, 403 bad token, 404 unknown "
        "reference (an unknown reference and a wrong token answer alike), 409 conflict (the slot is "
        "taken, or the booking's state does not allow it), 410 expired, 413 too large, 415 not "
        "`application/json`, 429 rate limited (with `Retry-After`), 503 briefly unavailable (with "
        "`Retry-After`). Nothing a client can send answers 500.\n\n"
        + errors.codes_description()
        + "**Captcha.** When the portal's captcha is on (it is in production), `POST /bookings` needs a "
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
errors.install(api)


# --- helpers --------------------------------------------------------------------------------------


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
            raise PortalError(ErrorCode.UNKNOWN, _("Please correct the marked fields."), errors=self.errors)


def check_start(start: dt.datetime, now: dt.datetime) -> None:
    # Far beyond any horizon: say so before the domain code does arithmetic that would overflow.
    if start.tzinfo is not None and start > now + dt.timedelta(days=SEARCH_LIMIT_DAYS):
        raise booking.BookingError(ErrorCode.INVALID_TIME, _("This day is beyond the booking horizon."), field="start")


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
    return guards.find_booking(request, reference=reference, token=token)


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
def list_municipalities(request, postcode: Annotated[str | None, Query(max_length=10)] = None):
    municipalities = Municipality.objects.select_related("administration").order_by("name")
    if postcode is not None:
        postcode = postcode.strip()
        if not (len(postcode) == 5 and postcode.isascii() and postcode.isdigit()):
            raise PortalError(ErrorCode.INVALID, _("A postcode has five digits."), field="postcode")
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


ServiceQuery = Annotated[list[Slug], Query(max_length=MAX_SERVICES, description="Service slug; repeat for several.")]
MunicipalityQuery = Annotated[Slug, Query(description="Slug of the municipality of residence.")]
VehiclesQuery = Annotated[int, Query(description="Number of vehicles.")]
DateFromQuery = Annotated[dt.date | None, Query(description="Default: today.")]
DateToQuery = Annotated[dt.date | None, Query(description="Inclusive; default: two weeks on.")]
OfficeQuery = Annotated[list[Slug] | None, Query(max_length=10, description="Only these offices.")]


def search_request(
    request, *, service, municipality, vehicles, date_from, date_to, office, now: dt.datetime
) -> SlotRequest:
    """The search of a `slots` or `days` request, after its rate limit and its checks."""
    # Before any work: a search is the most expensive request a client can send.
    check_search_rate(request)
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
        raise PortalError(ErrorCode.INVALID, _("The end date must not be before the start date."), field="date_to")
    if (date_to - date_from).days >= max_days:
        raise PortalError(
            ErrorCode.RANGE_TOO_LONG,
            _("Please search at most %(days)s days at once.") % {"days": max_days},
            field="date_to",
        )
    return SlotRequest(
        services=tuple(services),
        vehicles=vehicles,
        municipality=home,
        date_from=min(date_from, limit),
        date_to=min(date_to, limit),
        offices=tuple(offices),
    )


SEARCH_LIMITS = (
    f"At most {settings.SLOTS_MAX_DAYS} days per search (`date_from` to `date_to`, both included): a "
    "longer range answers 400 with the code `range_too_long`; search further ahead with several "
    "requests. Searches are rate-limited per client address and per network: 429 `rate_limited` with "
    "`Retry-After`. The answer carries an `ETag`: send it back as `If-None-Match` and, while no booking, "
    "cancellation, move or configuration change touched the days searched (and within the same minute), "
    "the answer is `304 Not Modified` without a body."
)


@api.get(
    "/slots",
    response={200: SlotsOut, 304: None, **ERRORS_400, 429: ErrorOut},
    tags=["booking"],
    summary="Free start times",
    description="One entry per office and start time, in time order. " + SEARCH_LIMITS,
)
@config.one_reading()
def list_slots(
    request,
    response: HttpResponse,
    service: ServiceQuery,
    municipality: MunicipalityQuery,
    vehicles: VehiclesQuery = 1,
    date_from: DateFromQuery = None,
    date_to: DateToQuery = None,
    office: OfficeQuery = None,
):
    now = clock.now()
    slot_request = search_request(
        request,
        service=service,
        municipality=municipality,
        vehicles=vehicles,
        date_from=date_from,
        date_to=date_to,
        office=office,
        now=now,
    )
    tag = occupancy.search_tag(request=slot_request, now=now, kind="api-slots")
    unchanged = conditional.not_modified(request, tag)
    if unchanged is not None:
        return unchanged
    slots = find_slots(request=slot_request, now=now)
    conditional.mark(response, tag)
    return {
        "duration_minutes": duration_minutes(slot_request.services, vehicles),
        "slots": [slot_out(slot) for slot in slots],
    }


@api.get(
    "/days",
    response={200: DaysOut, 304: None, **ERRORS_400, 429: ErrorOut},
    tags=["booking"],
    summary="Free appointments per day and office",
    description="The parameters of `/slots`; per day and office whether appointments are free, how many, "
    "and the first free start time: for a day strip, before asking `/slots` for the times of one day. " + SEARCH_LIMITS,
)
@config.one_reading()
def list_days(
    request,
    response: HttpResponse,
    service: ServiceQuery,
    municipality: MunicipalityQuery,
    vehicles: VehiclesQuery = 1,
    date_from: DateFromQuery = None,
    date_to: DateToQuery = None,
    office: OfficeQuery = None,
):
    now = clock.now()
    slot_request = search_request(
        request,
        service=service,
        municipality=municipality,
        vehicles=vehicles,
        date_from=date_from,
        date_to=date_to,
        office=office,
        now=now,
    )
    tag = occupancy.search_tag(request=slot_request, now=now, kind="api-days")
    unchanged = conditional.not_modified(request, tag)
    if unchanged is not None:
        return unchanged
    overview = day_overview(request=slot_request, now=now)
    conditional.mark(response, tag)
    return {
        "duration_minutes": duration_minutes(slot_request.services, vehicles),
        "days": [
            {
                "date": entry.day,
                "office": entry.office.slug,
                "free": entry.free,
                "appointments": entry.appointments,
                "first_start": entry.first,
            }
            for entry in overview
        ],
    }


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
    guards.check_captcha(data.altcha)
    guards.check_email_rate(data.email)
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
    guards.check_confirm_rate(request)
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
