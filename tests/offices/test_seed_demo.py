"""The demo data (`manage.py seed_demo`): complete, faithful to DESIGN.md, and safe to load twice."""

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from offices.demo import seed_demo
from offices.models import (
    Administration,
    CooperationRule,
    Counter,
    Document,
    Membership,
    Municipality,
    Office,
    OpeningHours,
    Service,
)

pytestmark = pytest.mark.django_db

RPK, FT = "rhein-pfalz-kreis", "frankenthal"

# Transcribed from DESIGN.md §2 on purpose rather than imported from offices.demo, so that a
# municipality missing from the demo data makes this test fail.
EXPECTED_MUNICIPALITIES = {
    # slug: (name, postcode, Verbandsgemeinde, administration)
    "schifferstadt": ("Schifferstadt", "67105", "", RPK),
    "bobenheim-roxheim": ("Bobenheim-Roxheim", "67240", "", RPK),
    "boehl-iggelheim": ("Böhl-Iggelheim", "67459", "", RPK),
    "limburgerhof": ("Limburgerhof", "67117", "", RPK),
    "mutterstadt": ("Mutterstadt", "67112", "", RPK),
    "dannstadt-schauernheim": ("Dannstadt-Schauernheim", "67125", "Dannstadt-Schauernheim", RPK),
    "hochdorf-assenheim": ("Hochdorf-Assenheim", "67126", "Dannstadt-Schauernheim", RPK),
    "roedersheim-gronau": ("Rödersheim-Gronau", "67127", "Dannstadt-Schauernheim", RPK),
    "lambsheim": ("Lambsheim", "67245", "Lambsheim-Heßheim", RPK),
    "hessheim": ("Heßheim", "67258", "Lambsheim-Heßheim", RPK),
    "beindersheim": ("Beindersheim", "67259", "Lambsheim-Heßheim", RPK),
    "grossniedesheim": ("Großniedesheim", "67259", "Lambsheim-Heßheim", RPK),
    "heuchelheim-bei-frankenthal": ("Heuchelheim bei Frankenthal", "67259", "Lambsheim-Heßheim", RPK),
    "kleinniedesheim": ("Kleinniedesheim", "67259", "Lambsheim-Heßheim", RPK),
    "maxdorf": ("Maxdorf", "67133", "Maxdorf", RPK),
    "birkenheide": ("Birkenheide", "67134", "Maxdorf", RPK),
    "fussgoenheim": ("Fußgönheim", "67136", "Maxdorf", RPK),
    "waldsee": ("Waldsee", "67165", "Rheinauen", RPK),
    "otterstadt": ("Otterstadt", "67166", "Rheinauen", RPK),
    "altrip": ("Altrip", "67122", "Rheinauen", RPK),
    "neuhofen": ("Neuhofen", "67141", "Rheinauen", RPK),
    "dudenhofen": ("Dudenhofen", "67373", "Römerberg-Dudenhofen", RPK),
    "hanhofen": ("Hanhofen", "67374", "Römerberg-Dudenhofen", RPK),
    "harthausen": ("Harthausen", "67376", "Römerberg-Dudenhofen", RPK),
    "roemerberg": ("Römerberg", "67354", "Römerberg-Dudenhofen", RPK),
    "frankenthal-pfalz": ("Frankenthal (Pfalz)", "67227", "", FT),
}

EXPECTED_SERVICES = {
    "neuzulassung",
    "umschreibung",
    "wiederzulassung",
    "ausserbetriebsetzung",
    "adressaenderung",
    "umzug-kennzeichenmitnahme",
    "kurzzeitkennzeichen",
    "saisonkennzeichen",
    "h-kennzeichen",
    "e-kennzeichen",
    "wechselkennzeichen",
    "ausfuhrkennzeichen",
    "ersatz-zulassungsbescheinigung",
    "kennzeichenverlust",
}


def snapshot() -> dict:
    """Everything seed_demo writes, primary keys included, in a comparable form."""
    User = get_user_model()

    def rows(queryset, *fields):
        return sorted(queryset.values_list(*fields))

    return {
        "administrations": rows(Administration.objects, "id", "slug", "name", "plate_code"),
        "municipalities": rows(Municipality.objects, "id", "slug", "name", "postcode", "association", "administration"),
        "offices": rows(
            Office.objects,
            "id",
            "slug",
            "name",
            "administration",
            "street",
            "postcode",
            "city",
            "slot_minutes",
            "booking_horizon_days",
            "min_lead_minutes",
            "hours_are_example",
            "is_active",
        ),
        "counters": rows(Counter.objects, "id", "office", "name", "is_active"),
        "counter_services": rows(Counter.services.through.objects, "counter", "service"),
        "opening_hours": rows(OpeningHours.objects, "id", "office", "counter", "weekday", "opens", "closes"),
        "documents": rows(Document.objects, "id", "slug", "name_de", "name_en", "position"),
        "services": rows(
            Service.objects,
            "id",
            "slug",
            "name_de",
            "name_en",
            "description_de",
            "description_en",
            "minutes_first_vehicle",
            "minutes_per_extra_vehicle",
            "max_vehicles",
            "bookable_online",
            "position",
        ),
        "service_documents": rows(Service.documents.through.objects, "service", "document"),
        "service_offices": rows(Service.offices.through.objects, "service", "office"),
        "rules": rows(CooperationRule.objects, "id", "office", "administration", "valid_from", "valid_until", "note"),
        "rule_services": rows(CooperationRule.services.through.objects, "cooperationrule", "service"),
        "users": rows(User.objects, "id", "username", "password", "is_staff", "is_superuser", "is_active"),
        "memberships": rows(Membership.objects, "id", "user", "office", "role"),
    }


def test_seeding_twice_leaves_exactly_the_same_data():
    """A second run changes nothing: same rows, same values, same primary keys, no duplicates."""
    first_accounts = seed_demo()
    first = snapshot()
    second_accounts = seed_demo()

    assert snapshot() == first
    assert second_accounts == first_accounts
    assert len(first["municipalities"]) == 26
    assert len(first["services"]) == 14
    assert len(first["counters"]) == 9
    assert len(first["rules"]) == 2
    assert len(first["users"]) == 3
    assert len(first["memberships"]) == 2


def test_rerun_restores_demo_hours_instead_of_adding_to_them():
    """Hours changed by hand are replaced by the demo hours, not duplicated."""
    seed_demo()
    frankenthal = Office.objects.get(slug="frankenthal")
    OpeningHours.objects.filter(office=frankenthal, weekday=0).delete()
    OpeningHours.objects.create(office=frankenthal, weekday=5, opens=dt.time(9), closes=dt.time(11))

    seed_demo()

    assert sorted(frankenthal.opening_hours.values_list("weekday", "opens", "closes", "counter")) == [
        (0, dt.time(8), dt.time(12), None),
        (1, dt.time(8), dt.time(12), None),
        (2, dt.time(8), dt.time(12), None),
        (3, dt.time(8), dt.time(12), None),
        (3, dt.time(14), dt.time(18), None),
        (4, dt.time(8), dt.time(12), None),
    ]


def test_every_municipality_of_both_administrations_is_present():
    """All 25 municipalities of the Rhein-Pfalz-Kreis and Frankenthal, with postcode, VG and administration."""
    seed_demo()

    actual = {
        m.slug: (m.name, m.postcode, m.association, m.administration.slug)
        for m in Municipality.objects.select_related("administration")
    }
    assert actual == EXPECTED_MUNICIPALITIES


def test_a_postcode_can_belong_to_several_municipalities():
    """67259 is shared by four municipalities; routing needs the municipality, not the postcode."""
    seed_demo()

    names = set(Municipality.objects.filter(postcode="67259").values_list("name", flat=True))
    assert names == {"Beindersheim", "Großniedesheim", "Heuchelheim bei Frankenthal", "Kleinniedesheim"}


def test_neighbouring_postcodes_outside_the_area_are_not_served():
    """Bad Dürkheim district, Ludwigshafen and Speyer postcodes map to no municipality."""
    seed_demo()

    outside = ["67229", "67246", "67251", "67158", "67454", "67346"] + [str(p) for p in range(67059, 67072)]
    assert not Municipality.objects.filter(postcode__in=outside).exists()


def test_demo_offices_have_their_counters_and_hours():
    """Schifferstadt: 6 counters, example hours; Frankenthal: 3 counters, the published hours."""
    seed_demo()
    schifferstadt = Office.objects.get(slug="schifferstadt")
    frankenthal = Office.objects.get(slug="frankenthal")

    assert schifferstadt.administration.plate_code == "RP"
    assert schifferstadt.address == "Bahnhofstraße 37, 67105 Schifferstadt"
    assert schifferstadt.hours_are_example is True
    assert [c.name for c in schifferstadt.counters.order_by("id")] == [f"Schalter {n}" for n in range(1, 7)]
    assert sorted(schifferstadt.opening_hours.filter(weekday=3).values_list("opens", "closes")) == [
        (dt.time(7, 30), dt.time(12, 30)),
        (dt.time(13, 30), dt.time(18)),
    ]

    assert frankenthal.administration.plate_code == "FT"
    assert frankenthal.address == "Hammstraße 20, 67227 Frankenthal (Pfalz)"
    assert frankenthal.hours_are_example is False
    assert frankenthal.counters.count() == 3
    assert not frankenthal.opening_hours.filter(weekday__gte=5).exists()
    for office in (schifferstadt, frankenthal):
        assert (office.slot_minutes, office.booking_horizon_days, office.min_lead_minutes) == (5, 56, 120)
        assert not office.opening_hours.filter(counter__isnull=False).exists()


def test_service_catalogue_is_complete_and_bookable_at_both_offices():
    """Every concern of DESIGN.md is bookable online at both offices and has a document checklist."""
    seed_demo()

    services = Service.objects.prefetch_related("offices", "documents")
    assert {s.slug for s in services} == EXPECTED_SERVICES
    for service in services:
        assert service.bookable_online, service.slug
        assert {o.slug for o in service.offices.all()} == {"schifferstadt", "frankenthal"}, service.slug
        assert service.documents.exists(), service.slug
        assert service.name_en and service.description_de and service.description_en, service.slug
    assert Service.objects.get(slug="ausserbetriebsetzung").minutes_for(3) == 15
    assert Service.objects.get(slug="umschreibung").minutes_for(2) == 30
    assert set(Service.objects.get(slug="neuzulassung").documents.values_list("slug", flat=True)) >= {
        "ausweis",
        "evb-nummer",
        "sepa-mandat",
        "coc",
    }


def test_each_office_serves_the_partners_residents_for_all_services():
    """Schifferstadt serves Frankenthal residents and Frankenthal serves Rhein-Pfalz-Kreis residents."""
    seed_demo()

    rules = CooperationRule.objects.select_related("office", "administration")
    assert {(r.office.slug, r.administration.slug) for r in rules} == {("schifferstadt", FT), ("frankenthal", RPK)}
    for rule in rules:
        assert rule.valid_from is None and rule.valid_until is None
        assert not rule.services.exists()


def test_demo_accounts_can_log_in_with_the_returned_passwords():
    """The admin is a superuser; the clerks are staff without superuser rights."""
    accounts = seed_demo()

    assert set(accounts) == {"admin", "clerk-schifferstadt", "clerk-frankenthal"}
    for username, password in accounts.items():
        # A login has a request: the login throttling (django-axes) keys on its address.
        user = authenticate(
            request=RequestFactory().post("/mitarbeiter/anmelden/"), username=username, password=password
        )
        assert user is not None, username
        assert user.is_staff
        assert user.is_superuser == (username == "admin")


def test_command_prints_the_demo_credentials(settings):
    """`manage.py seed_demo` (the demo runs with DEBUG=1) loads the data and prints every demo
    account with its password, marked as demo credentials."""
    settings.DEBUG = True
    out = StringIO()

    call_command("seed_demo", "--no-bookings", stdout=out)  # the bookings: test_demo_bookings

    output = out.getvalue()
    assert "Demo credentials" in output
    assert Municipality.objects.count() == 26
    lines = output.splitlines()
    for username, password in seed_demo().items():
        assert any(username in line and password in line for line in lines), username


def test_command_refuses_a_production_setup_unless_forced(settings):
    """With DEBUG off the command creates no accounts with published passwords, unless --force."""
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", "--no-bookings", stdout=StringIO())
    assert not get_user_model().objects.filter(username="admin").exists()

    call_command("seed_demo", "--force", "--no-bookings", stdout=StringIO())
    assert get_user_model().objects.filter(username="admin", is_superuser=True).exists()


def test_each_demo_clerk_works_for_their_own_office_only():
    """clerk-schifferstadt and clerk-frankenthal are clerks (not office leads) of their office; the
    admin needs no membership (a superuser sees every office). A rerun restores this state."""
    seed_demo()
    User = get_user_model()
    frankenthal_clerk = User.objects.get(username="clerk-frankenthal")
    Membership.objects.filter(user=frankenthal_clerk).update(role=Membership.Role.OFFICE_LEAD)
    Membership.objects.create(user=frankenthal_clerk, office=Office.objects.get(slug="schifferstadt"))

    seed_demo()

    memberships = {
        (m.user.username, m.office.slug, m.role) for m in Membership.objects.select_related("user", "office")
    }
    assert memberships == {
        ("clerk-schifferstadt", "schifferstadt", "clerk"),
        ("clerk-frankenthal", "frankenthal", "clerk"),
    }
