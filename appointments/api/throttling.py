"""Rate limiting of the API's booking endpoint, in ninja's throttle interface."""

import threading

from django.conf import settings
from ninja.throttling import BaseThrottle

from appointments.security.limits import RateLimited, check_rate, client_address


class BookingThrottle(BaseThrottle):
    """BOOKING_RATE_LIMIT per client address, read at request time so operators and load tests can
    change it. A fixed window counted with one atomic increment in the shared cache (Redis in
    production), as the other rate limits are (security.limits.check_rate): ninja's own throttle keeps the
    time of every request of the window per address and reads and writes that whole list each
    time. ninja keeps one throttle object per operation for all threads: the wait is thread-local."""

    def __init__(self):
        self._local = threading.local()

    def allow_request(self, request) -> bool:
        try:
            check_rate("api-bookings", client_address(request), settings.BOOKING_RATE_LIMIT)
        except RateLimited as limited:
            self._local.wait = limited.retry_after
            return False
        return True

    def wait(self):
        return getattr(self._local, "wait", None)
