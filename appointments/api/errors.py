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
from appointments.errors import PortalError
from appointments.ops.unavailable import UNAVAILABLE, unavailable_response
from appointments.security.limits import RateLimited

log = logging.getLogger(__name__)

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


def error_response(api: NinjaAPI, request, status: int, code: str, message, errors: dict | None = None, **extra):
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
    return error_response(api, request, 400, "invalid", _("Please correct the marked fields."), errors)


def http_error(api: NinjaAPI, request, exc: HttpError):
    if isinstance(exc, Throttled):
        return error_response(api, request, 429, "rate_limited", _("Too many requests. Please try again later."))
    if exc.status_code == 400:
        # ninja's only own 400: a body that is not JSON.
        return error_response(api, request, 400, "invalid", _("The request body is not valid JSON."))
    if exc.status_code == 405:
        return error_response(api, request, 405, "method_not_allowed", _("This method is not allowed here."))
    return error_response(api, request, exc.status_code, "error", exc.message)


def not_found(api: NinjaAPI, request, exc):
    return error_response(api, request, 404, "not_found", _("Not found."))


def bad_input(api: NinjaAPI, request, exc: Exception):
    # A value the schema let through but the domain code could not handle (a date at the end of
    # the calendar, an offset that overflows). It is the client's input, so a 400, but log it: a
    # new case here may deserve its own check.
    log.warning("API input rejected by a %s: %s", type(exc).__name__, exc, exc_info=exc)
    return error_response(api, request, 400, "invalid", _("The request contains a value that cannot be processed."))


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
