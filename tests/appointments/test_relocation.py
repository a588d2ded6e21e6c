"""A counter is blocked (or the office closed): bookings that fit on another counter move there at
the same time, the others stay and their citizens get an e-mail with the nearest free times and a
new manage link; the old link stops working and reminders still waiting carry the new one.

The clock is Tuesday, 1 December 2026, 07:30; the blocks are on Wednesday at the Frankenthal
office (three counters, 08:00–12:00). Personas as in test_clerk.py.
"""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from appointments.domain import booking
from appointments.domain.relocation import Result, relocate_after_closure
from appointments.errors import ErrorCode
from appointments.models import Appointment, Notification, Status
from appointments.outbox import notifications
from offices.models import Closure, Counter, Membership
from tests.appointments.clerk_personas import NOW, client_for, schedule_url, text, walk_in
from tests.conftest import berlin

pytestmark = pytest.mark.clock_start(NOW)

DAY = dt.date(2026, 12, 2)
URL = re.compile(r"https?://[^\s\"<>]+")


def counters(demo):
    return list(Counter.objects.filter(office=demo.frankenthal).order_by("name"))


@pytest.fixture
def busy_morning(desk):
    """09:00 on Schalter 1 (the other counters are free then), and 10:00 on all three counters; the
    10:00 booking on Schalter 1 has an e-mail address and a pending reminder."""
    demo = desk.demo
    s1, s2, s3 = counters(demo)
    fits = walk_in(demo, start=berlin(2026, 12, 2, 9, 0), name="Anna Passt")
    stuck, stuck_token = booking.book_in_office(
        office=demo.frankenthal,
        start=berlin(2026, 12, 2, 10, 0),
        services=[demo.umschreibung],
        vehicles=1,
        municipality=demo.frankenthal_citizen_home,
        name="Bernd Bleibt",
        email="bernd@example.org",
        channel="phone",
        now=NOW,
    )
    others = [walk_in(demo, start=berlin(2026, 12, 2, 10, 0), name=name) for name in ("Otto Anders", "Olga Anders")]
    assert (fits.counter, stuck.counter) == (s1, s1)
    assert {o.counter for o in others} == {s2, s3}
    return desk, fits, stuck, stuck_token


def block_form(counter, **overrides):
    """What the block form sends; `counter` is a Counter or the raw value ("office" for all)."""
    return {
        "counter": str(counter.pk) if hasattr(counter, "pk") else counter,
        "day": DAY.isoformat(),
        "start_time": "08:30",
        "end_time": "10:30",
        "reason": "Schulung",
        **overrides,
    }


def test_a_blocked_counter_moves_what_fits_and_offers_new_times_to_the_rest(busy_morning):
    desk, fits, stuck, old_token = busy_morning
    s1 = fits.counter

    response = desk.frankenthal_clerk.post(reverse("clerk:block", args=["frankenthal"]), block_form(s1))

    assert response.status_code == 200
    page = text(response)
    assert "Moved to another counter (same time)" in page and fits.reference in page
    assert "new times offered by e-mail" in page and stuck.reference in page
    closure = Closure.objects.get()
    assert (closure.counter, closure.start_date, closure.reason) == (s1, DAY, "Schulung")
    assert closure.created_by.username == "clerk-frankenthal"

    fits.refresh_from_db()
    assert fits.counter != s1 and fits.start == berlin(2026, 12, 2, 9, 0) and fits.status == Status.CONFIRMED
    assert fits.relocation_offered_at is None
    assert not fits.notifications.filter(kind=Notification.Kind.RELOCATION_OFFER).exists()

    stuck.refresh_from_db()
    assert stuck.counter == s1 and stuck.start == berlin(2026, 12, 2, 10, 0) and stuck.status == Status.CONFIRMED
    assert stuck.relocation_offered_at == NOW
    [offer] = stuck.notifications.filter(kind=Notification.Kind.RELOCATION_OFFER)
    new_token = offer.payload["token"]
    assert new_token != old_token and stuck.token_matches(new_token)
    assert offer.payload["slots"], "the nearest free times are offered"
    # The old link no longer works, the new one does.
    with pytest.raises(booking.BookingError) as error:
        booking.get_booking(reference=stuck.reference, token=old_token)
    assert error.value.code == ErrorCode.NOT_FOUND
    assert booking.get_booking(reference=stuck.reference, token=new_token) == stuck
    # Every message still waiting (confirmation, reminder) carries the new link.
    pending = stuck.notifications.filter(state=Notification.State.PENDING).exclude(pk=offer.pk)
    assert {n.kind for n in pending} >= {Notification.Kind.REMINDER}
    assert all(n.payload.get("token") == new_token for n in pending)
    # Who and when.
    notes = list(stuck.events.values_list("user__username", "note"))
    assert notes and notes[0][0] == "clerk-frankenthal"


def test_the_offer_e_mail_lists_times_with_working_links(busy_morning, settings):
    settings.PORTAL_BASE_URL = "https://termine.example"
    desk, fits, stuck, old_token = busy_morning
    desk.frankenthal_clerk.post(reverse("clerk:block", args=["frankenthal"]), block_form(fits.counter))
    offer = stuck.notifications.get(kind=Notification.Kind.RELOCATION_OFFER)
    new_token = offer.payload["token"]

    notifications.send_due(now=NOW)

    [message] = [m for m in mail.outbox if "/verschieben/?" in m.body]
    offer.refresh_from_db()
    assert offer.state == Notification.State.SENT
    assert message.to == ["bernd@example.org"] and stuck.reference in message.subject
    html = message.alternatives[0][0]
    urls = URL.findall(message.body)
    reschedule = [u for u in urls if "/verschieben/" in u]
    manage = [u for u in urls if urlsplit(u).path == reverse("appointments:manage", args=[stuck.reference])]
    assert len(reschedule) == len(offer.payload.get("slots") or reschedule) >= 1
    assert len(manage) == 1 and parse_qs(urlsplit(manage[0]).query)["token"] == [new_token]
    for url in reschedule:
        query = parse_qs(urlsplit(url).query)
        assert query["token"] == [new_token]
        assert query["office"][0] in ("frankenthal", "schifferstadt")
        assert dt.datetime.fromisoformat(query["start"][0]).tzinfo is not None
        assert url.replace("&", "&amp;") in html
    # The citizen's click asks "move to this time?" for exactly that time; the old link is dead.
    citizen = client_for(None)
    first = urlsplit(reschedule[0])
    question = citizen.get(f"{first.path}?{first.query}")
    assert question.status_code == 200
    assert ("start", parse_qs(first.query)["start"][0]) in re.findall(
        r'<input type="hidden" name="(start)" value="([^"]+)"', question.content.decode()
    )
    assert citizen.get(urlsplit(manage[0]).path, {"token": old_token}).status_code == 404
    assert citizen.get(urlsplit(manage[0]).path, {"token": new_token}).status_code == 200


def test_the_schedule_marks_a_booking_that_still_sits_in_a_block(busy_morning):
    desk, fits, _stuck, _token = busy_morning
    desk.frankenthal_clerk.post(reverse("clerk:block", args=["frankenthal"]), block_form(fits.counter))

    page = text(desk.frankenthal_clerk.get(schedule_url(desk.demo.frankenthal, DAY)))

    assert "Blocked: Schulung" in page
    assert "Counter blocked at this time; the citizen was offered other times." in page


def test_an_overlapping_block_on_the_same_counter_is_refused_clearly(desk):
    s1, s2, _s3 = counters(desk.demo)
    url = reverse("clerk:block", args=["frankenthal"])
    assert desk.frankenthal_clerk.post(url, block_form(s1, start_time="09:00", end_time="10:00")).status_code == 200

    response = desk.frankenthal_clerk.post(url, block_form(s1, start_time="09:30", end_time="11:00", reason="Krank"))

    assert response.status_code == 409
    page = text(response)
    assert "overlaps a block that already exists" in page
    assert "Schalter 1" in page and "09:00–10:00" in page and "Schulung" in page
    assert Closure.objects.count() == 1
    # Next to it, or on another counter, is fine.
    assert desk.frankenthal_clerk.post(url, block_form(s1, start_time="10:00", end_time="11:00")).status_code == 200
    assert desk.frankenthal_clerk.post(url, block_form(s2, start_time="09:30", end_time="11:00")).status_code == 200
    # A whole day overlaps every time of that day.
    response = desk.frankenthal_clerk.post(url, block_form(s2, start_time="", end_time=""))
    assert response.status_code == 409
    assert Closure.objects.count() == 3


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"start_time": "10:00", "end_time": "09:00"}, "end_time"),
        ({"start_time": "10:00", "end_time": ""}, "start_time"),
        ({"reason": ""}, "reason"),
        ({"day": "2026-11-30"}, "day"),
        ({"day": "2026-02-30"}, "day"),
        ({"counter": "999999"}, "counter"),
        ({"counter": "office"}, "counter"),  # a clerk is no office lead
    ],
)
def test_a_bad_block_is_refused_with_the_field_marked(desk, overrides, field):
    data = {**block_form(counters(desk.demo)[0]), **overrides}
    response = desk.frankenthal_clerk.post(reverse("clerk:block", args=["frankenthal"]), data)
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not Closure.objects.exists()


def test_a_counter_of_another_office_cannot_be_blocked(desk):
    other = Counter.objects.filter(office=desk.demo.schifferstadt).first()
    response = desk.frankenthal_clerk.post(reverse("clerk:block", args=["frankenthal"]), block_form(other))
    assert response.status_code == 400
    assert not Closure.objects.exists()


def test_an_office_lead_closes_the_whole_office_and_every_booking_is_handled(busy_morning):
    desk, fits, stuck, _token = busy_morning
    lead = get_user_model().objects.get(username="clerk-frankenthal")
    Membership.objects.filter(user=lead).update(role=Membership.Role.OFFICE_LEAD)
    page = desk.frankenthal_clerk.get(reverse("clerk:block", args=["frankenthal"]))
    assert 'value="office"' in page.content.decode()

    response = desk.frankenthal_clerk.post(
        reverse("clerk:block", args=["frankenthal"]),
        block_form("office", start_time="", end_time="", reason="Betriebsausflug"),
    )

    assert response.status_code == 200
    closure = Closure.objects.get()
    assert closure.counter is None and closure.is_whole_day
    fits.refresh_from_db()
    stuck.refresh_from_db()
    assert stuck.relocation_offered_at == NOW  # has an e-mail address: offered
    assert fits.relocation_offered_at is None and fits.status == Status.CONFIRMED  # no address: open
    page = text(response)
    assert "Still open: please contact the citizen" in page and fits.reference in page
    assert Appointment.objects.filter(office=desk.demo.frankenthal, start__date=DAY).count() == 4


def test_a_closure_entered_by_an_administrator_is_handled_from_the_closures_page(busy_morning):
    """Offices knows nothing of appointments, so the admin only stores the closure; an office lead
    (or the administrator) then moves the bookings from the staff area. Running it twice sends no
    second offer."""
    desk, _fits, stuck, _token = busy_morning
    closure = Closure.objects.create(
        office=desk.demo.frankenthal, counter=None, start_date=DAY, end_date=DAY, reason="Stromausfall"
    )
    listing = desk.frankenthal_clerk.get(reverse("clerk:closures", args=["frankenthal"]))
    assert "Stromausfall" in text(listing) and "Office leads only" in text(listing)
    url = reverse("clerk:closure_relocate", args=["frankenthal", closure.pk])
    assert desk.frankenthal_clerk.post(url).status_code == 403  # a clerk, not a lead

    first = desk.admin.post(url)
    second = desk.admin.post(url)

    assert first.status_code == second.status_code == 200
    assert stuck.reference in text(first)
    assert Notification.objects.filter(kind=Notification.Kind.RELOCATION_OFFER).count() == 1
    assert "Still open" in text(second)


def test_relocation_service_outcomes(busy_morning):
    """The function itself: moved / offered / open, and a hold of a citizen still typing released."""
    desk, fits, stuck, _token = busy_morning
    demo = desk.demo
    hold, _hold_token = booking.place_hold(
        office=demo.frankenthal,
        start=berlin(2026, 12, 2, 10, 30),
        services=[demo.ausserbetriebsetzung],
        vehicles=1,
        municipality=demo.frankenthal_citizen_home,
        now=NOW,
    )
    for _ in range(2):  # the other counters at 10:30 are taken too
        walk_in(demo, start=berlin(2026, 12, 2, 10, 30), services=[demo.ausserbetriebsetzung])
    hold.refresh_from_db()
    closure = Closure.objects.create(
        office=demo.frankenthal,
        counter=hold.counter,
        start_date=DAY,
        end_date=DAY,
        start_time=dt.time(8),
        end_time=dt.time(11),
        reason="Technik",
    )
    assert hold.counter == fits.counter

    outcomes = relocate_after_closure(closure=closure, now=NOW, user=None)

    results = {o.appointment.reference: o.result for o in outcomes}
    assert results == {fits.reference: Result.MOVED, stuck.reference: Result.OFFERED, hold.reference: Result.RELEASED}
    hold.refresh_from_db()
    assert hold.status == Status.EXPIRED
    # Running it again: nothing moves twice, and no second offer.
    again = {o.appointment.reference: o.result for o in relocate_after_closure(closure=closure, now=NOW, user=None)}
    assert again == {stuck.reference: Result.OPEN}


def test_appointments_that_already_began_or_lie_outside_the_block_stay_untouched(desk):
    demo = desk.demo
    early = walk_in(demo, start=berlin(2026, 12, 2, 8, 0))
    late = walk_in(demo, start=berlin(2026, 12, 2, 11, 0))
    closure = Closure.objects.create(
        office=demo.frankenthal,
        counter=early.counter,
        start_date=DAY,
        end_date=DAY,
        start_time=dt.time(9),
        end_time=dt.time(10, 30),
        reason="Technik",
    )
    assert relocate_after_closure(closure=closure, now=NOW, user=None) == []
    closure.start_time = dt.time(8)
    closure.save()
    assert relocate_after_closure(closure=closure, now=berlin(2026, 12, 2, 8, 5), user=None) == []
    early.refresh_from_db()
    late.refresh_from_db()
    assert early.counter == late.counter
