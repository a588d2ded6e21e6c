"""The hoarding budget (DESIGN.md decision 12): holds and unconfirmed bookings count against the
client's address, its network and the normalised e-mail address; a network keeps only a small share
of an office-day unconfirmed; API bookings must be confirmed sooner; rate limits slide.

The clock stands at Tuesday, 1 December 2026, 07:00 in Berlin; the bookings go to Thursday, 3 December
at Frankenthal (three counters).
"""

import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.test import Client

from appointments import shared_cache
from appointments.domain import booking, retention
from appointments.models import Appointment, BlockedAttempt, Notification, Status
from appointments.security.hoarding import network_of, normalise_email, online_minutes
from appointments.security.limits import RateLimited, check_rate
from tests.conftest import berlin
from tests.process_state import forget_local_counts

START = berlin(2026, 12, 3, 9, 0)
DATA = {"service": "umschreibung", "vehicles": "1", "municipality": "frankenthal-pfalz", "office": "frankenthal"}


def clear_counters():
    try:
        cache.clear()
    except shared_cache.ERRORS:  # the test pointed the cache at a Redis that is down
        pass
    forget_local_counts()


@pytest.fixture(autouse=True)
def fresh_counters():
    clear_counters()
    yield
    clear_counters()


def api_booking(email, start=START, address="203.0.113.7", office="frankenthal"):
    return Client(REMOTE_ADDR=address).post(
        "/api/v1/bookings",
        json.dumps(
            {
                "services": ["umschreibung"],
                "vehicles": 1,
                "municipality": "frankenthal-pfalz",
                "office": office,
                "start": start.isoformat(),
                "name": "Erika Mustermann",
                "email": email,
                "privacy_consent": True,
            }
        ),
        content_type="application/json",
    )


def slot(number):
    """The number-th quarter hour from 09:00 on Thursday."""
    return START + dt.timedelta(minutes=15 * number)


def test_email_addresses_are_normalised_to_their_mailbox():
    assert normalise_email(" C.Ap+Termin@GoogleMail.com ") == "cap@gmail.com"
    assert normalise_email("c.a.p@gmail.com") == "cap@gmail.com"
    assert normalise_email("Erika.M+1@Example.org") == "erika.m@example.org"  # dots count elsewhere
    assert normalise_email("not-an-address") == ""


def test_networks_are_ipv4_slash_24_and_ipv6_slash_64():
    assert network_of("203.0.113.7") == network_of("203.0.113.250") == "203.0.113.0/24"
    assert network_of("203.0.114.7") != network_of("203.0.113.7")
    assert network_of("2001:db8:1:2:aaaa::1") == network_of("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert network_of("::ffff:203.0.113.9") == "203.0.113.0/24"
    assert network_of("") == ""


def test_the_cap_per_address_sees_through_tags_dots_and_case(demo, clock, settings):
    """The review's `cap+1@…` and `c.ap@…` are the same mailbox as `cap@…`."""
    settings.MAX_ACTIVE_BOOKINGS_PER_EMAIL = 1
    assert api_booking("cap@gmail.com").status_code == 201
    for alias in ("cap+1@gmail.com", "c.ap@gmail.com", "CAP@googlemail.com"):
        refused = api_booking(alias, slot(2))
        assert refused.status_code == 409, alias
        assert refused.json()["code"] == "too_many_bookings"
    assert api_booking("c.ap@example.org", slot(2)).status_code == 201
    assert Appointment.objects.filter(email_key="cap@gmail.com").count() == 1


def test_an_address_keeps_only_a_few_times_unconfirmed(demo, clock, settings):
    """Fresh e-mail addresses do not help: the fourth unconfirmed booking from one address is refused
    with 429 and Retry-After; confirming one frees the budget."""
    settings.HOARD_MAX_PER_ADDRESS = 3
    settings.API_UNCONFIRMED_MINUTES = 20
    made = [api_booking(f"bot{number}@example.org", slot(number)).json() for number in range(3)]
    refused = api_booking("bot9@example.org", slot(3))
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_unconfirmed"
    assert 0 < int(refused["Retry-After"]) <= settings.API_UNCONFIRMED_MINUTES * 60
    assert Appointment.objects.count() == 3
    assert BlockedAttempt.objects.get(reason="hoarding_address").count == 1

    first = Appointment.objects.get(reference=made[0]["reference"])
    token = Notification.objects.filter(appointment=first).latest("id").payload["token"]
    booking.confirm_booking(appointment=first, token=token, now=clock.now)
    assert api_booking("bot9@example.org", slot(3)).status_code == 201


def test_the_budget_holds_while_redis_is_down(dead_redis, demo, clock, settings):
    """The budget is counted from the database: a Redis that is stopped or silent changes nothing."""
    settings.HOARD_MAX_PER_ADDRESS = 1
    assert api_booking("a@example.org", slot(0)).status_code == 201
    refused = api_booking("b@example.org", slot(1))
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_unconfirmed"


def test_a_network_shares_one_budget_across_its_addresses(demo, clock, settings):
    """Rotating addresses within a /24 (or an IPv6 /64) does not multiply the budget."""
    settings.HOARD_MAX_PER_NETWORK = 2
    assert api_booking("a@example.org", slot(0), address="198.51.100.1").status_code == 201
    assert api_booking("b@example.org", slot(1), address="198.51.100.2").status_code == 201
    refused = api_booking("c@example.org", slot(2), address="198.51.100.3")
    assert refused.status_code == 429 and refused.json()["code"] == "too_many_unconfirmed"
    assert api_booking("d@example.org", slot(2), address="198.51.101.3").status_code == 201

    assert api_booking("e@example.org", slot(3), address="2001:db8:1:2::1").status_code == 201
    assert api_booking("f@example.org", slot(4), address="2001:db8:1:2::2").status_code == 201
    assert api_booking("g@example.org", slot(5), address="2001:db8:1:2::3").status_code == 429


def test_a_network_keeps_only_a_share_of_an_office_day_unconfirmed(demo, clock, settings):
    """At most HOARD_NETWORK_DAY_SHARE_PERCENT of one office-day's online counter-minutes are held
    unconfirmed from one network; another day, or another network, can still book."""
    settings.HOARD_NETWORK_DAY_SHARE_PERCENT = 10
    budget = online_minutes(demo.frankenthal, START.date(), clock.now) * 10 / 100
    accepted = 0
    for number in range(20):
        response = api_booking(f"n{number}@example.org", slot(number // 3), address=f"192.0.2.{number + 1}")
        if response.status_code != 201:
            assert response.status_code == 429 and response.json()["code"] == "too_many_unconfirmed"
            break
        accepted += 1
    held = sum(a.duration_minutes for a in Appointment.objects.filter(status=Status.UNCONFIRMED))
    assert 1 <= accepted < 20
    assert held <= budget
    assert BlockedAttempt.objects.get(reason="hoarding_network_day").count == 1
    assert api_booking("other-day@example.org", START + dt.timedelta(days=1), address="192.0.2.99").status_code == 201
    assert api_booking("elsewhere@example.org", slot(7), address="203.0.113.50").status_code == 201


def test_holds_on_the_pages_count_against_the_address_too(demo, clock, settings):
    """Three browser sessions from one address: the third hold is refused with a clear message."""
    settings.HOARD_MAX_PER_ADDRESS = 2
    for number in range(2):
        response = Client(REMOTE_ADDR="203.0.113.7").post(
            "/termin/reservieren/", {**DATA, "start": slot(number).isoformat()}
        )
        assert response.status_code == 302
    response = Client(REMOTE_ADDR="203.0.113.7").post("/termin/reservieren/", {**DATA, "start": slot(2).isoformat()})
    assert response.status_code == 429
    assert "Retry-After" in response
    assert "nicht bestätigt" in response.content.decode()
    assert Appointment.objects.filter(status=Status.HELD).count() == 2
    # A hold that ran out no longer counts.
    clock.shift(dt.timedelta(minutes=settings.HOLD_MINUTES + 1))
    response = Client(REMOTE_ADDR="203.0.113.7").post("/termin/reservieren/", {**DATA, "start": slot(2).isoformat()})
    assert response.status_code == 302


def test_api_bookings_must_be_confirmed_sooner(demo, clock, settings):
    settings.API_UNCONFIRMED_MINUTES = 20
    made = api_booking("erika@example.org").json()
    assert dt.datetime.fromisoformat(made["confirm_by"]) == clock.now + dt.timedelta(minutes=20)
    clock.shift(dt.timedelta(minutes=21))
    booking.expire_stale(now=clock.now)
    assert Appointment.objects.get(reference=made["reference"]).status == Status.EXPIRED


def test_the_client_keys_are_kept_only_while_a_booking_waits(demo, clock, settings):
    """Confirming erases the digests of address and network; the sweep erases those of expired ones."""
    settings.HOARD_MAX_PER_ADDRESS = 3
    kept = Appointment.objects.get(reference=api_booking("a@example.org", slot(0)).json()["reference"])
    dropped = Appointment.objects.get(reference=api_booking("b@example.org", slot(1)).json()["reference"])
    assert kept.client_address_key and kept.client_network_key
    assert "203.0.113" not in kept.client_network_key
    token = Notification.objects.filter(appointment=kept).latest("id").payload["token"]
    booking.confirm_booking(appointment=kept, token=token, now=clock.now)
    kept.refresh_from_db()
    assert kept.client_address_key == kept.client_network_key == ""
    clock.shift(dt.timedelta(hours=2))
    booking.expire_stale(now=clock.now)
    dropped.refresh_from_db()
    assert dropped.client_address_key == dropped.client_network_key == ""
    Appointment.objects.filter(pk=dropped.pk).update(client_network_key="x" * 32, email_key="b@example.org")
    retention.erase_personal_data(now=clock.now)
    dropped.refresh_from_db()
    assert dropped.client_network_key == ""


def test_a_fixed_window_does_not_allow_twice_the_limit_across_its_boundary(db, clock):
    """Ten a minute: ten at the end of one minute and ten more at the start of the next would pass a
    fixed window; the sliding window refuses the second burst, and lets attempts through again as
    the first burst slides out of the period."""
    clock.now = berlin(2026, 12, 1, 7, 0) + dt.timedelta(seconds=58)
    for _ in range(10):
        check_rate("search", "203.0.113.7", "10/m")
    clock.shift(dt.timedelta(seconds=3))  # 07:01:01, the next fixed window
    with pytest.raises(RateLimited) as refused:
        check_rate("search", "203.0.113.7", "10/m")
    assert 1 <= refused.value.retry_after <= 60
    clock.shift(dt.timedelta(seconds=refused.value.retry_after))
    check_rate("search", "203.0.113.7", "10/m")
    clock.shift(dt.timedelta(minutes=2))
    for _ in range(10):
        check_rate("search", "203.0.113.7", "10/m")


def race_from_one_network(demo, settings, monkeypatch, *, network_lock: bool) -> list[str]:
    """Eight bookings from eight addresses of one /24 at once, with room for two. Every thread waits
    after its budget check until all eight have made theirs (or 1 s has passed), so that the checks
    overlap whenever nothing serialises them. Returns the outcomes."""
    import threading

    from django.db import connections

    from appointments.security import hoarding
    from appointments.security.hoarding import Client as BudgetClient

    settings.HOARD_MAX_PER_NETWORK = 2
    now = berlin(2026, 12, 1, 7, 0)
    start_together, checked = threading.Barrier(8), threading.Barrier(8, timeout=1)
    checking = hoarding.check_budget

    def check_then_wait(**kwargs):
        checking(**kwargs)
        try:
            checked.wait()
        except threading.BrokenBarrierError:
            pass  # serialised by the lock: the others cannot arrive before this one commits

    monkeypatch.setattr(booking, "check_budget", check_then_wait)
    if not network_lock:
        monkeypatch.setattr(hoarding, "_lock_network", lambda client: None)
    outcomes = []

    def attempt(number):
        try:
            with connections["default"].cursor() as cursor:
                # Serialised by the lock, the last thread waits 8 × 1 s: longer than the timeouts
                # that protect the portal from a stuck lock.
                cursor.execute("SET statement_timeout = 0; SET lock_timeout = 0")
            start_together.wait()
            booking.book(
                office=demo.frankenthal,
                start=slot(number),
                services=[demo.umschreibung],
                vehicles=1,
                municipality=demo.frankenthal_citizen_home,
                name="Erika Mustermann",
                email=f"racer{number}@example.org",
                privacy_consent=True,
                now=now,
                client=BudgetClient.of_address(f"198.51.100.{number + 1}"),
            )
            outcomes.append("booked")
        except Exception as error:  # noqa: BLE001 - any escaped exception fails the test below
            outcomes.append(getattr(error, "code", repr(error)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(outcomes)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_bookings_from_one_network_cannot_all_pass_the_count(demo, settings, clock, monkeypatch):
    """The lock per network makes the count and the insert one step: exactly two are made."""
    outcomes = race_from_one_network(demo, settings, monkeypatch, network_lock=True)

    assert outcomes == ["booked"] * 2 + ["too_many_unconfirmed"] * 6
    assert Appointment.objects.filter(status=Status.UNCONFIRMED).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_without_the_network_lock_parallel_bookings_pass_the_count(demo, settings, clock, monkeypatch):
    """Control: the same race without the lock lets more than two through, so the test above
    proves the lock and not a lucky schedule."""
    outcomes = race_from_one_network(demo, settings, monkeypatch, network_lock=False)

    assert outcomes.count("booked") > 2
    assert Appointment.objects.filter(status=Status.UNCONFIRMED).count() > 2
