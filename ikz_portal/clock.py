"""The portal's one clock: "now" and "today in Berlin" are read here and nowhere else.

The entry points (views, the API, the admin, tasks, commands) read the time from this module and
pass it down; the services below them take `now=`. Tests freeze this clock through the `clock`
fixture (time-machine), which moves every reading of the time in the process at once.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

BERLIN = ZoneInfo("Europe/Berlin")


def now() -> dt.datetime:
    """The current instant, aware (UTC)."""
    return timezone.now()


def timestamp() -> float:
    """The current instant in seconds since the epoch (rate windows, captcha expiry)."""
    return now().timestamp()


def local_date(moment: dt.datetime) -> dt.date:
    """The calendar day in Berlin of an aware instant."""
    return moment.astimezone(BERLIN).date()


def today(at: dt.datetime | None = None) -> dt.date:
    """Today in Berlin: at the instant `at` when a service passes its `now`, else at this clock's now."""
    return local_date(at if at is not None else now())
