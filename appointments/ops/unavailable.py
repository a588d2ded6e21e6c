"""A database that is restarting, unreachable or too slow is a short outage, not an error page.

Such a request answers 503 with Retry-After: the API's error shape for /api/, the portal's page
otherwise. Whatever the request had written is gone with it: Django's atomic rolls the transaction
back (or the server does, when the connection died), so nothing is left half-done.
"""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.views import defaults

from appointments.errors import ErrorCode

log = logging.getLogger(__name__)

# Long enough for a restart or a failover to finish, short enough that a citizen's retry is quick.
RETRY_AFTER_SECONDS = 5

# Connection lost, server unavailable, statement or lock timeout (PostgreSQL), database locked
# (SQLite): all OperationalError; a connection already closed is an InterfaceError.
UNAVAILABLE = (OperationalError, InterfaceError)


def unavailable_response(request, exc: BaseException) -> HttpResponse:
    log.warning("database unavailable for %s %s: %s: %s", request.method, request.path, type(exc).__name__, exc)
    message = _("The service is unavailable for a moment. Please try again in a few seconds.")
    if request.path.startswith("/api/"):
        response = JsonResponse({"code": ErrorCode.SERVICE_UNAVAILABLE, "message": message}, status=503)
    else:
        try:
            # No messages: reading them may need the session, which lives in the database.
            html = render_to_string("503.html", {"messages": [], "message": message}, request=request)
        except Exception:  # noqa: BLE001 - the page must not fail for want of its frame
            html = f"<!DOCTYPE html><title>503</title><h1>{escape(message)}</h1>"
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, UNAVAILABLE):
            return unavailable_response(request, exception)
        return None


def server_error(request):
    """handler500: a database error raised outside a view (a middleware writing the session on the
    way out) is an outage like the others; anything else stays Django's 500 page."""
    exc = sys.exc_info()[1]
    if isinstance(exc, UNAVAILABLE):
        return unavailable_response(request, exc)
    return defaults.server_error(request)
