"""The API's error answers: one shape, {"code", "message", "errors"?}, with the HTTP status following
from the code (ERROR_STATUS). Nothing a client can send may end in a 500: ninja's own validation and
parse errors and stray ValueErrors from odd input are turned into 400 answers here."""

import logging
from functools import partial

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

from appointments.api.schemas import slot_out
from appointments.errors import STAFF_CODES, ErrorCode, PortalError
from appointments.ops.unavailable import UNAVAILABLE, unavailable_response
from appointments.security.limits import RateLimited

log = logging.getLogger(__name__)

# The HTTP status of each code a PortalError can carry (the other codes are answered by the HTTP layer
# with their own status). The pages answer with the same statuses where they answer with one.
ERROR_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID: 400,
    ErrorCode.INVALID_TIME: 400,
    ErrorCode.TOO_MANY_VEHICLES: 400,
    ErrorCode.OUTSIDE_AREA: 400,
    ErrorCode.NOT_BOOKABLE_ONLINE: 400,
    ErrorCode.SERVICE_NOT_OFFERED: 400,
    ErrorCode.NOT_ALLOWED: 400,
    ErrorCode.UNKNOWN: 400,
    ErrorCode.BAD_TOKEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.SLOT_TAKEN: 409,
    ErrorCode.INVALID_STATE: 409,
    ErrorCode.ALREADY_SUBMITTED: 409,
    ErrorCode.EXPIRED: 410,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.TOO_MANY_BOOKINGS: 409,
    ErrorCode.TOO_MANY_UNCONFIRMED: 429,
    ErrorCode.RANGE_TOO_LONG: 400,
    ErrorCode.SAME_TIME: 409,
    ErrorCode.CAPTCHA_INVALID: 400,
    # The clerks' actions do not reach the API; their statuses as the staff pages answer them (409: the
    # appointment's state or day does not allow it).
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.WRONG_DAY: 409,
    ErrorCode.TOO_EARLY: 409,
    ErrorCode.NOTHING_TO_UNDO: 409,
    ErrorCode.TOO_LATE: 409,
    ErrorCode.OVERLAP: 409,
}

# Codes the HTTP layer answers with (the handlers below, request_checks, ops.unavailable), with their
# status; `error` carries the status of the HTTP error it stands for.
HTTP_LAYER_STATUS: dict[ErrorCode, int] = {
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
}


def codes_by_status() -> dict[int, list[ErrorCode]]:
    """The codes the public API answers with, by HTTP status: for its OpenAPI description."""
    statuses: dict[int, list[ErrorCode]] = {}
    for code, status in (ERROR_STATUS | HTTP_LAYER_STATUS).items():
        if code not in STAFF_CODES:
            statuses.setdefault(status, []).append(code)
    return dict(sorted(statuses.items()))


def codes_description() -> str:
    """The error codes as a Markdown list by status, for the API's description."""
    lines = [f"- {status}: " + ", ".join(f"`{code}`" for code in codes) for status, codes in codes_by_status().items()]
    lines.append(f"- any other HTTP error: `{ErrorCode.ERROR}`, with its status")
    return "**Error codes** (the `code` of an error answer), by status:\n\n" + "\n".join(lines) + "\n\n"


def error_response(api: NinjaAPI, request, status: int, code: ErrorCode, message, errors: dict | None = None, **extra):
    body = {"code": code, "message": str(message)}
    if errors:
        body["errors"] = {field: [str(m) for m in messages] for field, messages in errors.items()}
    body.update(extra)
    return api.create_response(request, body, status=status)


def portal_error(api: NinjaAPI, request, exc: PortalError):
    errors = exc.extra.get("errors")
    if not errors and exc.field:
        errors = {exc.field: [exc.message]}
    extra = {}
    if "alternatives" in exc.extra:
        extra["alternatives"] = [slot_out(slot) for slot in exc.extra["alternatives"]]
    response = error_response(api, request, ERROR_STATUS.get(exc.code, 400), exc.code, exc.message, errors, **extra)
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


def validation_error(api: NinjaAPI, request, exc: NinjaValidationError):
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        errors.setdefault(error_field(error.get("loc", ())), []).append(validation_message(error))
    return error_response(api, request, 400, ErrorCode.INVALID, _("Please correct the marked fields."), errors)


def http_error(api: NinjaAPI, request, exc: HttpError):
    if isinstance(exc, Throttled):
        return error_response(
            api, request, 429, ErrorCode.RATE_LIMITED, _("Too many requests. Please try again later.")
        )
    if exc.status_code == 400:
        # ninja's only own 400: a body that is not JSON.
        return error_response(api, request, 400, ErrorCode.INVALID, _("The request body is not valid JSON."))
    if exc.status_code == 405:
        return error_response(api, request, 405, ErrorCode.METHOD_NOT_ALLOWED, _("This method is not allowed here."))
    return error_response(api, request, exc.status_code, ErrorCode.ERROR, exc.message)


def not_found(api: NinjaAPI, request, exc):
    return error_response(api, request, 404, ErrorCode.NOT_FOUND, _("Not found."))


def bad_input(api: NinjaAPI, request, exc: Exception):
    # A value the schema let through but the domain code could not handle (a date at the end of
    # the calendar, an offset that overflows). It is the client's input, so a 400, but log it: a
    # new case here may deserve its own check.
    log.warning("API input rejected by a %s: %s", type(exc).__name__, exc, exc_info=exc)
    return error_response(
        api, request, 400, ErrorCode.INVALID, _("The request contains a value that cannot be processed.")
    )


def install(api: NinjaAPI) -> None:
    """Answer every error of `api` in the one shape."""
    api.add_exception_handler(PortalError, partial(portal_error, api))
    api.add_exception_handler(NinjaValidationError, partial(validation_error, api))
    api.add_exception_handler(HttpError, partial(http_error, api))
    api.add_exception_handler(Http404, partial(not_found, api))
    for exc_class in (ValueError, TypeError, OverflowError):
        api.add_exception_handler(exc_class, partial(bad_input, api))
    # A database that is restarting or too slow: 503 with Retry-After in the API's error shape. ninja
    # handles exceptions before Django's middleware sees them (with DEBUG it would answer a 500 page).
    for exc_class in UNAVAILABLE:
        api.add_exception_handler(exc_class, unavailable_response)
