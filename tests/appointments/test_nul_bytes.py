"""Text that PostgreSQL cannot store (NUL characters) is refused with a 400, never a 500."""

import pytest

from appointments.models import Appointment

BOOKING = {
    "services": ["umschreibung"],
    "vehicles": 1,
    "municipality": "frankenthal-pfalz",
    "office": "frankenthal",
    "start": "2026-12-03T09:00:00+01:00",
    "name": "Erika Mustermann",
    "email": "erika@example.org",
    "privacy_consent": True,
}


@pytest.mark.parametrize(
    "field,value",
    [
        ("services", ["umschreib\x00ung"]),
        ("municipality", "franken\x00thal"),
        ("office", "frank\x00enthal"),
        ("name", "Erika\x00Mustermann"),
    ],
)
def test_nul_characters_are_a_clear_400(client, demo, field, value):
    response = client.post("/api/v1/bookings", {**BOOKING, field: value}, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json().get("errors", {})
    assert not Appointment.objects.exists()


def test_nul_in_a_slot_search_is_a_400(client, demo):
    response = client.get(
        "/api/v1/slots", {"service": "umschreib\x00ung", "vehicles": 1, "municipality": "frankenthal-pfalz"}
    )
    assert response.status_code == 400
