"""The hoarding budget: how many times one client may keep reserved without confirming them.

Holds and unconfirmed bookings count against the client's address, its network (IPv4 /24, IPv6
/64: a bot rents addresses by the network) and the normalised e-mail address (upcoming bookings,
booking.check_email_cap). A network may moreover keep only a small share of one office-day's
online capacity unconfirmed at once. The counts come from the database, not from the cache: the
live unconfirmed rows are the truth, whatever Redis does.

An appointment keeps keyed digests of the address and the network (never the address itself) only
while it is unconfirmed: confirming erases them, and so does the retention sweep for the rest.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_lazy as _

from appointments.errors import ErrorCode, PortalError
from appointments.models import EXPIRING_STATUSES, Appointment
from appointments.security.limits import RateLimited, _digest, check_rate, client_address
from ikz_portal.clock import local_date
from offices import config
from offices.hours import load_office_schedules, local
from offices.models import Office

# Providers that deliver "j.doe@" and "jdoe@" to the same mailbox; googlemail.com is gmail.com.
DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
NETWORK_LOCK_NAMESPACE = 7302  # first key of PostgreSQL advisory locks per client network


def normalise_email(email: str) -> str:
    """The mailbox behind an address, as far as it can be told: lower case, without a `+tag`,
    and without dots for the providers that ignore them. "" for something that is no address."""
    email = (email or "").strip().lower()
    if email.count("@") != 1:
        return ""
    local_part, domain = email.split("@")
    local_part = local_part.split("+", 1)[0]
    domain = DOTLESS_DOMAINS.get(domain, domain)
    if domain in DOTLESS_DOMAINS.values():
        local_part = local_part.replace(".", "")
    return f"{local_part}@{domain}" if local_part and domain else ""


def network_of(address: str) -> str:
    """The network an address belongs to for the budget: IPv4 /24, IPv6 /64; "" if no address."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


@dataclass(frozen=True)
class Client:
    """Who asks, as the budget knows it: keyed digests of the address and of its network."""

    address_key: str = ""
    network_key: str = ""

    @classmethod
    def of_address(cls, address: str) -> Client:
        network = network_of(address)
        return cls(
            address_key=_digest(f"address:{address}") if address else "",
            network_key=_digest(f"network:{network}") if network else "",
        )

    @classmethod
    def of(cls, request) -> Client:
        return cls.of_address(client_address(request))

    @property
    def fields(self) -> dict[str, str]:
        """What an appointment made for this client stores until it is confirmed."""
        return {"client_address_key": self.address_key, "client_network_key": self.network_key}


class BudgetExceeded(RateLimited):
    """Too much held unconfirmed from one connection: 429 with the time until the first one frees."""

    def __init__(self, retry_after: int, reason: str):
        PortalError.__init__(
            self,
            ErrorCode.TOO_MANY_UNCONFIRMED,
            _(
                "Too many appointments are currently reserved and not yet confirmed from your connection. "
                "Please confirm them with the link in the e-mail, or wait until they expire, then try again."
            ),
            retry_after=retry_after,
        )
        self.retry_after = retry_after
        self.reason = reason  # counted by the caller once the booking transaction has rolled back


def check_search_rate(request) -> None:
    """Searches for free times (the API's /slots, the calendar page) per client address and per
    network: RATE_LIMIT_SEARCH and RATE_LIMIT_SEARCH_NETWORK. Raises RateLimited."""
    address = client_address(request)
    check_rate("search", address, settings.RATE_LIMIT_SEARCH)
    check_rate("search-network", network_of(address), settings.RATE_LIMIT_SEARCH_NETWORK)


def _lock_network(client: Client) -> None:
    """Serialise the bookings of one network for the rest of the transaction, so that parallel
    requests cannot all pass the count before any of them is written (SQLite serialises anyway)."""
    if connection.vendor == "postgresql" and client.network_key:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [NETWORK_LOCK_NAMESPACE, int(client.network_key[:7], 16)]
            )


def online_minutes(office: Office, day: dt.date, now: dt.datetime) -> int:
    """The counter-minutes `office` offers online on `day` (its internal contingent not counted)."""
    configuration = config.current(now=now)
    schedule = configuration.schedules.get(office.id)
    if schedule is None or not configuration.covers(day):
        schedule = load_office_schedules([office], day, day)[office.id]
    return sum(
        int((end - begin).total_seconds() // 60)
        for counter in schedule.counters
        if counter.bookable_online
        for begin, end in schedule.working_intervals(counter.id, day)
    )


def check_budget(*, client: Client | None, office: Office, start: dt.datetime, minutes: int, now: dt.datetime) -> None:
    """Raise BudgetExceeded when one more hold of `minutes` at `office` and `start` would exceed the
    client's budget. Runs inside the booking transaction, before the insert."""
    if client is None or not (client.address_key or client.network_key):
        return
    _lock_network(client)
    pending = Appointment.objects.occupying(now).filter(status__in=EXPIRING_STATUSES)
    checks = [
        ("address", {"client_address_key": client.address_key}, settings.HOARD_MAX_PER_ADDRESS),
        ("network", {"client_network_key": client.network_key}, settings.HOARD_MAX_PER_NETWORK),
    ]
    for reason, lookup, cap in checks:
        if not cap or not next(iter(lookup.values())):
            continue
        expiries = list(pending.filter(**lookup).values_list("hold_expires_at", flat=True))
        if len(expiries) >= cap:
            _refuse(f"hoarding_{reason}", expiries, now)
    share = settings.HOARD_NETWORK_DAY_SHARE_PERCENT
    if share and client.network_key:
        day = local_date(start)
        rows = list(
            pending.filter(
                client_network_key=client.network_key,
                office=office,
                start__gte=local(day, dt.time(0)),
                start__lt=local(day + dt.timedelta(days=1), dt.time(0)),
            ).values_list("start", "end", "hold_expires_at")
        )
        held = sum((end - begin).total_seconds() / 60 for begin, end, _expiry in rows)
        # The first one is always allowed, however short the day: a citizen can book at all.
        if held and held + minutes > online_minutes(office, day, now) * share / 100:
            _refuse("hoarding_network_day", [expiry for _b, _e, expiry in rows], now)


def _refuse(reason: str, expiries, now: dt.datetime) -> None:
    first = min((e for e in expiries if e is not None), default=now + dt.timedelta(minutes=1))
    raise BudgetExceeded(retry_after=max(1, math.ceil((first - now).total_seconds())), reason=reason)
