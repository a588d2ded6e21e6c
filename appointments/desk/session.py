"""Staff sessions end after a working day (STAFF_SESSION_MAX_HOURS after the login) and after an
idle time (STAFF_SESSION_IDLE_MINUTES without a request); 0 switches either off.

Only logged-in accounts are concerned: citizens browse anonymously, and their sessions (with the
references of their held bookings) are never touched here. The times are kept in the session, so
every web process sees the same ones.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.utils.translation import gettext as _

from ikz_portal import clock

LOGIN_AT = "staff_login_at"
SEEN_AT = "staff_seen_at"
# Last activity is written at most this often, so that not every request saves the session.
SEEN_RESOLUTION_SECONDS = 30


def stamp_login(sender, request, user, **kwargs):
    """At every login (user_logged_in): the working day starts now."""
    session = getattr(request, "session", None)
    if session is not None:
        now = clock.timestamp()
        session[LOGIN_AT] = session[SEEN_AT] = now


def automatic(request) -> bool:
    """The schedule's self-refresh (clerk.js) is not activity of the person: an open tab on an
    unattended desk must not keep the session alive."""
    return request.headers.get("X-Requested-With") == "fetch"


def expired(session, now: float) -> str | None:
    """Why this staff session is over ("day" or "idle"), or None."""
    max_hours = settings.STAFF_SESSION_MAX_HOURS
    idle_minutes = settings.STAFF_SESSION_IDLE_MINUTES
    login_at = session.get(LOGIN_AT)
    seen_at = session.get(SEEN_AT, login_at)
    if max_hours and login_at is not None and now - login_at >= max_hours * 3600:
        return "day"
    if idle_minutes and seen_at is not None and now - seen_at >= idle_minutes * 60:
        return "idle"
    return None


class StaffSessionMiddleware:
    """After AuthenticationMiddleware and MessageMiddleware: ends an expired staff session before
    the view runs, so the view sees an anonymous visitor and sends them to the login page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.STAFF_SESSION_MAX_HOURS or settings.STAFF_SESSION_IDLE_MINUTES:
            self.check(request)
        return self.get_response(request)

    def check(self, request) -> None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return
        session = request.session
        now = clock.timestamp()
        if session.get(LOGIN_AT) is None:
            # A session from before these limits (or a login that bypassed the signal): it starts now.
            session[LOGIN_AT] = session[SEEN_AT] = now
            return
        reason = expired(session, now)
        if reason is not None:
            logout(request)
            if reason == "day":
                messages.info(
                    request, _("Your session has ended after the maximum time of a working day. Please log in again.")
                )
            else:
                messages.info(request, _("You were logged out after a time without activity. Please log in again."))
            return
        if not automatic(request) and now - session.get(SEEN_AT, 0) >= SEEN_RESOLUTION_SECONDS:
            session[SEEN_AT] = now
