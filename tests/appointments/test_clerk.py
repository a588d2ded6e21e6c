"""The clerks' workspace, driven through HTTP: login and scope, the day schedule (with its fragment,
print view and CSV), finding a booking by reference or by the QR code's link, check-in and outcome
with their rules and undo, notes, and walk-in bookings.

Personas: the Frankenthal clerk and the Schifferstadt clerk of the demo data (each a member of
their own office only) and the demo administrator (a superuser). The pages' clock is fixed at
Tuesday, 1 December 2026, 07:30 in Berlin; the Frankenthal office works 08:00–12:00 that day.
Clients ask for English pages, so that the assertions do not depend on the German translation.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from appointments.domain import availability, clerk, retention
from appointments.errors import ErrorCode
from appointments.models import Appointment, AppointmentEvent, Status
from appointments.outbox import notifications
from offices.demo import DEMO_CLERK_PASSWORD
from offices.models import Counter, Membership
from tests.appointments.clerk_personas import DAY, NOW, schedule_url, text, walk_in
from tests.conftest import berlin

pytestmark = pytest.mark.clock_start(NOW)

# --- helpers -----------------------------------------------------------------------------------


def office_urls(office, appointment) -> list[tuple[str, str, dict]]:
    """Every page and action of the workspace that concerns this office or this booking."""
    day = DAY.isoformat()
    closure_id = 999999
    return [
        ("get", reverse("clerk:office", args=[office.slug]), {}),
        ("get", reverse("clerk:schedule", args=[office.slug, day]), {}),
        ("get", reverse("clerk:schedule", args=[office.slug, day]) + "?print=1", {}),
        ("get", reverse("clerk:schedule_fragment", args=[office.slug, day]), {}),
        ("get", reverse("clerk:export_csv", args=[office.slug, day]), {}),
        (
            "post",
            reverse("clerk:walk_in", args=[office.slug, day]),
            {
                "service": "umschreibung",
                "vehicles": "1",
                "municipality": "frankenthal-pfalz",
                "time": "10:00",
                "name": "Intruder",
                "channel": "counter",
            },
        ),
        ("get", reverse("clerk:block", args=[office.slug]), {}),
        (
            "post",
            reverse("clerk:block", args=[office.slug]),
            {
                "counter": str(appointment.counter_id),
                "day": day,
                "start_time": "08:00",
                "end_time": "12:00",
                "reason": "Intruder",
            },
        ),
        ("get", reverse("clerk:closures", args=[office.slug]), {}),
        ("post", reverse("clerk:closure_relocate", args=[office.slug, closure_id]), {}),
        ("get", reverse("clerk:appointment", args=[appointment.reference]), {}),
        ("get", reverse("clerk:checkin", args=[appointment.reference]), {}),
        ("post", reverse("clerk:act", args=[appointment.reference, "checkin"]), {}),
        ("post", reverse("clerk:act", args=[appointment.reference, "complete"]), {}),
        ("post", reverse("clerk:act", args=[appointment.reference, "no-show"]), {}),
        ("post", reverse("clerk:act", args=[appointment.reference, "undo"]), {}),
        ("post", reverse("clerk:note", args=[appointment.reference]), {"note": "Intruder"}),
        ("get", reverse("clerk:search") + f"?reference={appointment.reference}", {}),
    ]


def call(client, method, url, data):
    return client.post(url, data) if method == "post" else client.get(url)


# --- login and scope -----------------------------------------------------------------------------


def test_demo_clerk_logs_in_with_the_login_form_and_lands_on_todays_schedule(desk):
    """The login page is ours (/mitarbeiter/anmelden/), and after it the clerk's office today."""
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = browser.get(reverse("clerk:login"))
    assert page.status_code == 200
    assert 'for="id_username"' in page.content.decode() and 'for="id_password"' in page.content.decode()

    response = browser.post(
        reverse("clerk:login"), {"username": "clerk-frankenthal", "password": DEMO_CLERK_PASSWORD}, follow=True
    )

    assert response.redirect_chain[-1][0] == schedule_url(desk.demo.frankenthal)
    assert response.status_code == 200
    assert "Zulassungsstelle Frankenthal (Pfalz)" in text(response)


def test_a_wrong_password_is_refused_with_a_message(desk):
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        reverse("clerk:login"), {"username": "clerk-frankenthal", "password": "wrong"}
    )
    assert response.status_code == 200
    assert 'id="error-summary"' in response.content.decode()
    assert "_auth_user_id" not in response.client.session


def test_logout_is_a_post_and_ends_the_session(desk):
    client = desk.frankenthal_clerk
    assert client.get(reverse("clerk:logout")).status_code == 405

    response = client.post(reverse("clerk:logout"))

    assert response.status_code == 302 and response["Location"] == reverse("clerk:login")
    assert client.get(schedule_url(desk.demo.frankenthal)).status_code == 302


def test_anonymous_visitors_are_sent_to_the_login_page(desk):
    appointment = walk_in(desk.demo)
    for method, url, data in [*office_urls(desk.demo.frankenthal, appointment), ("get", reverse("clerk:home"), {})]:
        response = call(desk.anonymous, method, url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("clerk:login") + "?next="), url
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED and appointment.note == ""


@pytest.mark.parametrize(
    "intruder, office_slug", [("schifferstadt_clerk", "frankenthal"), ("frankenthal_clerk", "schifferstadt")]
)
def test_a_clerk_gets_no_page_and_no_action_of_the_other_office(desk, intruder, office_slug):
    """Every URL of the other office answers 403 or 404 and changes nothing."""
    office = getattr(desk.demo, office_slug)
    appointment = walk_in(
        desk.demo,
        office=office,
        municipality=desk.demo.lambsheim_citizen_home
        if office_slug == "schifferstadt"
        else desk.demo.frankenthal_citizen_home,
    )
    desk.clock.now = berlin(2026, 12, 1, 9, 30)  # check-in and no-show would be allowed by time
    client = getattr(desk, intruder)
    appointments_before = Appointment.objects.count()

    for method, url, data in office_urls(office, appointment):
        response = call(client, method, url, data)
        assert response.status_code in (403, 404), f"{method} {url}: {response.status_code}"
        assert appointment.reference not in response.content.decode() or response.status_code == 403, url
        assert "Erika" not in response.content.decode(), url

    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED and appointment.note == ""
    assert Appointment.objects.count() == appointments_before
    assert not office.closures.exists()
    assert not AppointmentEvent.objects.exists()


def test_a_clerk_sees_only_their_own_office_in_the_navigation(desk):
    page = text(desk.schifferstadt_clerk.get(schedule_url(desk.demo.schifferstadt)))
    assert "Zulassungsstelle Rhein-Pfalz-Kreis" in page
    assert "Zulassungsstelle Frankenthal (Pfalz)" not in page


def test_the_administrator_sees_both_offices(desk):
    for office in (desk.demo.frankenthal, desk.demo.schifferstadt):
        assert desk.admin.get(schedule_url(office)).status_code == 200
    # The first office by name: "Zulassungsstelle Frankenthal (Pfalz)".
    assert desk.admin.get(reverse("clerk:home"))["Location"] == schedule_url(desk.demo.frankenthal)


def test_home_leads_to_the_clerks_own_office_today(desk):
    response = desk.schifferstadt_clerk.get(reverse("clerk:home"))
    assert response.status_code == 302 and response["Location"] == schedule_url(desk.demo.schifferstadt)


def test_staff_without_an_office_are_told_so(desk):
    user = get_user_model().objects.create_user("new-colleague", password="x", is_staff=True)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)

    response = client.get(reverse("clerk:home"))

    assert response.status_code == 403
    assert "not assigned to an office" in text(response)
    assert client.get(schedule_url(desk.demo.frankenthal)).status_code == 403


def test_offices_for_is_the_one_scope_rule(desk):
    User = get_user_model()
    assert list(clerk.offices_for(User.objects.get(username="clerk-frankenthal"))) == [desk.demo.frankenthal]
    assert set(clerk.offices_for(User.objects.get(username="admin"))) == {
        desk.demo.frankenthal,
        desk.demo.schifferstadt,
    }
    inactive = User.objects.get(username="clerk-schifferstadt")
    inactive.is_active = False
    assert not clerk.offices_for(inactive).exists()


# --- the day schedule ----------------------------------------------------------------------------


def test_schedule_shows_every_counter_with_bookings_gaps_and_details(desk):
    demo = desk.demo
    first = walk_in(demo, start=berlin(2026, 12, 1, 9, 0), name="Erika Mustermann", vehicles=2, channel="phone")
    clerk.set_note(
        appointment=first, user=get_user_model().objects.get(username="admin"), note="Bringt Vollmacht mit", now=NOW
    )

    response = desk.frankenthal_clerk.get(schedule_url(demo.frankenthal))

    assert response.status_code == 200
    page = text(response)
    html = response.content.decode()
    for counter in ("Schalter 1", "Schalter 2", "Schalter 3"):
        assert counter in page
    assert "09:00–09:30" in page  # Umschreibung for two vehicles: 15 + 15 minutes, Berlin time
    assert first.reference in page and "Erika Mustermann" in page
    assert "Change of keeper" in page and "2 vehicles" in page and "by phone" in page
    assert "Bringt Vollmacht mit" in page
    assert "confirmed" in page
    assert "08:00–09:00 Free (60 min)" in page  # the gap before it on its counter
    assert "09:30–12:00 Free (150 min)" in page
    assert html.count('<ol class="entries"') == 3  # one list of bookings, gaps and blocks per counter
    # previous / next day, the refresh link, the print view and the CSV
    assert schedule_url(demo.frankenthal, dt.date(2026, 11, 30)) in html
    assert schedule_url(demo.frankenthal, dt.date(2026, 12, 2)) in html
    assert f'href="{schedule_url(demo.frankenthal)}"' in html
    assert "?print=1" in html and "export.csv" in html


def test_schedule_refreshes_itself_with_our_own_script_and_works_without_it(desk):
    response = desk.frankenthal_clerk.get(schedule_url(desk.demo.frankenthal))
    html = response.content.decode()

    fragment_url = reverse("clerk:schedule_fragment", args=["frankenthal", DAY.isoformat()])
    assert f'data-refresh-url="{fragment_url}"' in html
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all(' src="/static/' in tag and " defer" in tag for tag in scripts)
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html), "no inline script"
    assert " style=" not in html, "no inline styles"
    assert not re.search(r'(src|href)="(https?:)?//', html), "nothing from another host"

    walk_in(desk.demo, start=berlin(2026, 12, 1, 10, 0), name="Max Neu")
    fragment = desk.frankenthal_clerk.get(fragment_url)
    assert fragment.status_code == 200 and fragment["X-Clerk-Fragment"] == "1"
    assert "Max Neu" in text(fragment) and "<html" not in fragment.content.decode()


def test_schedule_shows_a_blank_name_once_personal_data_is_erased(desk):
    """The name and the clerks' note (which may name people) go with the retention period."""
    appointment = walk_in(desk.demo, start=berlin(2026, 12, 1, 9, 0), name="Erika Mustermann")
    clerk.set_note(
        appointment=appointment,
        user=get_user_model().objects.get(username="admin"),
        note="Vollmacht von Hans Mustermann",
        now=NOW,
    )
    retention.erase_personal_data(now=NOW + dt.timedelta(days=30))

    page = text(desk.frankenthal_clerk.get(schedule_url(desk.demo.frankenthal)))

    assert appointment.reference in page
    assert "Erika" not in page and "(name erased)" in page
    assert "Mustermann" not in page
    appointment.refresh_from_db()
    assert appointment.note == ""


@pytest.mark.parametrize("bad", ["2026-02-30", "2026-13-01", "0000-00-00", "9999-99-99"])
def test_a_bad_date_in_the_url_is_a_404_page_not_a_500(desk, bad):
    for name in ("clerk:schedule", "clerk:schedule_fragment", "clerk:export_csv"):
        assert desk.frankenthal_clerk.get(reverse(name, args=["frankenthal", bad])).status_code == 404
    assert desk.frankenthal_clerk.get("/mitarbeiter/frankenthal/01.12.2026/").status_code == 404
    assert desk.frankenthal_clerk.get("/mitarbeiter/no-such-office/2026-12-01/").status_code == 404


def test_print_view_lists_the_day_without_forms_or_navigation(desk):
    appointment = walk_in(desk.demo)
    response = desk.frankenthal_clerk.get(schedule_url(desk.demo.frankenthal) + "?print=1")

    html = response.content.decode()
    assert response.status_code == 200
    assert appointment.reference in html and "Erika Mustermann" in html
    assert "<form" not in html
    assert "css/clerk.css" in html


def test_csv_export_for_german_excel(desk):
    """UTF-8 with BOM, semicolons, one row per booking in time order; formulas are defused."""
    demo = desk.demo
    later = walk_in(
        demo,
        start=berlin(2026, 12, 1, 10, 0),
        name="Eve Formula",
        municipality=demo.lambsheim_citizen_home,
        channel="phone",
    )
    # The name rule refuses such a name today; one stored before it (or typed into the admin) is
    # still defused in the export.
    Appointment.objects.filter(pk=later.pk).update(name='=HYPERLINK("http://evil")')
    first = walk_in(
        demo,
        start=berlin(2026, 12, 1, 8, 0),
        name="Jürgen Weiß",
        services=[demo.umschreibung, demo.ausserbetriebsetzung],
    )
    walk_in(demo, office=demo.schifferstadt, start=berlin(2026, 12, 1, 8, 0), name="Other Office")

    response = desk.frankenthal_clerk.get(reverse("clerk:export_csv", args=["frankenthal", DAY.isoformat()]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="termine-frankenthal-2026-12-01.csv"' in response["Content-Disposition"]
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "Time",
        "End",
        "Counter",
        "Reference",
        "Services",
        "Vehicles",
        "Name",
        "Status",
        "Channel",
        "Home administration",
    ]
    assert rows[1] == [
        "08:00",
        "08:20",
        first.counter.name,
        first.reference,
        "Change of keeper, Deregistration",
        "1",
        "Jürgen Weiß",
        "confirmed",
        "at the counter",
        "Stadtverwaltung Frankenthal (Pfalz)",
    ]
    assert rows[2][:4] == ["10:00", "10:15", later.counter.name, later.reference]
    assert rows[2][6] == '\'=HYPERLINK("http://evil")'
    assert rows[2][8:] == ["by phone", "Kreisverwaltung Rhein-Pfalz-Kreis"]
    assert len(rows) == 3  # nothing of Schifferstadt


# --- finding a booking, check-in and outcome ------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "{ref}",
        "{lower}",
        "  {lower}  ",
        "{nodash}",
        "{spaced}",
        # what a hand scanner types when it reads the QR code
        "https://kfz-zulassung-vorderpfalz.example/mitarbeiter/checkin/{ref}/",
    ],
)
def test_find_a_booking_by_reference_in_any_case(desk, typed):
    appointment = walk_in(desk.demo)
    ref = appointment.reference
    query = typed.format(
        ref=ref, lower=ref.lower(), nodash=ref.replace("-", "").lower(), spaced=ref.replace("-", " - ").lower()
    )

    response = desk.frankenthal_clerk.get(reverse("clerk:search"), {"reference": query})

    assert response.status_code == 302
    assert response["Location"] == reverse("clerk:appointment", args=[ref])


@pytest.mark.parametrize("typed", ["FT-ZZZZZZ", "nonsense", "' OR 1=1 --", "FT-\x00ABCDE", "x" * 300])
def test_an_unknown_reference_is_a_404_with_a_message(desk, typed):
    """Garbage that is no text at all (a NUL byte) or far too long is a form error (400) instead."""
    walk_in(desk.demo)
    response = desk.frankenthal_clerk.get(reverse("clerk:search"), {"reference": typed})
    if "\x00" in typed or len(typed) > 200:
        assert response.status_code == 400
        assert 'id="id_reference_error"' in response.content.decode()
    else:
        assert response.status_code == 404
        assert "There is no booking with the reference" in text(response)
    assert desk.frankenthal_clerk.get(reverse("clerk:appointment", args=["FT-ZZZZZZ"])).status_code == 404
    assert desk.frankenthal_clerk.get(reverse("clerk:checkin", args=["FT-ZZZZZZ"])).status_code == 404


def test_a_booking_of_the_other_office_is_refused_and_names_that_office(desk):
    """The citizen came to the wrong office: the clerk learns where to send them, nothing more."""
    appointment = walk_in(desk.demo, office=desk.demo.schifferstadt, name="Erika Mustermann")

    response = desk.frankenthal_clerk.get(reverse("clerk:search"), {"reference": appointment.reference})

    assert response.status_code == 403
    assert "Zulassungsstelle Rhein-Pfalz-Kreis" in text(response)
    assert "Erika" not in text(response)


def test_check_in_by_reference_then_complete(desk):
    appointment = walk_in(desk.demo, start=berlin(2026, 12, 1, 9, 0))
    client = desk.frankenthal_clerk
    page = client.get(reverse("clerk:appointment", args=[appointment.reference]))
    assert reverse("clerk:act", args=[appointment.reference, "checkin"]) in page.content.decode()

    response = client.post(reverse("clerk:act", args=[appointment.reference, "checkin"]), follow=True)

    appointment.refresh_from_db()
    assert appointment.status == Status.CHECKED_IN
    assert "Checked in." in text(response)
    client.post(reverse("clerk:act", args=[appointment.reference, "complete"]))
    appointment.refresh_from_db()
    assert appointment.status == Status.COMPLETED
    events = list(appointment.events.order_by("at", "id"))
    assert [(e.from_status, e.to_status) for e in events] == [
        (Status.CONFIRMED, Status.CHECKED_IN),
        (Status.CHECKED_IN, Status.COMPLETED),
    ]
    assert all(e.user.username == "clerk-frankenthal" and e.at == NOW for e in events)
    history = text(client.get(reverse("clerk:appointment", args=[appointment.reference])))
    assert "Demo Sachbearbeitung Frankenthal" in history and "checked in → completed" in history


def test_check_in_from_the_schedule_returns_to_the_schedule(desk):
    appointment = walk_in(desk.demo)
    url = schedule_url(desk.demo.frankenthal)
    assert (
        reverse("clerk:act", args=[appointment.reference, "checkin"])
        in desk.frankenthal_clerk.get(url).content.decode()
    )

    response = desk.frankenthal_clerk.post(reverse("clerk:act", args=[appointment.reference, "checkin"]), {"next": url})

    assert response["Location"] == url
    response = desk.frankenthal_clerk.post(
        reverse("clerk:act", args=[appointment.reference, "complete"]), {"next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("clerk:appointment", args=[appointment.reference])


def test_a_second_check_in_changes_nothing(desk):
    appointment = walk_in(desk.demo)
    url = reverse("clerk:act", args=[appointment.reference, "checkin"])
    desk.frankenthal_clerk.post(url)
    desk.clock.now = NOW + dt.timedelta(minutes=5)

    response = desk.frankenthal_clerk.post(url, follow=True)

    assert response.status_code == 200
    assert "Nothing changed" in text(response)
    appointment.refresh_from_db()
    assert appointment.status == Status.CHECKED_IN
    assert appointment.events.count() == 1


def test_check_in_only_on_the_day_of_the_appointment(desk):
    appointment = walk_in(desk.demo, start=berlin(2026, 12, 2, 9, 0))

    response = desk.frankenthal_clerk.post(reverse("clerk:act", args=[appointment.reference, "checkin"]))

    assert response.status_code == 409
    assert "not today" in text(response)
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED


def test_a_no_show_before_its_time_is_refused_with_a_message(desk, settings):
    """Only NO_SHOW_GRACE_MINUTES after the start; the control afterwards shows that it is the time."""
    settings.NO_SHOW_GRACE_MINUTES = 15
    appointment = walk_in(desk.demo, start=berlin(2026, 12, 1, 9, 0))
    url = reverse("clerk:act", args=[appointment.reference, "no-show"])
    desk.clock.now = berlin(2026, 12, 1, 9, 14)

    response = desk.frankenthal_clerk.post(url)

    assert response.status_code == 409
    assert "from 09:15" in text(response)
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED

    desk.clock.now = berlin(2026, 12, 1, 9, 15)
    desk.frankenthal_clerk.post(url)
    appointment.refresh_from_db()
    assert appointment.status == Status.NO_SHOW


def test_complete_needs_a_check_in_first(desk):
    appointment = walk_in(desk.demo)
    response = desk.frankenthal_clerk.post(reverse("clerk:act", args=[appointment.reference, "complete"]))
    assert response.status_code == 409
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED


def test_undo_steps_back_on_the_same_day_only(desk):
    demo = desk.demo
    appointment = walk_in(demo)
    act = lambda action: desk.frankenthal_clerk.post(reverse("clerk:act", args=[appointment.reference, action]))  # noqa: E731
    act("checkin")
    act("complete")
    page = desk.frankenthal_clerk.get(reverse("clerk:appointment", args=[appointment.reference]))
    assert reverse("clerk:act", args=[appointment.reference, "undo"]) in page.content.decode()

    act("undo")
    appointment.refresh_from_db()
    assert appointment.status == Status.CHECKED_IN
    act("undo")
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED
    response = act("undo")
    assert response.status_code == 409  # nothing left to undo
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED

    act("checkin")
    desk.clock.now = berlin(2026, 12, 2, 8, 0)
    response = act("undo")
    assert response.status_code == 409
    assert "on the day it was made" in text(response)
    appointment.refresh_from_db()
    assert appointment.status == Status.CHECKED_IN
    undo = appointment.events.filter(reverts__isnull=False).first()
    assert undo.user.username == "clerk-frankenthal"


def test_undo_of_a_no_show_brings_the_appointment_back(desk):
    appointment = walk_in(desk.demo, start=berlin(2026, 12, 1, 8, 0))
    desk.clock.now = berlin(2026, 12, 1, 8, 20)
    desk.frankenthal_clerk.post(reverse("clerk:act", args=[appointment.reference, "no-show"]))
    desk.frankenthal_clerk.post(reverse("clerk:act", args=[appointment.reference, "undo"]))
    desk.frankenthal_clerk.post(reverse("clerk:act", args=[appointment.reference, "checkin"]))
    appointment.refresh_from_db()
    assert appointment.status == Status.CHECKED_IN


def test_an_unknown_action_is_a_404(desk):
    appointment = walk_in(desk.demo)
    assert desk.frankenthal_clerk.post(reverse("clerk:act", args=[appointment.reference, "delete"])).status_code == 404
    assert desk.frankenthal_clerk.get(reverse("clerk:act", args=[appointment.reference, "checkin"])).status_code == 405


def test_the_service_functions_raise_codes(desk):
    """The same rules without HTTP: codes the API or another front end can rely on."""
    User = get_user_model()
    ft_clerk, rp_clerk = (
        User.objects.get(username="clerk-frankenthal"),
        User.objects.get(username="clerk-schifferstadt"),
    )
    appointment = walk_in(desk.demo, start=berlin(2026, 12, 1, 9, 0))
    for function, code in (
        (clerk.check_in, ErrorCode.FORBIDDEN),
        (clerk.mark_no_show, ErrorCode.FORBIDDEN),
        (clerk.undo_last, ErrorCode.FORBIDDEN),
    ):
        with pytest.raises(clerk.ClerkError) as error:
            function(appointment=appointment, user=rp_clerk, now=NOW)
        assert error.value.code == code
    with pytest.raises(clerk.ClerkError) as error:
        clerk.mark_no_show(appointment=appointment, user=ft_clerk, now=NOW)
    assert error.value.code == ErrorCode.TOO_EARLY
    with pytest.raises(clerk.ClerkError) as error:
        clerk.undo_last(appointment=appointment, user=ft_clerk, now=NOW)
    assert error.value.code == ErrorCode.NOTHING_TO_UNDO
    with pytest.raises(clerk.ClerkError) as error:
        clerk.find_by_reference(reference="FT-AAAAAA", user=ft_clerk)
    assert error.value.code == ErrorCode.NOT_FOUND
    with pytest.raises(clerk.ClerkError) as error:
        clerk.find_by_reference(reference=appointment.reference, user=rp_clerk)
    assert error.value.code == ErrorCode.FORBIDDEN
    checked = clerk.check_in(appointment=appointment, user=ft_clerk, now=NOW)
    assert checked.status == Status.CHECKED_IN
    with pytest.raises(clerk.ClerkError) as error:
        clerk.mark_no_show(appointment=appointment, user=ft_clerk, now=NOW + dt.timedelta(hours=3))
    assert error.value.code == ErrorCode.INVALID_STATE


def test_the_note_is_kept_and_its_change_recorded(desk):
    appointment = walk_in(desk.demo)
    url = reverse("clerk:note", args=[appointment.reference])

    desk.frankenthal_clerk.post(url, {"note": "  Bringt Vollmacht mit  "})
    desk.frankenthal_clerk.post(url, {"note": "Bringt Vollmacht mit"})  # unchanged: no second entry

    appointment.refresh_from_db()
    assert appointment.note == "Bringt Vollmacht mit"
    [event] = appointment.events.all()
    assert event.from_status == event.to_status == Status.CONFIRMED and event.user.username == "clerk-frankenthal"
    response = desk.frankenthal_clerk.post(url, {"note": "x" * 2001})
    assert response.status_code == 400
    appointment.refresh_from_db()
    assert appointment.note == "Bringt Vollmacht mit"


# --- walk-ins and phone bookings -------------------------------------------------------------------


def walk_in_form(**overrides) -> dict:
    return {
        "service": ["umschreibung"],
        "vehicles": "1",
        "municipality": "frankenthal-pfalz",
        "time": "09:00",
        "name": "Max Mustermann",
        "email": "",
        "phone": "06233 1234",
        "channel": "counter",
        "language": "de",
        **overrides,
    }


def test_walk_in_form_suggests_the_next_free_time(desk):
    desk.clock.now = berlin(2026, 12, 1, 8, 7)
    for _ in range(3):  # all three counters busy until 08:25
        walk_in(desk.demo, start=berlin(2026, 12, 1, 8, 10), now=desk.clock.now)

    html = desk.frankenthal_clerk.get(schedule_url(desk.demo.frankenthal)).content.decode()

    assert re.search(r'name="time" id="id_time"[^>]* value="08:25"', html)
    assert 'for="id_name"' in html and 'for="id_municipality"' in html and 'for="id_service_0"' in html


def test_walk_in_is_booked_confirmed_from_the_schedule(desk):
    url = reverse("clerk:walk_in", args=["frankenthal", DAY.isoformat()])

    response = desk.frankenthal_clerk.post(url, walk_in_form(channel="phone", email="max@example.org"))

    appointment = Appointment.objects.get(name="Max Mustermann")
    assert response.status_code == 302
    assert response["Location"] == reverse("clerk:appointment", args=[appointment.reference])
    assert appointment.status == Status.CONFIRMED and appointment.channel == "phone"
    assert appointment.start == berlin(2026, 12, 1, 9, 0)
    assert appointment.office == desk.demo.frankenthal
    assert appointment.notifications.filter(kind="confirmation").exists()
    [event] = appointment.events.all()
    assert event.from_status == "" and event.to_status == Status.CONFIRMED
    assert event.user.username == "clerk-frankenthal"


def test_walk_in_cannot_take_time_already_booked(desk):
    for _ in range(3):
        walk_in(desk.demo, start=berlin(2026, 12, 1, 9, 0))
    url = reverse("clerk:walk_in", args=["frankenthal", DAY.isoformat()])

    response = desk.frankenthal_clerk.post(url, walk_in_form())

    assert response.status_code == 409
    assert "just been taken" in text(response)
    assert not Appointment.objects.filter(name="Max Mustermann").exists()
    assert Appointment.objects.filter(start=berlin(2026, 12, 1, 9, 0)).count() == 3


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"service": []}, "service"),
        ({"time": "25:00"}, "time"),
        ({"time": "09:03"}, "time"),  # off the 5-minute grid
        ({"time": "13:00"}, "time"),  # the office is closed
        ({"name": ""}, "name"),
        ({"email": "not-an-address"}, "email"),
        ({"municipality": "ludwigshafen"}, "municipality"),
        ({"channel": "online"}, "channel"),
        ({"vehicles": "0"}, "vehicles"),
    ],
)
def test_walk_in_with_bad_input_shows_the_form_again(desk, overrides, field):
    url = reverse("clerk:walk_in", args=["frankenthal", DAY.isoformat()])

    response = desk.frankenthal_clerk.post(url, walk_in_form(**overrides))

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="error-summary"' in html
    assert f'id="id_{field}_error"' in html
    assert not Appointment.objects.exists()


def test_walk_in_in_the_past_is_refused(desk):
    desk.clock.now = berlin(2026, 12, 1, 10, 0)
    response = desk.frankenthal_clerk.post(
        reverse("clerk:walk_in", args=["frankenthal", DAY.isoformat()]), walk_in_form(time="09:00")
    )
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_internal_contingent_is_not_offered_online_but_the_walk_in_form_books_it(desk):
    demo = desk.demo
    contingent = Counter.objects.get(office=demo.frankenthal, name="Schalter 3")
    contingent.bookable_online = False
    contingent.save()
    start = berlin(2026, 12, 2, 9, 0)
    for _ in range(2):  # Schalter 1 and 2
        walk_in(demo, start=start)
    request = availability.SlotRequest(
        services=(demo.umschreibung,),
        vehicles=1,
        municipality=demo.frankenthal_citizen_home,
        date_from=start.date(),
        date_to=start.date(),
        offices=(demo.frankenthal,),
    )
    assert start not in [s.start for s in availability.find_slots(request=request, now=NOW)]
    page = desk.frankenthal_clerk.get(schedule_url(demo.frankenthal, start.date()))
    assert "internal contingent" in text(page)

    response = desk.frankenthal_clerk.post(
        reverse("clerk:walk_in", args=["frankenthal", "2026-12-02"]), walk_in_form(time="09:00")
    )

    assert response.status_code == 302
    assert Appointment.objects.get(name="Max Mustermann").counter == contingent


def test_an_office_lead_membership_is_one_per_user_and_office(desk):
    from django.db import IntegrityError, transaction

    user = get_user_model().objects.get(username="clerk-frankenthal")
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, office=desk.demo.frankenthal, role=Membership.Role.OFFICE_LEAD)


# --- the QR code of the confirmation e-mail --------------------------------------------------------


def png_modules(png: bytes, *, scale: int, border: int) -> list[list[int]]:
    """The dark (1) and light (0) modules of a 1-bit greyscale PNG QR code, read at each module's centre."""
    import struct
    import zlib

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    pos, chunks = 8, {}
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        chunks[kind] = chunks.get(kind, b"") + png[pos + 8 : pos + 8 + length]
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (1, 0)
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = (width + 7) // 8
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left, up = (line[x - 1] if x else 0), previous[x]
            upleft = previous[x - 1] if x else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - upleft
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upleft)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else upleft)) & 0xFF
        rows.append(line)
        previous = line
    size = width // scale - 2 * border
    pixel = lambda x, y: (rows[y][x // 8] >> (7 - x % 8)) & 1  # noqa: E731 - 1 is white
    return [
        [1 - pixel((border + c) * scale + scale // 2, (border + r) * scale + scale // 2) for c in range(size)]
        for r in range(size)
    ]


def test_confirmation_e_mail_carries_the_check_in_qr_code_inline(desk, settings):
    """The QR code is a cid: image beside the HTML (not an attachment, not a data: URI); it encodes
    the check-in link and nothing personal; the text version mentions it."""
    import segno
    from django.core import mail

    settings.PORTAL_BASE_URL = "https://termine.example"
    appointment = walk_in(desk.demo, email="erika@example.org", start=berlin(2026, 12, 1, 9, 0), language="en")
    notifications.send_due(now=NOW)

    [message] = mail.outbox
    assert [name for name, _content, _type in message.attachments] == ["termin.ics"]
    html = message.alternatives[0][0]
    cid = f"checkin-{appointment.reference}@termine.example"
    assert f'src="cid:{cid}"' in html and "data:image" not in html
    assert f"QR code for checking in with booking reference {appointment.reference}" in html
    assert "QR code" in message.body and appointment.reference in message.body
    mime = message.message()
    [related] = [part for part in mime.walk() if part.get_content_type() == "multipart/related"]
    html_part, image = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    assert image["Content-ID"] == f"<{cid}>"
    assert image.get_content_disposition() == "inline"

    expected_url = "https://termine.example" + reverse("clerk:checkin", args=[appointment.reference])
    expected = [[1 if dark else 0 for dark in row] for row in segno.make(expected_url, error="m").matrix]
    assert (
        png_modules(image.get_payload(decode=True), scale=notifications.QR_SCALE, border=notifications.QR_BORDER)
        == expected
    )


def test_the_qr_link_opens_the_booking_with_its_check_in_button(desk, settings):
    """Scanned with a phone by a clerk of the office: the booking, one button, checked in."""
    settings.PORTAL_BASE_URL = "https://termine.example"
    appointment = walk_in(desk.demo, email="erika@example.org")
    path = notifications.checkin_url(appointment).removeprefix("https://termine.example")
    assert path == f"/mitarbeiter/checkin/{appointment.reference}/"

    response = desk.frankenthal_clerk.get(path, follow=True)

    assert response.status_code == 200
    form = reverse("clerk:act", args=[appointment.reference, "checkin"])
    assert f'action="{form}"' in response.content.decode()
    desk.frankenthal_clerk.post(form)
    appointment.refresh_from_db()
    assert appointment.status == Status.CHECKED_IN
    # The other office's clerk, and someone not logged in, get nothing from the same code.
    assert desk.schifferstadt_clerk.get(path).status_code == 403
    anonymous = desk.anonymous.get(path)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("clerk:login"))


# --- the whole day -------------------------------------------------------------------------------


def test_the_frankenthal_demo_clerks_day(desk):
    """With the demo data, the Frankenthal demo clerk logs in with the login form, sees today's
    schedule, checks a citizen in who booked online, completes the case, books a walk-in, blocks a
    counter, and cannot open the Schifferstadt schedule."""
    from appointments.domain import booking
    from appointments.models import Notification

    demo = desk.demo
    yesterday = NOW - dt.timedelta(days=1)
    citizen = booking.book(
        office=demo.frankenthal,
        start=berlin(2026, 12, 1, 9, 0),
        services=[demo.umschreibung],
        vehicles=1,
        municipality=demo.lambsheim_citizen_home,
        name="Erika Mustermann",
        email="erika@example.org",
        privacy_consent=True,
        now=yesterday,
    )
    opt_in = Notification.objects.get(appointment=citizen, kind=Notification.Kind.OPT_IN)
    booking.confirm_booking(appointment=citizen, token=opt_in.payload["token"], now=yesterday + dt.timedelta(minutes=5))
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")

    schedule = browser.post(
        reverse("clerk:login"), {"username": "clerk-frankenthal", "password": DEMO_CLERK_PASSWORD}, follow=True
    )
    assert schedule.redirect_chain[-1][0] == schedule_url(demo.frankenthal, DAY)
    assert citizen.reference in text(schedule) and "Erika Mustermann" in text(schedule)

    found = browser.get(reverse("clerk:search"), {"reference": citizen.reference.lower()}, follow=True)
    assert found.status_code == 200 and "Check in" in text(found)
    desk.clock.now = berlin(2026, 12, 1, 8, 55)
    browser.post(reverse("clerk:act", args=[citizen.reference, "checkin"]))
    desk.clock.now = berlin(2026, 12, 1, 9, 20)
    browser.post(reverse("clerk:act", args=[citizen.reference, "complete"]))
    citizen.refresh_from_db()
    assert citizen.status == Status.COMPLETED

    booked = browser.post(
        reverse("clerk:walk_in", args=["frankenthal", DAY.isoformat()]),
        {
            "service": ["ausserbetriebsetzung"],
            "vehicles": "1",
            "municipality": "frankenthal-pfalz",
            "time": "09:30",
            "name": "Walk-in Kunde",
            "channel": "counter",
        },
        follow=True,
    )
    walk_in_booking = Appointment.objects.get(name="Walk-in Kunde")
    assert walk_in_booking.status == Status.CONFIRMED and walk_in_booking.reference in text(booked)

    counter = Counter.objects.get(office=demo.frankenthal, name="Schalter 2")
    blocked = browser.post(
        reverse("clerk:block", args=["frankenthal"]),
        {
            "counter": str(counter.pk),
            "day": DAY.isoformat(),
            "start_time": "10:00",
            "end_time": "11:00",
            "reason": "Schulung",
        },
    )
    assert blocked.status_code == 200 and counter.closures.filter(reason="Schulung").exists()
    assert "Blocked: Schulung" in text(browser.get(schedule_url(demo.frankenthal, DAY)))

    assert browser.get(schedule_url(demo.schifferstadt, DAY)).status_code == 403


def test_the_admin_shows_the_note_and_who_changed_what(desk):
    appointment = walk_in(desk.demo)
    desk.frankenthal_clerk.post(reverse("clerk:note", args=[appointment.reference]), {"note": "Bringt Vollmacht mit"})
    desk.frankenthal_clerk.post(reverse("clerk:act", args=[appointment.reference, "checkin"]))

    page = text(desk.admin.get(reverse("admin:appointments_appointment_change", args=[appointment.pk])))

    assert "Bringt Vollmacht mit" in page
    assert "clerk-frankenthal" in page and "checked in" in page
