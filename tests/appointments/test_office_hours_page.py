"""The office-hours page of the staff area (/mitarbeiter/<office>/oeffnungszeiten/): office leads
and administrators change the weekly hours, see the capacity and the bookings outside the new hours
before saving, close the office on 24.12., 31.12. and Fastnachtsdienstag with one click; citizens
see the saved hours at once. And the admin under its own name, without the technical sections.

The clock stands at Tuesday, 1 December 2026, 07:30. Frankenthal: 3 counters, Mon–Fri 08:00–12:00,
Thursday also 14:00–18:00. Personas: Lena, office lead at Frankenthal; Max, administrator of the
Stadt Frankenthal (AdministrationManager); the demo clerks of both offices.
"""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from appointments.domain.availability import SlotRequest, find_slots
from appointments.models import Appointment, Status
from ikz_portal.clock import BERLIN
from offices.models import AdministrationManager, Closure, Membership, OpeningHours, Weekday
from tests.appointments.clerk_personas import NOW, client_for, text, walk_in
from tests.conftest import berlin

pytestmark = pytest.mark.clock_start(NOW)

THURSDAY = dt.date(2026, 12, 3)


def staff(username: str, *, office=None, role=Membership.Role.CLERK, administration=None) -> Client:
    user = get_user_model().objects.create_user(username, f"{username}@example.org", "not-used", is_staff=True)
    if office is not None:
        Membership.objects.create(user=user, office=office, role=role)
    if administration is not None:
        AdministrationManager.objects.create(user=user, administration=administration)
    return client_for(username)


@pytest.fixture
def lena(desk):
    return staff("lena-lead", office=desk.demo.frankenthal, role=Membership.Role.OFFICE_LEAD)


def hours_url(office) -> str:
    return reverse("clerk:hours", args=[office.slug])


def week_data(office, **spans) -> dict:
    """The week grid as the page shows it for the saved hours; `thursday=[("08:00", "12:00"), …]`
    replaces a weekday's spans."""
    data: dict[str, str] = {}
    by_day: dict[int, list[tuple[str, str]]] = {}
    for row in OpeningHours.objects.filter(office=office, counter=None).order_by("weekday", "opens"):
        by_day.setdefault(row.weekday, []).append((f"{row.opens:%H:%M}", f"{row.closes:%H:%M}"))
    for name, value in spans.items():
        by_day[getattr(Weekday, name.upper()).value] = value
    for day in range(7):
        listed = by_day.get(day, [])
        for number in range(3):
            opens, closes = listed[number] if number < len(listed) else ("", "")
            data[f"day{day}_{number}_opens"], data[f"day{day}_{number}_closes"] = opens, closes
    return data


def capacity_row(response, day: dt.date) -> str:
    html = response.content.decode()
    for row in re.findall(r"<tr\b.*?</tr>", html, flags=re.S):
        cells = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
        if f"{day:%d/%m/%Y}" in cells:
            return cells
    raise AssertionError(f"no row for {day}")


def frankenthal_starts(demo, day: dt.date) -> list[str]:
    request = SlotRequest(
        services=(demo.umschreibung,),
        vehicles=1,
        municipality=demo.frankenthal_citizen_home,
        date_from=day,
        date_to=day,
        offices=(demo.frankenthal,),
    )
    return [f"{slot.start.astimezone(BERLIN):%H:%M}" for slot in find_slots(request=request, now=NOW)]


def saved_hours(office) -> list[tuple]:
    return list(OpeningHours.objects.filter(office=office).values_list("counter_id", "weekday", "opens", "closes"))


# --- the week ------------------------------------------------------------------------------------


def test_the_office_lead_changes_thursday_sees_the_preview_saves_and_citizens_find_the_new_times(desk, lena):
    demo = desk.demo
    assert "18:30" not in frankenthal_starts(demo, THURSDAY)
    page = lena.get(hours_url(demo.frankenthal))
    assert page.status_code == 200
    assert 'value="14:00"' in page.content.decode() and 'value="14:00:00"' not in page.content.decode()
    assert capacity_row(page, THURSDAY).startswith("Thu 03/12/2026 3 24:00")

    new_thursday = week_data(demo.frankenthal, thursday=[("08:00", "12:00"), ("14:00", "19:00")])
    preview = lena.post(hours_url(demo.frankenthal), {**new_thursday, "preview": "1"})
    assert preview.status_code == 200
    assert "not saved yet" in text(preview)
    assert capacity_row(preview, THURSDAY).startswith("Thu 03/12/2026 3 27:00"), "3 counters × 9 hours"
    assert 'value="19:00"' in preview.content.decode(), "the page keeps what was typed"
    assert "18:30" not in frankenthal_starts(demo, THURSDAY), "a preview saves nothing"

    saved = lena.post(hours_url(demo.frankenthal), {**new_thursday, "save": "1"}, follow=True)
    assert saved.status_code == 200
    assert "The office hours are saved" in text(saved)
    assert capacity_row(saved, THURSDAY).startswith("Thu 03/12/2026 3 27:00")
    assert "18:30" in frankenthal_starts(demo, THURSDAY)
    api = desk.anonymous.get(
        "/api/v1/slots",
        {
            "service": "umschreibung",
            "municipality": "frankenthal-pfalz",
            "office": "frankenthal",
            "date_from": "2026-12-03",
            "date_to": "2026-12-03",
        },
    )
    assert api.status_code == 200, api.content
    assert "2026-12-03T18:30:00+01:00" in {slot["start"] for slot in api.json()["slots"]}


def test_closing_before_opening_is_refused_in_plain_words_and_nothing_changes(desk, lena):
    before = saved_hours(desk.demo.frankenthal)
    data = week_data(desk.demo.frankenthal, thursday=[("12:00", "08:00")])
    response = lena.post(hours_url(desk.demo.frankenthal), {**data, "save": "1"})
    assert response.status_code == 400
    assert "Thursday, span 1: the closing time (08:00) must be later than the opening time (12:00)." in text(response)
    assert saved_hours(desk.demo.frankenthal) == before


def test_overlapping_spans_are_refused_in_plain_words_and_nothing_changes(desk, lena):
    before = saved_hours(desk.demo.frankenthal)
    data = week_data(desk.demo.frankenthal, thursday=[("08:00", "12:00"), ("11:00", "15:00")])
    response = lena.post(hours_url(desk.demo.frankenthal), {**data, "save": "1"})
    assert response.status_code == 400
    assert "On Thursday the hours 08:00–12:00 and 11:00–15:00 overlap." in text(response)
    assert saved_hours(desk.demo.frankenthal) == before


def test_a_half_filled_span_and_a_time_with_letters_are_explained(desk, lena):
    data = week_data(desk.demo.frankenthal, monday=[("08:00", "")], tuesday=[("acht", "12:00")])
    response = lena.post(hours_url(desk.demo.frankenthal), {**data, "preview": "1"})
    assert response.status_code == 400
    page = text(response)
    assert "Monday, span 1: enter both the opening and the closing time" in page
    assert "Enter the time as hours and minutes, for example 08:00 or 14:30." in page


def test_a_counter_gets_hours_of_its_own(desk, lena):
    office = desk.demo.frankenthal
    counter = office.counters.order_by("name").first()
    data = week_data(office)
    data.update({"row0_counter": str(counter.pk), "row0_weekday": "3", "row0_opens": "08:00", "row0_closes": "10:00"})
    response = lena.post(hours_url(office), {**data, "save": "1"})
    assert response.status_code == 302
    assert list(OpeningHours.objects.filter(counter=counter).values_list("weekday", "opens", "closes")) == [
        (3, dt.time(8), dt.time(10))
    ]
    page = lena.get(hours_url(office))
    assert capacity_row(page, THURSDAY).startswith("Thu 03/12/2026 3 18:00"), "2 × 8 hours + 2 hours"


def test_the_affected_list_shows_only_bookings_still_to_come(desk, lena):
    """A booking already completed this morning lies outside the new hours too, but is history."""
    demo = desk.demo
    done = walk_in(demo, start=berlin(2026, 12, 1, 9, 0), name="Erika Erledigt")
    coming = walk_in(demo, start=berlin(2026, 12, 8, 9, 0), name="Karl Kommend")
    cancelled = walk_in(demo, start=berlin(2026, 12, 8, 9, 30), name="Anna Abgesagt")
    Appointment.objects.filter(pk=cancelled.pk).update(status=Status.CANCELLED)
    desk.clock.now = berlin(2026, 12, 1, 10, 0)
    Appointment.objects.filter(pk=done.pk).update(status=Status.COMPLETED)

    data = week_data(demo.frankenthal, tuesday=[("10:30", "12:00")])
    preview = lena.post(hours_url(demo.frankenthal), {**data, "preview": "1"})
    page = text(preview)
    assert "1 booked appointment lies outside the working time." in page
    assert coming.reference in page
    assert done.reference not in page and cancelled.reference not in page
    assert reverse("clerk:closures", args=[demo.frankenthal.slug]) in preview.content.decode()

    saved = lena.post(hours_url(demo.frankenthal), {**data, "save": "1"}, follow=True)
    assert "1 booked appointment lies outside the working time now." in text(saved)

    # The admin's warning counts the same: not the completed booking.
    admin = client_for("admin")
    office_page = admin.get(reverse("admin:offices_office_change", args=[demo.frankenthal.pk]))
    assert "1 booked appointment lies outside the working time shown here." in text(office_page)


# --- the year ------------------------------------------------------------------------------------


def test_presets_close_the_office_on_the_common_closing_days(desk, lena):
    office = desk.demo.frankenthal
    year_page = lena.get(reverse("clerk:hours_year", args=[office.slug, 2026]))
    assert year_page.status_code == 200
    assert "Christi Himmelfahrt" in text(year_page) and "Fronleichnam" in text(year_page)
    for key in ("christmas-eve", "new-years-eve"):
        response = lena.post(reverse("clerk:hours_preset", args=[office.slug, 2026]), {"preset": key})
        assert response.status_code == 302
    lena.post(reverse("clerk:hours_preset", args=[office.slug, 2027]), {"preset": "shrove-tuesday"})
    again = lena.post(reverse("clerk:hours_preset", args=[office.slug, 2026]), {"preset": "christmas-eve"}, follow=True)
    assert "already closed" in text(again)
    closures = Closure.objects.filter(office=office, counter=None, start_time=None)
    assert sorted((c.start_date, c.reason) for c in closures) == [
        (dt.date(2026, 12, 24), "Heiligabend"),
        (dt.date(2026, 12, 31), "Silvester"),
        (dt.date(2027, 2, 9), "Fastnachtsdienstag"),
    ]
    assert frankenthal_starts(desk.demo, dt.date(2026, 12, 24)) == []


def test_a_closure_with_the_wrong_order_of_days_is_explained(desk, lena):
    office = desk.demo.frankenthal
    response = lena.post(
        reverse("clerk:hours_new_closure", args=[office.slug, 2026]),
        {"start_date": "2026-12-10", "end_date": "2026-12-09", "reason": "Umzug"},
    )
    assert response.status_code == 400
    assert "The last day must not be before the first day." in text(response)
    assert not Closure.objects.filter(office=office).exists()
    response = lena.post(
        reverse("clerk:hours_new_closure", args=[office.slug, 2026]),
        {"start_date": "2026-12-10", "reason": "Personalversammlung", "start_time": "08:00", "end_time": "10:00"},
    )
    assert response.status_code == 302
    closure = Closure.objects.get(office=office)
    assert (closure.start_date, closure.end_date, closure.start_time) == (
        dt.date(2026, 12, 10),
        dt.date(2026, 12, 10),
        dt.time(8),
    )


def test_the_office_opens_on_a_public_holiday(desk, lena):
    office = desk.demo.frankenthal
    url = reverse("clerk:hours_holiday", args=[office.slug, 2026])
    assert lena.post(url, {"day": "2026-12-25", "open": "1"}).status_code == 302
    assert office.holiday_openings.filter(date=dt.date(2026, 12, 25)).exists()
    assert lena.post(url, {"day": "2026-12-23", "open": "1"}).status_code == 404, "no public holiday"
    lena.post(url, {"day": "2026-12-25", "open": "0"})
    assert not office.holiday_openings.exists()


# --- who may ---------------------------------------------------------------------------------------


def test_only_office_leads_and_administrators_of_the_office_open_the_page(desk):
    demo = desk.demo
    url = hours_url(demo.frankenthal)
    max_ft = staff("max-ft", administration=demo.ft)
    rpk_admin = staff("rita-rpk", administration=demo.rpk)
    schifferstadt_lead = staff("sven-lead", office=demo.schifferstadt, role=Membership.Role.OFFICE_LEAD)
    assert max_ft.get(url).status_code == 200
    assert desk.admin.get(url).status_code == 200
    for refused in (desk.frankenthal_clerk, desk.schifferstadt_clerk, rpk_admin, schifferstadt_lead):
        assert refused.get(url).status_code in (403, 404)
        assert refused.get(reverse("clerk:hours_year", args=[demo.frankenthal.slug, 2026])).status_code in (403, 404)
    assert desk.anonymous.get(url).status_code == 302
    assert desk.admin.get(reverse("clerk:hours", args=["no-such-office"])).status_code == 404


def test_a_refused_clerk_changes_nothing(desk):
    demo = desk.demo
    before = saved_hours(demo.frankenthal)
    data = week_data(demo.frankenthal, thursday=[("08:00", "09:00")])
    for refused in (desk.frankenthal_clerk, desk.schifferstadt_clerk):
        assert refused.post(hours_url(demo.frankenthal), {**data, "save": "1"}).status_code == 403
        preset = reverse("clerk:hours_preset", args=[demo.frankenthal.slug, 2026])
        assert refused.post(preset, {"preset": "christmas-eve"}).status_code == 403
    assert saved_hours(demo.frankenthal) == before
    assert not Closure.objects.exists()


# --- the admin -------------------------------------------------------------------------------------


def test_the_admin_has_its_name_and_hides_the_technical_sections_from_administrators(desk):
    user = get_user_model().objects.create_user("max-admin", "max@example.org", "not-used", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["offices", "axes", "otp_totp"]))
    administrator = Client(headers={"accept-language": "de"})
    administrator.force_login(user)
    index = administrator.get("/admin/")
    assert index.status_code == 200
    page = text(index)
    assert "Kfz-Zulassung Vorderpfalz – Verwaltung" in page and "Django" not in page
    assert "Öffnungszeiten" in page, "the sections administrators work in stay"
    for technical in ("AXES", "Axes", "OTP_TOTP", "TOTP"):
        assert technical not in page
    assert administrator.get("/admin/axes/accessattempt/").status_code == 403

    superuser = Client(headers={"accept-language": "de"})
    superuser.force_login(get_user_model().objects.get(username="admin"))
    assert "AXES" in text(superuser.get("/admin/")).upper()


def test_admin_times_have_no_seconds_and_the_empty_counter_says_all_counters(desk):
    page = desk.admin.get(reverse("admin:offices_office_change", args=[desk.demo.frankenthal.pk]))
    html = page.content.decode()
    assert 'value="08:00"' in html and 'value="08:00:00"' not in html
    assert "all counters" in html and "---------</option>" not in html.split('name="opening_hours-0-counter"')[1][:400]


def test_the_page_is_linked_for_those_who_may_use_it(desk, lena):
    office = desk.demo.frankenthal
    closures = reverse("clerk:closures", args=[office.slug])
    assert hours_url(office) in lena.get(closures).content.decode()
    assert hours_url(office) not in desk.frankenthal_clerk.get(closures).content.decode()
    office_page = desk.admin.get(reverse("admin:offices_office_change", args=[office.pk]))
    assert hours_url(office) in office_page.content.decode()


# --- closures and holiday openings: their effect before saving -------------------------------------


def year_url(office, year=2026) -> str:
    return reverse("clerk:hours_year", args=[office.slug, year])


def test_a_closure_shows_its_capacity_and_the_bookings_it_hits_before_it_is_saved(desk, lena):
    demo = desk.demo
    office = demo.frankenthal
    coming = walk_in(demo, start=berlin(2026, 12, 8, 9, 0), name="Karl Kommend")
    cancelled = walk_in(demo, start=berlin(2026, 12, 8, 9, 30), name="Anna Abgesagt")
    Appointment.objects.filter(pk=cancelled.pk).update(status=Status.CANCELLED)
    later = walk_in(demo, start=berlin(2026, 12, 9, 9, 0), name="Mia Mittwoch")
    closure = {"start_date": "2026-12-08", "reason": "Personalversammlung"}

    preview = lena.post(reverse("clerk:hours_new_closure", args=[office.slug, 2026]), {**closure, "preview": "1"})
    assert preview.status_code == 200
    page = text(preview)
    assert "Effect of this closure (not saved yet)" in page
    assert "1 booked appointment still to come lies in this closure." in page
    assert coming.reference in page
    assert cancelled.reference not in page and later.reference not in page
    assert capacity_row(preview, dt.date(2026, 12, 8)) == "Tue 08/12/2026 12:00 none 1", "3 counters × 4 hours"
    assert 'value="Personalversammlung"' in preview.content.decode(), "the form keeps what was typed"
    assert not Closure.objects.filter(office=office).exists(), "a preview saves nothing"
    assert frankenthal_starts(demo, dt.date(2026, 12, 8)), "citizens still find times that day"

    saved = lena.post(
        reverse("clerk:hours_new_closure", args=[office.slug, 2026]), {**closure, "save": "1"}, follow=True
    )
    assert "1 booked appointment lies outside the working time now." in text(saved)
    assert Closure.objects.filter(office=office, start_date=dt.date(2026, 12, 8)).count() == 1
    assert frankenthal_starts(demo, dt.date(2026, 12, 8)) == []
    # The relocation step as before: the closure waits under "Blocks and closures".
    closures_page = text(lena.get(reverse("clerk:closures", args=[office.slug])))
    assert "Personalversammlung" in closures_page and "Move appointments" in closures_page


def test_a_closure_of_some_hours_counts_only_the_bookings_in_those_hours(desk, lena):
    demo = desk.demo
    office = demo.frankenthal
    early = walk_in(demo, start=berlin(2026, 12, 10, 8, 30), name="Frida Früh")
    late = walk_in(demo, start=berlin(2026, 12, 10, 11, 0), name="Siegfried Spät")
    counter = early.counter
    preview = lena.post(
        reverse("clerk:hours_new_closure", args=[office.slug, 2026]),
        {
            "start_date": "2026-12-10",
            "start_time": "08:00",
            "end_time": "10:00",
            "counter": str(counter.pk),
            "reason": "Schulung",
            "preview": "1",
        },
    )
    page = text(preview)
    assert early.reference in page and late.reference not in page
    # Thursday: 3 counters × (4 + 4) hours; the closure takes 2 hours of one counter.
    assert capacity_row(preview, dt.date(2026, 12, 10)).startswith("Thu 10/12/2026 24:00 22:00")


def test_the_common_closing_days_show_what_one_click_would_hit(desk, lena):
    demo = desk.demo
    office = demo.frankenthal
    booked = walk_in(demo, start=berlin(2026, 12, 24, 9, 0), name="Christa Heiligabend")
    page = text(lena.get(year_url(office)))
    christmas_eve = page.split("Christmas Eve (24 December)")[1].split("New Year's Eve (31 December)")[0]
    assert "Now open: 3 counters, 24:00 counter-hours." in christmas_eve
    assert "Closing hits 1 booked appointment:" in christmas_eve and booked.reference in christmas_eve
    new_years_eve = page.split("New Year's Eve (31 December)")[1].split("Shrove Tuesday")[0]
    assert "Now open: 3 counters, 24:00 counter-hours." in new_years_eve, "also a Thursday"
    assert "No booked appointment is hit." in new_years_eve
    assert not Closure.objects.exists(), "showing the effect saves nothing"

    done = lena.post(reverse("clerk:hours_preset", args=[office.slug, 2026]), {"preset": "christmas-eve"}, follow=True)
    assert "1 booked appointment lies outside the working time now." in text(done)


def test_a_public_holiday_shows_what_opening_and_closing_again_would_do(desk, lena):
    demo = desk.demo
    office = demo.frankenthal
    christmas_day = dt.date(2026, 12, 25)  # a Friday: 08:00–12:00 on 3 counters when open
    page = text(lena.get(year_url(office)))
    row = page.split("25/12/2026 Erster Weihnachtstag")[1][:300]
    assert "Opening gives 3 counters with 12:00 counter-hours." in row
    assert "Opening gives" not in page.split("26/12/2026 Zweiter Weihnachtstag")[1][:300], (
        "a Saturday has no hours to open"
    )

    lena.post(reverse("clerk:hours_holiday", args=[office.slug, 2026]), {"day": "2026-12-25", "open": "1"})
    booked = walk_in(demo, start=berlin(2026, 12, 25, 10, 0), name="Wilhelm Weihnacht")
    row = text(lena.get(year_url(office))).split("25/12/2026 Erster Weihnachtstag")[1][:400]
    assert "Closing again hits 1 booked appointment:" in row and booked.reference in row
    assert office.holiday_openings.filter(date=christmas_day).exists(), "showing the effect changes nothing"


# --- an administration's administrator ---------------------------------------------------------


def test_an_administrator_without_an_office_reaches_her_offices_hours_from_the_staff_area(desk):
    demo = desk.demo
    max_ft = staff("max-ft", administration=demo.ft)
    start = max_ft.get(reverse("clerk:home"))
    assert start.status_code == 200
    html = start.content.decode()
    assert hours_url(demo.frankenthal) in html and year_url(demo.frankenthal) in html
    assert hours_url(demo.schifferstadt) not in html, "the other administration's office is not hers"
    assert demo.frankenthal.name in text(start)

    hours_page = max_ft.get(hours_url(demo.frankenthal))
    assert hours_page.status_code == 200
    # Her navigation leads to the hours pages; the schedule and the bookings stay the office's.
    assert f'href="{hours_url(demo.frankenthal)}"' in hours_page.content.decode()
    assert reverse("clerk:closures", args=[demo.frankenthal.slug]) not in hours_page.content.decode()
    assert max_ft.get(reverse("clerk:office", args=[demo.frankenthal.slug])).status_code == 403

    # The other administration's office: refused, and nothing changes.
    assert max_ft.get(hours_url(demo.schifferstadt)).status_code == 403
    assert max_ft.get(year_url(demo.schifferstadt)).status_code == 403
    preset = reverse("clerk:hours_preset", args=[demo.schifferstadt.slug, 2026])
    assert max_ft.post(preset, {"preset": "christmas-eve"}).status_code == 403
    closure = reverse("clerk:hours_new_closure", args=[demo.schifferstadt.slug, 2026])
    assert max_ft.post(closure, {"start_date": "2026-12-08", "reason": "x", "preview": "1"}).status_code == 403
    assert not Closure.objects.exists()

    # Her own office's closure with a booking: the reference is shown, not linked to a page she cannot open.
    booked = walk_in(demo, start=berlin(2026, 12, 8, 9, 0))
    preview = max_ft.post(
        reverse("clerk:hours_new_closure", args=[demo.frankenthal.slug, 2026]),
        {"start_date": "2026-12-08", "reason": "Umzug", "preview": "1"},
    )
    assert booked.reference in text(preview)
    assert reverse("clerk:appointment", args=[booked.reference]) not in preview.content.decode()
    assert "the office's staff move them" in text(preview)


def test_staff_without_an_office_or_an_administration_still_get_the_notice(desk):
    nobody = staff("nora-nobody")
    response = nobody.get(reverse("clerk:home"))
    assert response.status_code == 403
    assert "not assigned to an office" in text(response)


def test_the_admin_in_german_loads_the_german_catalogue_of_its_date_and_time_widgets(desk):
    """The calendar and clock widgets ("Today", "Now", "Choose a time") take their words from the
    admin's JavaScript catalogue, which the change page loads in the page's language."""
    superuser = get_user_model().objects.get(username="admin")
    german = ['"Today": "Heute"', '"Now": "Jetzt"', '"Choose a time": "Uhrzeit"', '"Midnight": "Mitternacht"']
    for language, words, absent in (("de", german, None), ("en", [], '"Heute"')):
        client = Client(headers={"accept-language": language})
        client.force_login(superuser)
        change = client.get(reverse("admin:offices_closure_add"))
        assert change.status_code == 200
        html = change.content.decode()
        catalogue = reverse("admin:jsi18n")
        assert f'<script src="{catalogue}"></script>' in html
        assert html.index(catalogue) < html.index("DateTimeShortcuts.js"), "the words load before the widgets"
        script = client.get(catalogue)
        assert script.status_code == 200 and script["Content-Type"].startswith("text/javascript")
        body = script.content.decode()
        for word in words:
            assert word in body
        assert absent is None or absent not in body
