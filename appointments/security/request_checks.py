"""Checks on every request before a view sees it: API writes take JSON only and bodies within the
limit, booking answers are never stored by a cache, and a warning when production runs behind a
proxy whose forwarded addresses it does not trust.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from appointments.errors import ErrorCode

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"
# A booking, its token in the query and the citizen's data: no shared or browser cache keeps them.
PRIVATE_API_PREFIX = "/api/v1/bookings"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def api_error(status: int, code: ErrorCode, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def is_json(content_type: str) -> bool:
    """`application/json`, with parameters (charset) or without; nothing else."""
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def body_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django treats an unreadable length as none: an empty body


def body_too_large(request) -> bool:
    # The same test Django makes when a view reads the body (RequestDataTooBig), made before it.
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit is not None and body_length(request) > limit


class ApiRequestMiddleware:
    """For the JSON API. A write must say `Content-Type: application/json`: a form or `text/plain`
    is what another site's page can send from a citizen's browser without asking (no CORS
    preflight), so only a JSON write proves a program that chose to call the API (415 otherwise). A
    body over DATA_UPLOAD_MAX_MEMORY_SIZE answers 413 `too_large` in the API's error shape, where
    Django would answer its HTML 400 page. Booking answers get `Cache-Control: no-store`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        if body_too_large(request):
            response = api_error(413, ErrorCode.TOO_LARGE, _("The request is too large."))
        elif (
            request.method in WRITE_METHODS
            and body_length(request)  # no body, nothing to smuggle: the view's own 400 says what is missing
            and not is_json(request.META.get("CONTENT_TYPE", ""))
        ):
            response = api_error(
                415,
                ErrorCode.UNSUPPORTED_MEDIA_TYPE,
                _("Please send the request body as JSON (Content-Type: application/json)."),
            )
        else:
            response = self.get_response(request)
        if request.path_info.startswith(PRIVATE_API_PREFIX):
            add_never_cache_headers(response)
        return response


class ForwardedForWarningMiddleware:
    """In production behind a reverse proxy with TRUSTED_PROXY_COUNT left at 0, every request seems
    to come from the proxy: all citizens share one address and one set of rate limits. Requests that
    carry X-Forwarded-For show that a proxy is there; say so in the log, once per process."""

    warned = False

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            not ForwardedForWarningMiddleware.warned
            and settings.PRODUCTION
            and not settings.TRUSTED_PROXY_COUNT
            and request.META.get("HTTP_X_FORWARDED_FOR")
        ):
            ForwardedForWarningMiddleware.warned = True
            log.warning(
                "Requests arrive with X-Forwarded-For but TRUSTED_PROXY_COUNT is 0: every client has the "
                "proxy's address (%s), so all share one rate limit and one login lock. Set "
                "TRUSTED_PROXY_COUNT to the number of reverse proxies in front of the portal (see the "
                "README, Production).",
                request.META.get("REMOTE_ADDR", ""),
            )
        return self.get_response(request)
