"""The Django admin as an administrator uses it: invalid configuration is refused with a message on
the page and nothing is saved; valid configuration is saved."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from offices.models import Closure, Counter, HolidayOpening, Office, OpeningHours, Service

SATURDAY = "5"

INLINE_PREFIXES = ("counters", "opening_hours", "closures", "holiday_openings")


@pytest.fixture
def administrator(db):
    """Anna, administrator of the Rhein-Pfalz-Kreis, with a superuser account."""
    return get_user_model().objects.create_superuser("anna-admin", "anna@rpk.example", "not-used")


@pytest.fixture
def anna(administrator):
    """Anna's browser, logged in to the admin. English, so that the assertions do not depend on
    whether the German translations are compiled."""
    client = Client(headers={"accept-language": "en"})
    client.force_login(administrator)
    return client


def hours_data(office, *, weekday=SATURDAY, opens="08:00", closes="12:00", counter=None):
    return {
        "office": office.pk,
        "counter": counter.pk if counter else "",
        "weekday": weekday,
        "opens": opens,
        "closes": closes,
        "_save": "Save",
    }


def office_data(*, opening_hours=(), **fields):
    """The POST of the office page: the office's fields and its inline rows (new rows only)."""
    data = {
        "name": "Zulassungsstelle Testhausen",
        "slug": "testhausen",
        "street": "Rathausplatz 1",
        "postcode": "67105",
        "city": "Testhausen",
        "slot_minutes": "5",
        "booking_horizon_days": "56",
        "min_lead_minutes": "120",
        "is_active": "on",
        "_save": "Save",
        **fields,
    }
    for prefix in INLINE_PREFIXES:
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": "0",
                f"{prefix}-INITIAL_FORMS": "0",
                f"{prefix}-MIN_NUM_FORMS": "0",
                f"{prefix}-MAX_NUM_FORMS": "1000",
            }
        )
    data["opening_hours-TOTAL_FORMS"] = str(len(opening_hours))
    for i, (weekday, opens, closes) in enumerate(opening_hours):
        data.update(
            {
                f"opening_hours-{i}-weekday": weekday,
                f"opening_hours-{i}-opens": opens,
                f"opening_hours-{i}-closes": closes,
                f"opening_hours-{i}-counter": "",
            }
        )
    return data


def change_office_data(office, **kwargs):
    """The office page of an existing office, its fields unchanged, plus new inline rows."""
    fields = {
        "name": office.name,
        "slug": office.slug,
        "administration": office.administration_id,
        "street": office.street,
        "postcode": office.postcode,
        "city": office.city,
    }
    if office.hours_are_example:
        fields["hours_are_example"] = "on"
    return office_data(**fields, **kwargs)


# --- opening hours ------------------------------------------------------------------------------


@pytest.mark.parametrize("opens, closes", [("12:00", "08:00"), ("08:00", "08:00")])
def test_opening_hours_that_close_before_they_open_are_refused(anna, demo, opens, closes):
    """Hours whose closing time is not after the opening time are refused; nothing is saved."""
    before = OpeningHours.objects.count()

    response = anna.post(
        reverse("admin:offices_openinghours_add"), hours_data(demo.frankenthal, opens=opens, closes=closes)
    )

    assert response.status_code == 200
    assert "The opening time must be before the closing time." in response.content.decode()
    assert OpeningHours.objects.count() == before


@pytest.mark.parametrize("counter_name", [None, "Schalter 1"])
def test_overlapping_hours_for_the_same_counter_and_day_are_refused(anna, demo, counter_name):
    """A second row overlapping the first one for the same office (or counter) and weekday is
    refused with the hours it collides with; the first one stays the only row."""
    counter = demo.frankenthal.counters.get(name=counter_name) if counter_name else None
    url = reverse("admin:offices_openinghours_add")
    first = anna.post(url, hours_data(demo.frankenthal, opens="08:00", closes="12:00", counter=counter))
    assert first.status_code == 302

    response = anna.post(url, hours_data(demo.frankenthal, opens="10:00", closes="14:00", counter=counter))

    assert response.status_code == 200
    assert "These hours overlap 08:00–12:00 on the same day." in response.content.decode()
    saturday = OpeningHours.objects.filter(office=demo.frankenthal, weekday=5, counter=counter)
    assert list(saturday.values_list("opens", "closes")) == [(dt.time(8), dt.time(12))]


def test_valid_opening_hours_are_saved(anna, demo):
    """Adjacent hours on the same day, and a counter's own hours beside the office's, are accepted."""
    url = reverse("admin:offices_openinghours_add")
    counter = demo.frankenthal.counters.get(name="Schalter 1")

    responses = [
        anna.post(url, hours_data(demo.frankenthal, opens="08:00", closes="12:00")),
        anna.post(url, hours_data(demo.frankenthal, opens="12:00", closes="14:00")),
        anna.post(url, hours_data(demo.frankenthal, opens="09:00", closes="13:00", counter=counter)),
    ]

    assert [r.status_code for r in responses] == [302, 302, 302]
    saturday = OpeningHours.objects.filter(office=demo.frankenthal, weekday=5)
    assert sorted(saturday.values_list("counter__name", "opens", "closes"), key=str) == sorted(
        [(None, dt.time(8), dt.time(12)), (None, dt.time(12), dt.time(14)), ("Schalter 1", dt.time(9), dt.time(13))],
        key=str,
    )


def test_overlapping_rows_on_a_new_office_page_are_refused(anna, demo):
    """Two overlapping rows entered together on the office page are refused: neither the office
    nor any of its hours are saved."""
    data = office_data(
        administration=demo.rpk.pk,
        opening_hours=[("0", "08:00", "12:00"), ("0", "11:00", "15:00"), ("1", "08:00", "12:00")],
    )

    response = anna.post(reverse("admin:offices_office_add"), data)

    assert response.status_code == 200
    assert "Two rows of the office&#x27;s hours overlap on Monday: 08:00–12:00 and 11:00–15:00." in (
        response.content.decode()
    )
    assert not Office.objects.filter(slug="testhausen").exists()
    assert not OpeningHours.objects.filter(office__slug="testhausen").exists()


def test_overlapping_rows_on_an_existing_office_page_are_refused(anna, demo):
    """On the page of an existing office, two new overlapping rows are refused, and so is one new
    row overlapping hours already saved; the office's hours stay as they were."""
    office = demo.frankenthal
    url = reverse("admin:offices_office_change", args=[office.pk])
    before = sorted(office.opening_hours.values_list("weekday", "opens", "closes"))

    among_rows = anna.post(
        url, change_office_data(office, opening_hours=[("5", "09:00", "11:00"), ("5", "10:30", "12:00")])
    )
    with_saved = anna.post(url, change_office_data(office, opening_hours=[("0", "11:00", "13:00")]))

    assert among_rows.status_code == 200
    assert "Two rows of the office&#x27;s hours overlap on Saturday: 09:00–11:00 and 10:30–12:00." in (
        among_rows.content.decode()
    )
    assert with_saved.status_code == 200
    assert "These hours overlap 08:00–12:00 on the same day." in with_saved.content.decode()
    assert sorted(office.opening_hours.values_list("weekday", "opens", "closes")) == before


def test_valid_rows_on_the_office_page_are_saved(anna, demo):
    """A new office with non-overlapping hours is saved with all its rows."""
    data = office_data(
        administration=demo.rpk.pk,
        opening_hours=[("0", "08:00", "12:00"), ("0", "13:00", "15:00"), ("1", "08:00", "12:00")],
    )

    response = anna.post(reverse("admin:offices_office_add"), data)

    assert response.status_code == 302
    office = Office.objects.get(slug="testhausen")
    assert sorted(office.opening_hours.values_list("weekday", "opens", "closes")) == [
        (0, dt.time(8), dt.time(12)),
        (0, dt.time(13), dt.time(15)),
        (1, dt.time(8), dt.time(12)),
    ]


# --- services -----------------------------------------------------------------------------------


def service_data(**overrides):
    return {
        "name_de": "Testanliegen",
        "name_en": "Test concern",
        "slug": "testanliegen",
        "description_de": "",
        "description_en": "",
        "position": "100",
        "minutes_first_vehicle": "10",
        "minutes_per_extra_vehicle": "5",
        "max_vehicles": "3",
        "bookable_online": "on",
        "_save": "Save",
        **overrides,
    }


def test_a_service_without_duration_is_refused(anna, demo):
    """A service lasting 0 minutes could never be booked sensibly: refused, nothing saved."""
    response = anna.post(reverse("admin:offices_service_add"), service_data(minutes_first_vehicle="0"))

    assert response.status_code == 200
    assert "A service needs a duration of at least one minute." in response.content.decode()
    assert not Service.objects.filter(slug="testanliegen").exists()


def test_a_valid_service_is_saved_with_its_offices_and_documents(anna, demo):
    """A service with a duration is saved, with the offices and documents chosen."""
    documents = list(demo.neuzulassung.documents.all()[:2])
    data = service_data(offices=[demo.frankenthal.pk], documents=[d.pk for d in documents])

    response = anna.post(reverse("admin:offices_service_add"), data)

    assert response.status_code == 302
    service = Service.objects.get(slug="testanliegen")
    assert service.minutes_for(2) == 15
    assert list(service.offices.all()) == [demo.frankenthal]
    assert set(service.documents.all()) == set(documents)


# --- closures -----------------------------------------------------------------------------------


def closure_data(office, **overrides):
    return {
        "office": office.pk,
        "counter": "",
        "start_date": "2027-02-08",
        "end_date": "2027-02-09",
        "start_time": "",
        "end_time": "",
        "reason": "Fastnacht",
        "_save": "Save",
        **overrides,
    }


def test_a_closure_ending_before_it_starts_is_refused(anna, demo):
    """A closure whose last day lies before its first day is refused; nothing is saved."""
    response = anna.post(reverse("admin:offices_closure_add"), closure_data(demo.schifferstadt, end_date="2027-02-07"))

    assert response.status_code == 200
    assert "The closure must not end before it starts." in response.content.decode()
    assert not Closure.objects.exists()


def test_a_valid_closure_is_saved(anna, demo):
    """A closure of one counter for part of a day is saved as entered."""
    counter = demo.schifferstadt.counters.get(name="Schalter 2")
    data = closure_data(demo.schifferstadt, counter=counter.pk, start_time="10:00", end_time="11:30", reason="Schulung")

    response = anna.post(reverse("admin:offices_closure_add"), data)

    assert response.status_code == 302
    closure = Closure.objects.get()
    assert (closure.counter, closure.start_time, closure.end_time) == (counter, dt.time(10), dt.time(11, 30))


# --- openings on public holidays ----------------------------------------------------------------


def test_a_holiday_opening_on_an_ordinary_day_is_refused(anna, demo):
    """Opening 'on a holiday' that is no public holiday in Rhineland-Palatinate is refused."""
    response = anna.post(
        reverse("admin:offices_holidayopening_add"),
        {"office": demo.frankenthal.pk, "date": "2027-05-26", "note": "", "_save": "Save"},
    )

    assert response.status_code == 200
    assert "This day is not a public holiday in Rhineland-Palatinate." in response.content.decode()
    assert not HolidayOpening.objects.exists()


def test_a_holiday_opening_on_fronleichnam_is_saved(anna, demo):
    """Fronleichnam (27 May 2027) is a public holiday in Rhineland-Palatinate: the opening is saved."""
    response = anna.post(
        reverse("admin:offices_holidayopening_add"),
        {"office": demo.frankenthal.pk, "date": "2027-05-27", "note": "Sonderöffnung", "_save": "Save"},
    )

    assert response.status_code == 302
    assert HolidayOpening.objects.get().date == dt.date(2027, 5, 27)


# --- the pages render ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        "administration",
        "municipality",
        "office",
        "counter",
        "openinghours",
        "closure",
        "holidayopening",
        "document",
        "service",
        "cooperationrule",
    ],
)
def test_every_list_and_add_page_opens(anna, demo, model):
    """Each model's list page and add page open for an administrator."""
    assert anna.get(reverse(f"admin:offices_{model}_changelist")).status_code == 200
    assert anna.get(reverse(f"admin:offices_{model}_add")).status_code == 200


def test_office_page_offers_only_its_own_counters(anna, demo):
    """On Frankenthal's page, hours and closures can be given to Frankenthal's counters only."""
    response = anna.get(reverse("admin:offices_office_change", args=[demo.frankenthal.pk]))

    assert response.status_code == 200
    inline = next(f for f in response.context["inline_admin_formsets"] if f.formset.model is OpeningHours)
    offered = set(inline.formset.empty_form.fields["counter"].queryset)
    assert offered == set(Counter.objects.filter(office=demo.frankenthal))
    assert len(offered) == 3
