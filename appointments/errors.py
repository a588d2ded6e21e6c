"""The one error type the booking side raises: a machine `code` from ErrorCode, a translated message,
optionally the form field it concerns. Views turn it into a form error or an HTTP status."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Every machine code the portal answers with: the `code` of a PortalError and of the API's error
    answers. A member equals its string, so JSON and templates see the plain code. The codes are part
    of the public API's contract: add codes freely, never rename or drop one."""

    # Input
    INVALID = "invalid"  # a field or the request is malformed; `errors` says which
    UNKNOWN = "unknown"  # an unknown concern, municipality or office
    INVALID_TIME = "invalid_time"  # a start time that is past, beyond the horizon or off the grid
    TOO_MANY_VEHICLES = "too_many_vehicles"
    OUTSIDE_AREA = "outside_area"  # the municipality is in neither administration
    NOT_BOOKABLE_ONLINE = "not_bookable_online"
    SERVICE_NOT_OFFERED = "service_not_offered"  # not at this office
    NOT_ALLOWED = "not_allowed"  # the cooperation rules do not allow this office for this municipality
    RANGE_TOO_LONG = "range_too_long"  # a search over more than SLOTS_MAX_DAYS days
    CAPTCHA_INVALID = "captcha_invalid"
    # References and tokens
    BAD_TOKEN = "bad_token"
    NOT_FOUND = "not_found"  # an unknown reference, or a wrong token for it
    # Conflicts with the booking's state or with other bookings
    SLOT_TAKEN = "slot_taken"
    INVALID_STATE = "invalid_state"  # the booking's status does not allow this
    ALREADY_SUBMITTED = "already_submitted"  # the confirmation e-mail went out already
    SAME_TIME = "same_time"  # moving a booking to its own time
    TOO_MANY_BOOKINGS = "too_many_bookings"  # of one citizen
    EXPIRED = "expired"  # the hold ran out
    # Limits
    RATE_LIMITED = "rate_limited"
    TOO_MANY_UNCONFIRMED = "too_many_unconfirmed"  # the hoarding budget of one address or network
    # The clerks' actions (domain/clerk.py)
    FORBIDDEN = "forbidden"  # not a member of this office, or not its lead
    WRONG_DAY = "wrong_day"  # a check-in on another day than the appointment's
    TOO_EARLY = "too_early"  # a no-show recorded before the grace period after the start
    NOTHING_TO_UNDO = "nothing_to_undo"
    TOO_LATE = "too_late"  # an undo after the day of the change
    OVERLAP = "overlap"  # a block overlapping another block
    # The HTTP layer only: answered by the API and its middleware, never raised as a PortalError
    METHOD_NOT_ALLOWED = "method_not_allowed"
    TOO_LARGE = "too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    SERVICE_UNAVAILABLE = "service_unavailable"
    ERROR = "error"  # any other HTTP error ninja raises; its status comes with it


# Raised only by the clerks' actions and answered only by the staff pages, never by the public API.
STAFF_CODES = frozenset(
    {
        ErrorCode.FORBIDDEN,
        ErrorCode.WRONG_DAY,
        ErrorCode.TOO_EARLY,
        ErrorCode.NOTHING_TO_UNDO,
        ErrorCode.TOO_LATE,
        ErrorCode.OVERLAP,
    }
)


class PortalError(Exception):
    def __init__(self, code: ErrorCode, message, *, field: str | None = None, **extra):
        super().__init__(str(message))
        # ErrorCode(code): a code outside the enumeration fails where it is raised, not at a client.
        self.code = ErrorCode(code)
        self.message = message
        self.field = field
        self.extra = extra

    def __str__(self):
        return f"{self.code}: {self.message}"
