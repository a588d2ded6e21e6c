"""The shapes of the public JSON API v1: what a client sends and what it gets back. Times go out as
ISO 8601 with the Berlin offset."""

import datetime as dt
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import PlainSerializer, StrictBool, StrictInt, WithJsonSchema

from appointments.domain import booking
from appointments.errors import STAFF_CODES, ErrorCode
from appointments.security import captcha
from offices.hours import BERLIN

MAX_SERVICES = 20
SLUG_MAX = 80
TOKEN_MAX = 200


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


class DayOut(Schema):
    date: dt.date = Field(description="The day (Europe/Berlin), `YYYY-MM-DD`.")
    office: str = Field(description="Slug of the office.")
    free: bool = Field(description="Whether at least one appointment of this length can still be booked.")
    appointments: int = Field(
        description="How many appointments of this length can still be booked that day, none overlapping "
        "another at the same counter (not the number of start times: a 15-minute appointment "
        "offered every 5 minutes from 08:00 to 08:45 is 3 appointments, and 10 start times)."
    )
    first_start: BerlinDateTime | None = Field(description="The first free start time; null when none is free.")


class DaysOut(Schema):
    duration_minutes: int
    days: list[DayOut] = Field(
        description="One entry per day of the range (from today on) and office that offers the "
        "concerns and may serve the municipality's residents, in the order of day and office name."
    )


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
    language: Literal["de", "en"] | None = Field(
        None, description="Language of the e-mails; default: the request's language."
    )
    altcha: str | None = Field(
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
    confirm_by: BerlinDateTime | None = Field(
        None, description="An unconfirmed booking expires unless confirmed by then."
    )
    documents: list[str]


# The codes this API answers with: the clerks' codes never reach it.
ApiErrorCode = Annotated[
    ErrorCode, WithJsonSchema({"type": "string", "enum": [code.value for code in ErrorCode if code not in STAFF_CODES]})
]


class ErrorOut(Schema):
    code: ApiErrorCode = Field(description="The machine code; the API description lists each code's status.")
    message: str
    errors: dict[str, list[str]] | None = None


class ConflictOut(ErrorOut):
    alternatives: list[SlotOut] | None = Field(
        None, description="With `slot_taken`: free slots near the requested time (at any allowed office)."
    )


def slot_out(slot) -> dict:
    # Serialised here, not by the schema: error answers (alternatives) bypass the response schemas.
    return {"office": slot.office.slug, "start": berlin_iso(slot.start), "end": berlin_iso(slot.end)}
