"""Request guards shared by the citizen pages and the API: a request passes the same checks, and a
refusal is counted the same way, whichever front end it comes through.

Each guard raises (a PortalError, or RateLimited, which is one) or returns what it found; the
front end turns the refusal into its own answer: a page, or the API's error shape.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from appointments.domain import booking
from appointments.errors import ErrorCode, PortalError
from appointments.models import Appointment
from appointments.security import captcha
from appointments.security.hoarding import normalise_email
from appointments.security.limits import check_rate, client_address, record_blocked

# --- rate limits ----------------------------------------------------------------------------------


def check_email_rate(email: str) -> None:
    """Booking mails per mailbox (RATE_LIMIT_EMAIL), counted by the normalised address, so that
    "c.ap+1@gmail.com" is the mailbox of "cap@gmail.com". Raises RateLimited."""
    check_rate("email", normalise_email(email) or email, settings.RATE_LIMIT_EMAIL)


def check_confirm_rate(request) -> None:
    """Confirmations per client address (RATE_LIMIT_CONFIRM). Raises RateLimited."""
    check_rate("confirm", client_address(request), settings.RATE_LIMIT_CONFIRM)


# --- the captcha ------------------------------------------------------------------------------------


def _captcha_refused(field: str) -> PortalError:
    record_blocked("captcha")
    return PortalError(
        ErrorCode.CAPTCHA_INVALID,
        _("The captcha is missing, wrong, expired or already used. Please solve a new challenge."),
        field=field,
    )


def check_captcha(payload) -> None:
    """While the captcha is on: the solved proof-of-work challenge (ALTCHA payload) of a booking.
    Missing, wrong, expired or spent: counted as a refused attempt, PortalError captcha_invalid."""
    if captcha.enabled() and not captcha.verify_payload(payload):
        raise _captcha_refused("altcha")


def check_captcha_answer(question, answer) -> None:
    """The answer to the question for browsers without JavaScript (captcha.new_question), sent
    after its wait. A wrong one is counted as a refused attempt, PortalError captcha_invalid."""
    if not captcha.verify_answer(question, answer):
        raise _captcha_refused("captcha_answer")


# --- the booking a request is about -----------------------------------------------------------------


def find_booking(request, *, reference: str, token: str) -> Appointment:
    """The booking behind the reference and secret of an e-mail link (booking.get_booking).

    An unknown reference and a wrong secret answer the same, and each such miss counts against the
    client address (RATE_LIMIT_BAD_TOKEN): past the limit the misses answer 429, so references
    cannot be tried in bulk. A right secret is always accepted: it cannot be guessed (256 bits), and
    a citizen behind the same address as a guesser must still reach their booking.
    Raises BookingError not_found, or RateLimited once this address has missed too often."""
    try:
        return booking.get_booking(reference=reference, token=token)
    except booking.BookingError as error:
        if error.code == ErrorCode.NOT_FOUND:
            check_rate("bad-token", client_address(request), settings.RATE_LIMIT_BAD_TOKEN)
        raise


def session_hold(request, reference: str) -> tuple[Appointment, str] | None:
    """The hold behind a reference and its secret, when this browser session made it; None for
    another session's hold and for an unknown reference alike (nothing tells which exist)."""
    appointment = booking.by_reference(reference)
    token = request.session.get("holds", {}).get(appointment.reference) if appointment is not None else None
    return (appointment, token) if appointment is not None and token else None
