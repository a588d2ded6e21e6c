"""A booking looked up by the reference and secret of its e-mail link, for the pages and the API alike.

An unknown reference and a wrong secret answer the same (booking.get_booking), and each such miss
counts against the client address (RATE_LIMIT_BAD_TOKEN): past the limit the misses answer 429, so
references cannot be tried in bulk. A right secret is always accepted: it cannot be guessed (256
bits), and a citizen behind the same address as a guesser must still reach their booking.
"""

from __future__ import annotations

from django.conf import settings

from appointments.domain import booking
from appointments.errors import ErrorCode
from appointments.models import Appointment
from appointments.security.limits import check_rate, client_address


def find_booking(request, *, reference: str, token: str) -> Appointment:
    """Raises BookingError not_found, or RateLimited once this address has missed too often."""
    try:
        return booking.get_booking(reference=reference, token=token)
    except booking.BookingError as error:
        if error.code == ErrorCode.NOT_FOUND:
            check_rate("bad-token", client_address(request), settings.RATE_LIMIT_BAD_TOKEN)
        raise
