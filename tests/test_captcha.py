"""The captcha before a hold (ALTCHA proof of work, self-hosted), on the pages and in the API.

The tests switch it on (it is on by default only in production) with a cheap proof of work, and
solve challenges with ALTCHA's own Python solver, as a script would. A browser without JavaScript
gets a small question instead; the test browser here has no JavaScript, so it sees the <noscript>
content. The clock (the `clock` fixture) stands at Tuesday, 1 December 2026, 07:00 in Berlin.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import time

import altcha
import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from appointments.models import Appointment, BlockedAttempt, Notification, Status
from appointments.security import captcha
from tests.appointments.test_pages import calendar_url, page_of, submit, text
from tests.conftest import berlin

START = "2026-12-01T09:00:00+01:00"
HOLD = {
    "service": "umschreibung",
    "vehicles": "1",
    "municipality": "frankenthal-pfalz",
    "office": "frankenthal",
    "start": START,
}


@pytest.fixture(autouse=True)
def captcha_on(settings):
    settings.CAPTCHA_ENABLED = True
    settings.CAPTCHA_COST = 1  # a real browser gets thousands of PBKDF2 rounds; the tests solve in Python
    settings.CAPTCHA_EXPIRE_MINUTES = 10
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def citizen(demo, clock):
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def solved(client: Client) -> str:
    """Fetch a challenge from the portal and solve it, as the widget does; the base64 payload."""
    response = client.get(reverse("appointments:captcha_challenge"))
    assert response.status_code == 200
    challenge = altcha.Challenge.from_dict(response.json())
    solution = altcha.solve_challenge(challenge, timeout=30)
    assert solution is not None
    return altcha.Payload(challenge, solution).to_base64()


def blocked() -> int:
    row = BlockedAttempt.objects.filter(reason="captcha").first()
    return row.count if row else 0


# --- the challenge --------------------------------------------------------------------------------


def test_the_challenge_is_signed_expires_and_is_never_cached(citizen):
    response = citizen.get("/captcha/challenge/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    body = response.json()
    parameters = body["parameters"]
    assert parameters["algorithm"] == "PBKDF2/SHA-256"
    assert parameters["keySignature"] and body["signature"]
    assert time.time() + 9 * 60 < parameters["expiresAt"] <= time.time() + 10 * 60 + 1
    # Two challenges are never the same.
    assert citizen.get("/captcha/challenge/").json()["parameters"]["nonce"] != parameters["nonce"]


def test_the_default_cost_makes_a_browser_work():
    """Without CAPTCHA_COST set: thousands of PBKDF2 rounds per attempt, thousands of attempts."""
    from ikz_portal import settings as portal_settings

    assert portal_settings.CAPTCHA_COST >= 1000
    assert captcha.COUNTER_RANGE[0] >= 1000 and captcha.COUNTER_RANGE[1] <= 20_000


# --- the calendar's slot forms ----------------------------------------------------------------------


def test_every_slot_form_carries_the_widget_and_a_no_javascript_flag(citizen):
    response = citizen.get(calendar_url())
    assert response.status_code == 200
    html = response.content.decode()
    page = page_of(response)
    slot_forms = {id(form): form for form, _button in page.slot_buttons()}.values()
    assert len(slot_forms) >= 2
    assert html.count("<altcha-widget") == len(page.forms) - 1  # every form but the language switch
    assert f'challenge="{reverse("appointments:captcha_challenge")}"' in html
    assert all(("captcha_nojs", "1") in form["hidden"] for form in slot_forms)
    # The widget and its styles and worker come from the portal itself.
    for asset in ("vendor/altcha/altcha.min.js", "vendor/altcha/altcha.css", "js/captcha.js"):
        assert f"/static/{asset}" in page.resources


def test_the_widget_keeps_the_strict_content_security_policy(citizen):
    """No inline script or style on the page, and the policy is not weakened for the widget."""
    response = citizen.get(calendar_url())
    html = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "<style" not in html and " style=" not in html
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe" not in policy and "blob:" not in policy


def test_the_vendored_widget_is_the_build_without_inline_styles_and_workers(citizen):
    script = b"".join(citizen.get("/static/vendor/altcha/altcha.min.js").streaming_content)
    assert b"altcha-widget" in script
    assert b'createElement("style")' not in script and b"new Blob" not in script
    worker = citizen.get("/static/vendor/altcha/workers/pbkdf2.js")
    assert worker.status_code == 200
    licence = b"".join(citizen.get("/static/vendor/altcha/LICENSE.txt").streaming_content)
    assert b"MIT License" in licence


def test_without_the_captcha_the_calendar_has_no_widget(citizen, settings):
    settings.CAPTCHA_ENABLED = False
    html = citizen.get(calendar_url()).content.decode()
    assert "altcha" not in html and "captcha_nojs" not in html


# --- holding with the widget's solution --------------------------------------------------------------


def test_a_solved_challenge_places_the_hold(citizen):
    response = citizen.post(reverse("appointments:hold"), {**HOLD, "altcha": solved(citizen)})
    assert response.status_code == 302
    assert Appointment.objects.get().status == Status.HELD
    assert blocked() == 0


def test_a_solution_counts_once(citizen):
    payload = solved(citizen)
    assert citizen.post(reverse("appointments:hold"), {**HOLD, "altcha": payload}).status_code == 302
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    again = other.post(reverse("appointments:hold"), {**HOLD, "start": "2026-12-01T09:15:00+01:00", "altcha": payload})
    assert again.status_code == 400
    assert Appointment.objects.count() == 1
    assert blocked() == 1


def tampered(payload: str, **changes) -> str:
    data = json.loads(base64.b64decode(payload))
    data["solution"].update(changes)
    return base64.b64encode(json.dumps(data).encode()).decode()


def expired_payload() -> str:
    challenge = altcha.create_challenge(
        captcha.ALGORITHM,
        1,
        counter=5,
        expires_at=int(time.time()) - 1,
        hmac_secret=captcha._secret("challenge"),
        hmac_key_secret=captcha._secret("key"),
    )
    return altcha.Payload(challenge, altcha.solve_challenge(challenge)).to_base64()


def foreign_payload() -> str:
    """Solved, but a challenge another site signed."""
    challenge = altcha.create_challenge(
        captcha.ALGORITHM,
        1,
        counter=5,
        expires_at=int(time.time()) + 600,
        hmac_secret="someone else",
        hmac_key_secret="someone else's key",
    )
    return altcha.Payload(challenge, altcha.solve_challenge(challenge)).to_base64()


def unsigned_key_payload() -> str:
    """Signed by us but without a key signature: a client could name any cost for it."""
    challenge = altcha.create_challenge(
        captcha.ALGORITHM, 1, expires_at=int(time.time()) + 600, hmac_secret=captcha._secret("challenge")
    )
    return altcha.Payload(challenge, altcha.solve_challenge(challenge)).to_base64()


@pytest.mark.parametrize(
    "make_payload",
    [
        lambda client: None,
        lambda client: "",
        lambda client: "not base64 at all %%%",
        lambda client: base64.b64encode(b"[1, 2, 3]").decode(),
        lambda client: base64.b64encode(b'{"challenge": "x", "solution": {}}').decode(),
        lambda client: base64.b64encode(
            json.dumps({"challenge": None, "solution": None, "test": True}).encode()
        ).decode(),
        lambda client: tampered(solved(client), derivedKey="00" * 32),
        lambda client: tampered(solved(client), derivedKey="not hex"),
        lambda client: "A" * 5000,
        lambda client: expired_payload(),
        lambda client: foreign_payload(),
        lambda client: unsigned_key_payload(),
    ],
    ids=[
        "missing",
        "empty",
        "garbage",
        "list",
        "wrong-shape",
        "widget-test-mode",
        "wrong-key",
        "non-hex-key",
        "too-long",
        "expired",
        "foreign",
        "unsigned-key",
    ],
)
def test_a_missing_or_wrong_solution_shows_the_calendar_again(citizen, make_payload):
    payload = make_payload(citizen)
    data = {**HOLD, **({"altcha": payload} if payload is not None else {})}
    response = citizen.post(reverse("appointments:hold"), data)
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert "automatic check that protects the appointments from programs did not succeed" in text(response)
    assert page_of(response).slot_buttons()  # the calendar, to choose again
    assert Appointment.objects.count() == 0
    assert blocked() == 1


def test_the_refusal_is_in_german_by_default(citizen):
    response = Client().post(reverse("appointments:hold"), HOLD)
    assert response.status_code == 400
    assert page_of(response).lang == "de"
    assert "Die automatische Prüfung" in text(response)


def test_the_captcha_can_be_switched_off(citizen, settings):
    settings.CAPTCHA_ENABLED = False
    assert citizen.post(reverse("appointments:hold"), HOLD).status_code == 302


# --- without JavaScript: the question -----------------------------------------------------------------


def question_of(response) -> tuple[dict, int]:
    page = page_of(response)
    form = next(f for f in page.forms if any(name == "captcha_question" for name, _value in f["hidden"]))
    first, second = map(int, re.search(r"How much is (\d) plus (\d)\?", text(response)).groups())
    return form, first + second


def test_a_browser_without_javascript_answers_a_question_and_gets_the_time(citizen, clock):
    clock.shift(-dt.timedelta(minutes=1))  # so that 09:00 is still bookable after the wait
    calendar = citizen.get(calendar_url())
    form, button = page_of(calendar).form_with_button("start")
    asked = submit(citizen, form, button)
    assert asked.status_code == 200
    assert Appointment.objects.count() == 0
    page = page_of(asked)
    assert page.h1 == ["One more step"]
    assert any(i.get("name") == "captcha_answer" and i.get("id") in page.labels for i in page.inputs)
    assert "Tuesday, 1 December 2026, 09:00" in text(asked)
    question_form, answer = question_of(asked)
    clock.shift(dt.timedelta(seconds=20))  # the wait before an answer counts (tests/test_captcha_nojs.py)
    held = submit(citizen, question_form, extra={"captcha_answer": str(answer)})
    assert held.status_code == 302
    assert held["Location"].endswith("/angaben/")
    assert Appointment.objects.get().start == berlin(2026, 12, 1, 9, 0)
    # The answered question counts once.
    again = submit(Client(HTTP_ACCEPT_LANGUAGE="en"), question_form, extra={"captcha_answer": str(answer)})
    assert again.status_code == 400
    assert Appointment.objects.count() == 1


def test_a_wrong_answer_asks_a_new_question(citizen, clock):
    clock.shift(-dt.timedelta(minutes=1))  # so that 09:00 is still bookable after two waits
    asked = citizen.post(reverse("appointments:hold"), {**HOLD, "captcha_nojs": "1"})
    question_form, answer = question_of(asked)
    clock.shift(dt.timedelta(seconds=20))
    wrong = submit(citizen, question_form, extra={"captcha_answer": str(answer + 1)})
    assert wrong.status_code == 400
    assert "That was not the right answer" in text(wrong)
    assert 'aria-invalid="true"' in wrong.content.decode()
    new_form, new_answer = question_of(wrong)
    assert new_form["hidden"] != question_form["hidden"]
    assert Appointment.objects.count() == 0
    assert blocked() == 1
    clock.shift(dt.timedelta(seconds=20))  # the new question has its own wait
    assert submit(citizen, new_form, extra={"captcha_answer": str(new_answer)}).status_code == 302


@pytest.mark.parametrize("token", ["", "forged", "x" * 600])
def test_a_forged_question_is_refused(citizen, token):
    response = citizen.post(
        reverse("appointments:hold"), {**HOLD, "captcha_question": token or "-", "captcha_answer": "7"}
    )
    assert response.status_code == 400
    assert Appointment.objects.count() == 0


# --- the API -------------------------------------------------------------------------------------------


def api_booking(client, **extra):
    body = {
        "services": ["umschreibung"],
        "vehicles": 1,
        "municipality": "frankenthal-pfalz",
        "office": "frankenthal",
        "start": START,
        "name": "Erika Mustermann",
        "email": "erika@example.org",
        "privacy_consent": True,
        **extra,
    }
    return client.post("/api/v1/bookings", json.dumps(body), content_type="application/json")


def test_api_booking_needs_a_solved_challenge(citizen):
    refused = api_booking(citizen)
    assert refused.status_code == 400
    assert refused.json()["code"] == "captcha_invalid"
    assert "altcha" in refused.json()["errors"]
    assert api_booking(citizen, altcha="garbage").json()["code"] == "captcha_invalid"
    assert not Appointment.objects.exists() and not Notification.objects.exists()
    assert blocked() == 2

    payload = solved(citizen)
    created = api_booking(citizen, altcha=payload)
    assert created.status_code == 201, created.json()
    reused = api_booking(citizen, altcha=payload, start="2026-12-01T09:15:00+01:00")
    assert reused.status_code == 400 and reused.json()["code"] == "captcha_invalid"
    assert Appointment.objects.count() == 1


def test_api_ignores_the_field_when_the_captcha_is_off(citizen, settings):
    settings.CAPTCHA_ENABLED = False
    assert api_booking(citizen).status_code == 201


def test_the_openapi_document_describes_the_captcha(citizen):
    schema = citizen.get("/api/v1/openapi.json").json()
    assert "altcha" in schema["components"]["schemas"]["BookingIn"]["properties"]
    assert "altcha" not in schema["components"]["schemas"]["BookingIn"].get("required", [])
    assert "captcha_invalid" in schema["info"]["description"]
    assert "/captcha/challenge/" in schema["paths"]["/api/v1/bookings"]["post"]["description"]
