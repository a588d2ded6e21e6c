"""Reports for staff with the report permission (/mitarbeiter/berichte/): the monthly figures per
office, the settlement between the partners and its CSV export, for a fixed set of appointments in
November 2026 whose figures are worked out by hand below; the same after the retention sweep.

Personas: the Frankenthal clerk (no report permission), the demo administrator (a superuser), an
office lead of Schifferstadt who was given the permission, and an anonymous browser.
"""

import csv
import datetime as dt
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from appointments.domain.reports import Period, monthly_figures, settlement
from appointments.domain.retention import erase_personal_data
from appointments.models import Appointment, AppointmentService, Status
from offices.models import Membership, Municipality, Service
from tests.appointments.clerk_personas import NOW, client_for
from tests.conftest import berlin

pytestmark = pytest.mark.clock_start(NOW)

NOVEMBER = Period(first=dt.date(2026, 11, 1), last=dt.date(2026, 11, 1))
UTC = dt.UTC


class Book:
    """Appointments written straight into the database with the facts a report reads."""

    def __init__(self, demo):
        self.demo = demo
        self.count = 0

    def __call__(self, office, counter, start, *, home, items, status, confirmed_at=None, name="Erika Mustermann"):
        self.count += 1
        minutes = sum(Service.objects.get(slug=slug).minutes_for(vehicles) for slug, vehicles in items)
        municipality = Municipality.objects.get(slug=home)
        appointment = Appointment.objects.create(
            reference=f"{office.administration.plate_code}-T{self.count:05d}",
            office=office,
            counter=office.counters.get(name=f"Schalter {counter}"),
            start=start,
            end=start + dt.timedelta(minutes=minutes),
            vehicles=max(vehicles for _slug, vehicles in items),
            home_administration=municipality.administration,
            municipality=municipality,
            status=status,
            confirmed_at=confirmed_at,
            name=name,
            email="erika@example.org",
            phone="06233 12345",
            note="Bringt Vollmacht mit",
        )
        for slug, vehicles in items:
            service = Service.objects.get(slug=slug)
            AppointmentService.objects.create(
                appointment=appointment, service=service, vehicles=vehicles, minutes=service.minutes_for(vehicles)
            )
        # Booked well ahead unless confirmed later: created_at is the fallback of the lead time.
        Appointment.objects.filter(pk=appointment.pk).update(created_at=start - dt.timedelta(days=30))
        return appointment


FT_HOME, RP_HOME = "frankenthal-pfalz", "lambsheim"


@pytest.fixture
def november(demo):
    """Ten appointments; the comments say what each one counts for."""
    book = Book(demo)
    ft, rp = demo.frankenthal, demo.schifferstadt
    # Frankenthal (Stadt Frankenthal) performs:
    book(
        ft,
        1,
        berlin(2026, 11, 2, 8),
        home=FT_HOME,
        items=[("umschreibung", 1)],
        status=Status.COMPLETED,
        confirmed_at=berlin(2026, 10, 26, 8),
    )  # own resident, 15 min, lead 7 days
    book(
        ft,
        1,
        berlin(2026, 11, 3, 8),
        home=RP_HOME,
        items=[("umschreibung", 2), ("ausserbetriebsetzung", 2)],
        status=Status.COMPLETED,
        confirmed_at=berlin(2026, 11, 1, 8),
    )  # partner, 30 + 10 = 40 min, lead 2 days
    book(
        ft,
        2,
        berlin(2026, 11, 4, 8),
        home=RP_HOME,
        items=[("neuzulassung", 1)],
        status=Status.NO_SHOW,
        confirmed_at=berlin(2026, 10, 31, 8),
    )  # partner, 15 min, lead 4 days, a no-show
    book(
        ft,
        3,
        berlin(2026, 11, 5, 8),
        home=RP_HOME,
        items=[("umschreibung", 1)],
        status=Status.CANCELLED,
        confirmed_at=berlin(2026, 11, 1, 9),
    )  # booked, then cancelled: no minutes, no lead time
    book(
        ft, 2, berlin(2026, 11, 5, 9), home=FT_HOME, items=[("umschreibung", 1)], status=Status.EXPIRED
    )  # never booked
    book(
        ft, 3, berlin(2026, 11, 6, 9), home=RP_HOME, items=[("umschreibung", 1)], status=Status.CANCELLED
    )  # never confirmed
    book(
        ft,
        1,
        berlin(2026, 12, 2, 8),
        home=RP_HOME,
        items=[("umschreibung", 1)],
        status=Status.COMPLETED,
        confirmed_at=berlin(2026, 11, 30, 8),
    )  # December: outside the period
    # Schifferstadt (Rhein-Pfalz-Kreis) performs:
    book(
        rp,
        1,
        dt.datetime(2026, 10, 31, 23, 30, tzinfo=UTC),
        home=FT_HOME,
        items=[("ausserbetriebsetzung", 1)],
        status=Status.COMPLETED,
        confirmed_at=dt.datetime(2026, 10, 29, 23, 30, tzinfo=UTC),
    )  # 1 Nov 00:30 in Berlin: November; partner, 5 min, lead 2 days
    book(
        rp,
        2,
        berlin(2026, 11, 10, 8),
        home=FT_HOME,
        items=[("wiederzulassung", 3)],
        status=Status.COMPLETED,
        confirmed_at=berlin(2026, 11, 9, 8),
    )  # partner, 15 + 2 × 15 = 45 min, lead 1 day
    book(
        rp,
        3,
        berlin(2026, 11, 10, 8),
        home=RP_HOME,
        items=[("umschreibung", 1)],
        status=Status.COMPLETED,
        confirmed_at=berlin(2026, 11, 3, 8),
    )  # own resident, 15 min, lead 7 days
    return demo


EXPECTED_SETTLEMENT = [
    # office, residents of, service, cases, vehicles
    ("frankenthal", "frankenthal", "umschreibung", 1, 1),
    ("frankenthal", "rhein-pfalz-kreis", "umschreibung", 1, 2),
    ("frankenthal", "rhein-pfalz-kreis", "ausserbetriebsetzung", 1, 2),
    ("schifferstadt", "frankenthal", "wiederzulassung", 1, 3),
    ("schifferstadt", "frankenthal", "ausserbetriebsetzung", 1, 1),
    ("schifferstadt", "rhein-pfalz-kreis", "umschreibung", 1, 1),
]
EXPECTED_TOTALS = [
    # office, residents of, appointments, cases, vehicles
    ("frankenthal", "frankenthal", 1, 1, 1),
    ("frankenthal", "rhein-pfalz-kreis", 1, 2, 2),
    ("schifferstadt", "frankenthal", 2, 2, 4),
    ("schifferstadt", "rhein-pfalz-kreis", 1, 1, 1),
]
# November 2026 has 21 working days (Mon–Fri), 4 Tuesdays and 4 Thursdays; no public holiday on a
# weekday (Allerheiligen is a Sunday). Frankenthal: 3 counters × (21 × 4 h + 4 × 4 h on Thursdays).
FRANKENTHAL_WORKING_MINUTES = 3 * (21 * 240 + 4 * 240)
# Schifferstadt: 6 counters × (21 × 5 h + 4 × 2.5 h on Tuesdays + 4 × 4.5 h on Thursdays).
SCHIFFERSTADT_WORKING_MINUTES = 6 * (21 * 300 + 4 * 150 + 4 * 270)


def settlement_facts():
    rows, totals = settlement(period=NOVEMBER)
    return (
        sorted((r.office.slug, r.administration.slug, r.service.slug, r.cases, r.vehicles) for r in rows),
        [(t.office.slug, t.administration.slug, t.appointments, t.cases, t.vehicles) for t in totals],
    )


def figures_by_office():
    return {months[0].office.slug: months[0] for months in monthly_figures(period=NOVEMBER).values()}


def test_the_settlement_counts_completed_cases_per_office_residence_and_service(november):
    rows, totals = settlement_facts()
    assert rows == sorted(EXPECTED_SETTLEMENT)
    assert sorted(totals) == EXPECTED_TOTALS


def test_monthly_figures_per_office(november):
    """Booked counts confirmed appointments (also cancelled ones), not holds; the no-show rate is over
    appointments with an outcome; the lead time is the median of the booked, not cancelled ones."""
    figures = figures_by_office()
    ft, rp = figures["frankenthal"], figures["schifferstadt"]

    assert (ft.booked, ft.completed, ft.no_show, ft.cancelled, ft.pending) == (4, 2, 1, 1, 0)
    assert ft.no_show_rate == pytest.approx(1 / 3)
    assert ft.median_lead_days == pytest.approx(4)  # of 7, 2 and 4 days
    assert (ft.booked_minutes, ft.partner_minutes) == (15 + 40 + 15, 40 + 15)
    assert ft.working_minutes == FRANKENTHAL_WORKING_MINUTES
    assert ft.utilisation == pytest.approx(70 / FRANKENTHAL_WORKING_MINUTES)
    assert ft.partner_share == pytest.approx(55 / FRANKENTHAL_WORKING_MINUTES)

    assert (rp.booked, rp.completed, rp.no_show, rp.cancelled) == (3, 3, 0, 0)
    assert rp.no_show_rate == 0
    assert rp.median_lead_days == pytest.approx(2)  # of 2, 1 and 7 days
    assert (rp.booked_minutes, rp.partner_minutes) == (5 + 45 + 15, 5 + 45)
    assert rp.working_minutes == SCHIFFERSTADT_WORKING_MINUTES


def test_a_closure_reduces_the_working_time(november):
    """A closed day of the whole office (24 November, a Tuesday) is no working time."""
    from offices.models import Closure

    Closure.objects.create(
        office=november.frankenthal,
        start_date=dt.date(2026, 11, 24),
        end_date=dt.date(2026, 11, 24),
        reason="Betriebsausflug",
    )
    assert figures_by_office()["frankenthal"].working_minutes == FRANKENTHAL_WORKING_MINUTES - 3 * 240


def test_the_figures_survive_the_retention_sweep(november):
    """Erasing the personal data changes no figure: the reports read anonymous facts only."""
    before_settlement = settlement_facts()
    before = {slug: vars(f).copy() for slug, f in figures_by_office().items()}

    erased = erase_personal_data(now=berlin(2027, 1, 15, 3, 0))

    assert erased == 10
    assert not Appointment.objects.exclude(name="").exists()
    assert not Appointment.objects.exclude(note="").exists()
    assert settlement_facts() == before_settlement
    assert {slug: vars(f) for slug, f in figures_by_office().items()} == before


# --- the pages ------------------------------------------------------------------------------------


@pytest.fixture
def reporter(desk):
    """An office lead of Schifferstadt who was given the report permission."""
    user = get_user_model().objects.create_user("lead-schifferstadt", is_staff=True)
    Membership.objects.create(user=user, office=desk.demo.schifferstadt, role=Membership.Role.OFFICE_LEAD)
    user.user_permissions.add(Permission.objects.get(codename="view_reports", content_type__app_label="appointments"))
    return client_for("lead-schifferstadt")


REPORT = reverse("clerk:reports") + "?start=2026-11&end=2026-11"
CSV = reverse("clerk:settlement_csv") + "?start=2026-11&end=2026-11"


def test_reports_need_the_permission(desk, november, reporter):
    """Anonymous: to the login page. A clerk without the permission: 403 for the page and the CSV."""
    anonymous = desk.anonymous.get(REPORT)
    assert anonymous.status_code == 302 and reverse("clerk:login") in anonymous["Location"]
    assert desk.frankenthal_clerk.get(REPORT).status_code == 403
    assert desk.frankenthal_clerk.get(CSV).status_code == 403
    assert "Reports" not in desk.frankenthal_clerk.get(reverse("clerk:search")).content.decode()

    assert desk.admin.get(REPORT).status_code == 200
    page = reporter.get(REPORT)
    assert page.status_code == 200
    assert reverse("clerk:reports") in reporter.get(reverse("clerk:search")).content.decode(), "a link in the header"


def test_the_report_page_shows_the_figures_with_accessible_charts(november, reporter):
    html = reporter.get(REPORT).content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))

    assert "Zulassungsstelle Frankenthal (Pfalz)" in text and "Zulassungsstelle Rhein-Pfalz-Kreis" in text
    assert "33.3 %" in text, "Frankenthal's no-show rate"
    # Each office has two charts, each an image with a title and a description, and a table beside it.
    charts = re.findall(r"<svg\b[^>]*>", html)
    assert len(charts) == 4
    assert all('role="img"' in tag and "aria-labelledby=" in tag for tag in charts)
    assert html.count("<title id=") == 4 and html.count("<desc id=") == 4
    assert html.count("<table") >= 4 + 2
    # The strict Content-Security-Policy: no inline script, no style attribute or element.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert " style=" not in html and "<style" not in html


def test_the_settlement_csv_for_excel(november, reporter):
    response = reporter.get(CSV)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="abrechnung-2026-11-bis-2026-11.csv"' in response["Content-Disposition"]
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:]), delimiter=";"))
    assert rows[0] == [
        "From",
        "To",
        "Performing office",
        "Residents of",
        "Service",
        "Cases",
        "Vehicles",
        "For the partner",
    ]
    names = {s.slug: s.name_en for s in Service.objects.all()}
    expected = sorted(
        [
            "2026-11",
            "2026-11",
            {
                "frankenthal": "Zulassungsstelle Frankenthal (Pfalz)",
                "schifferstadt": "Zulassungsstelle Rhein-Pfalz-Kreis",
            }[office],
            {
                "frankenthal": "Stadtverwaltung Frankenthal (Pfalz)",
                "rhein-pfalz-kreis": "Kreisverwaltung Rhein-Pfalz-Kreis",
            }[home],
            names[service],
            str(cases),
            str(vehicles),
            "yes" if (office == "frankenthal") != (home == "frankenthal") else "no",
        ]
        for office, home, service, cases, vehicles in EXPECTED_SETTLEMENT
    )
    assert sorted(rows[1:]) == expected


def test_a_malformed_period_is_a_400_with_a_message(reporter, november):
    response = reporter.get(reverse("clerk:reports") + "?start=2026-13&end=2026-11")
    assert response.status_code == 400
    assert "Please give the month as YYYY-MM" in response.content.decode()
    backwards = reporter.get(reverse("clerk:reports") + "?start=2026-11&end=2026-10")
    assert backwards.status_code == 400
    assert reporter.get(reverse("clerk:reports") + "?start=2024-01&end=2026-11").status_code == 400, "at most 24 months"


def test_the_default_period_is_the_last_six_months(reporter, november):
    """The pages' clock stands at 1 December 2026: July to December."""
    html = reporter.get(reverse("clerk:reports")).content.decode()
    assert 'value="2026-07"' in html and 'value="2026-12"' in html
