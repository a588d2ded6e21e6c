"""The error codes are one enumeration (appointments.errors.ErrorCode) shared by the services, the
pages and the API: every code a service raises is a member with an HTTP status in the API's map, the
OpenAPI document lists the codes the API answers with, and their spelling on the wire stays as
published."""

import ast
from pathlib import Path

import pytest
from django.test import Client

from appointments.api.errors import ERROR_STATUS, HTTP_LAYER_STATUS
from appointments.errors import STAFF_CODES, ErrorCode, PortalError

APPOINTMENTS = Path(__file__).resolve().parents[2] / "appointments"

# The codes of the public API as other programs see them. A renamed or dropped code breaks them.
PUBLISHED_CODES = {
    "invalid",
    "unknown",
    "invalid_time",
    "too_many_vehicles",
    "outside_area",
    "not_bookable_online",
    "service_not_offered",
    "not_allowed",
    "range_too_long",
    "captcha_invalid",
    "bad_token",
    "not_found",
    "slot_taken",
    "invalid_state",
    "already_submitted",
    "same_time",
    "too_many_bookings",
    "expired",
    "rate_limited",
    "too_many_unconfirmed",
    "method_not_allowed",
    "too_large",
    "unsupported_media_type",
    "service_unavailable",
    "error",
}


def error_classes() -> set[str]:
    """PortalError and every subclass of it defined in appointments/ (BookingError, ClerkError, …)."""
    names = {"PortalError"}
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in APPOINTMENTS.rglob("*.py")]
    grew = True
    while grew:
        grew = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {
                        base.id if isinstance(base, ast.Name) else getattr(base, "attr", "") for base in node.bases
                    }
                    if bases & names:
                        names.add(node.name)
                        grew = True
    return names


def raised_codes() -> dict[str, list[str]]:
    """The code argument of every construction of a PortalError in appointments/, as written, with
    where it is written."""
    classes = error_classes()
    found: dict[str, list[str]] = {}
    for path in APPOINTMENTS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            function = node.func
            name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", None)
            if name == "__init__" and isinstance(function, ast.Attribute):  # PortalError.__init__(self, code, …)
                name = getattr(function.value, "id", None)
                arguments = node.args[1:]
            else:
                arguments = node.args
            if name not in classes:
                continue
            code = next((k.value for k in node.keywords if k.arg == "code"), arguments[0] if arguments else None)
            if code is None:  # RateLimited(retry_after=…), BudgetExceeded(…): their code is fixed inside
                continue
            where = f"{path.relative_to(APPOINTMENTS.parent)}:{node.lineno}"
            found.setdefault(ast.unparse(code), []).append(where)
    return found


def test_the_services_raise_members_of_the_enumeration():
    codes = raised_codes()
    assert codes, "the scan found no PortalError at all"
    not_members = {code: where for code, where in codes.items() if not code.startswith("ErrorCode.")}
    assert not not_members, f"codes written as strings or computed: {not_members}"
    for code in codes:
        assert code.removeprefix("ErrorCode.") in ErrorCode.__members__, code


def test_every_code_a_service_raises_has_an_http_status():
    raised = {ErrorCode[code.removeprefix("ErrorCode.")] for code in raised_codes()}
    raised |= {ErrorCode.RATE_LIMITED, ErrorCode.TOO_MANY_UNCONFIRMED}  # RateLimited, BudgetExceeded
    assert raised - set(ERROR_STATUS) == set()
    # And no code is left without a status anywhere: the HTTP layer answers the rest itself.
    assert set(ErrorCode) - set(ERROR_STATUS) - set(HTTP_LAYER_STATUS) == {ErrorCode.ERROR}


def test_a_code_outside_the_enumeration_fails_where_it_is_raised():
    with pytest.raises(ValueError):
        PortalError("no_such_code", "A typo must not reach a client.")
    error = PortalError("slot_taken", "Taken.")
    assert error.code is ErrorCode.SLOT_TAKEN and error.code == "slot_taken"


def test_the_api_codes_keep_their_published_spelling():
    assert {code.value for code in ErrorCode if code not in STAFF_CODES} == PUBLISHED_CODES


def test_the_openapi_document_lists_the_codes_and_their_statuses():
    document = Client().get("/api/v1/openapi.json").json()
    schemas = document["components"]["schemas"]
    for schema in ("ErrorOut", "ConflictOut"):
        assert set(schemas[schema]["properties"]["code"]["enum"]) == PUBLISHED_CODES, schema
    description = document["info"]["description"]
    for code in PUBLISHED_CODES:
        assert f"`{code}`" in description, code
    for code in STAFF_CODES:  # the clerks' codes never reach the API
        assert f"`{code}`" not in description, code
    assert "- 409: `slot_taken`" in description and "- 410: `expired`" in description


def test_error_answers_carry_the_plain_code():
    """The enumeration is invisible on the wire: the JSON carries the code as a plain string."""
    response = Client().get("/api/v1/municipalities", {"postcode": "12"})
    assert response.status_code == 400
    assert '"code": "invalid"' in response.content.decode() or '"code":"invalid"' in response.content.decode()
