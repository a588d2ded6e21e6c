"""Without JavaScript, the captcha costs a program time: a wait the server sets, and a lower budget.

A regular expression answers "How much is 5 plus 2?"; what it cannot skip is the wait. The signed
question carries the moment it was issued, and an answer counts only CAPTCHA_NOJS_WAIT_SECONDS later.
An answer sent too early gets the same question back with what was typed and the seconds left,
unchecked. Answers on this path are rate-limited per client address (RATE_LIMIT_NOJS). The page says
how long to wait and why, and the accessibility statement explains the check.
The clock (the `clock` fixture) stands at Tuesday, 1 December 2026, 07:00 in Berlin.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from appointments.models import Appointment
from appointments.security import captcha
from tests.appointments.test_pages import page_of, submit, text

HOLD = {
    "service": "umschreibung",
    "vehicles": "1",
    "municipality": "frankenthal-pfalz",
    "office": "frankenthal",
    "start": "2026-12-01T10:00:00+01:00",
}


@pytest.fixture(autouse=True)
def captcha_on(settings):
    settings.CAPTCHA_ENABLED = True
    settings.CAPTCHA_COST = 1
    settings.CAPTCHA_EXPIRE_MINUTES = 10
    settings.CAPTCHA_NOJS_WAIT_SECONDS = 20
    settings.RATE_LIMIT_NOJS = "5/h"
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def citizen(demo, clock):
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def ask(client: Client, **headers):
    """Pick a time without JavaScript; the page with the question, its form and the right answer."""
    response = client.post(reverse("appointments:hold"), {**HOLD, "captcha_nojs": "1"}, **headers)
    assert response.status_code == 200
    form = next(f for f in page_of(response).forms if any(n == "captcha_question" for n, _v in f["hidden"]))
    first, second = map(int, re.search(r"(?:How much is|Wie viel ist) (\d) plus (\d)\?", text(response)).groups())
    return response, form, first + second


def test_the_page_says_how_long_to_wait_and_why(citizen):
    asked, _form, _answer = ask(citizen)
    assert "Please wait 20 seconds after this page appeared before you send your answer." in text(asked)
    html = asked.content.decode()
    field = re.search(r"<input[^>]*name=\"captcha_answer\"[^>]*>", html).group(0)
    assert "id_captcha_answer_wait" in field  # read out with the field
    assert "<img" not in html.split("<main", 1)[1].split("</main>", 1)[0]  # no picture puzzle
    assert 'http-equiv="refresh"' not in html


def test_an_immediate_right_answer_is_not_accepted(citizen):
    """What a script does: read the sum, send it at once."""
    _asked, form, answer = ask(citizen)
    response = submit(citizen, form, extra={"captcha_answer": str(answer)})
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_too_early_shows_the_same_question_with_the_answer_kept_and_the_seconds_left(citizen, clock):
    _asked, form, answer = ask(citizen)
    clock.shift(dt.timedelta(seconds=12))
    early = submit(citizen, form, extra={"captcha_answer": str(answer)})
    assert early.status_code == 400
    assert "Please wait 8 more seconds, then send your answer again. Your answer has been kept." in text(early)
    html = early.content.decode()
    assert 'aria-invalid="true"' in html and 'id="error-summary"' in html
    assert f'value="{answer}"' in html
    _again, same_form, _same = ask_form(early)
    # The same question: the wait is not restarted.
    assert dict(same_form["hidden"])["captcha_question"] == dict(form["hidden"])["captcha_question"]
    clock.shift(dt.timedelta(seconds=8))
    held = submit(citizen, same_form, extra={"captcha_answer": str(answer)})
    assert held.status_code == 302
    assert Appointment.objects.count() == 1


def ask_form(response):
    form = next(f for f in page_of(response).forms if any(n == "captcha_question" for n, _v in f["hidden"]))
    return response, form, None


def test_one_second_left_is_said_in_the_singular_and_in_german(demo, clock):
    german = Client()
    _asked, form, answer = ask(german)
    clock.shift(dt.timedelta(seconds=19))
    early = submit(german, form, extra={"captcha_answer": str(answer)})
    assert "Bitte warten Sie noch 1 Sekunde und senden Sie Ihre Antwort dann erneut ab." in text(early)


def test_the_wait_is_in_the_signed_token_not_in_the_session(citizen, clock):
    """Another browser (or a script without cookies) sending the same token waits just the same; a
    token cannot be made to look older."""
    _asked, form, answer = ask(citizen)
    stranger = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert submit(stranger, form, extra={"captcha_answer": str(answer)}).status_code == 400
    token = dict(form["hidden"])["captcha_question"]
    assert captcha.seconds_to_wait(captcha.read_question(token)) == 20
    assert captcha.read_question(token[:-2] + "xx") is None
    clock.shift(dt.timedelta(seconds=20))
    response = submit(stranger, form, extra={"captcha_answer": str(answer)})
    assert response.status_code == 302, text(response)


def test_a_wrong_answer_after_the_wait_costs_a_new_wait(citizen, clock):
    _asked, form, answer = ask(citizen)
    clock.shift(dt.timedelta(seconds=20))
    wrong = submit(citizen, form, extra={"captcha_answer": str(answer + 1)})
    assert wrong.status_code == 400 and "That was not the right answer" in text(wrong)
    _again, new_form, _none = ask_form(wrong)
    new_answer = sum(map(int, re.search(r"How much is (\d) plus (\d)\?", text(wrong)).groups()))
    assert submit(citizen, new_form, extra={"captcha_answer": str(new_answer)}).status_code == 400
    clock.shift(dt.timedelta(seconds=20))
    assert submit(citizen, new_form, extra={"captcha_answer": str(new_answer)}).status_code == 302


def test_answers_without_javascript_have_a_lower_budget_per_address(citizen, clock, settings):
    """Five answered questions an hour from one address; the sixth is refused with Retry-After even
    when it is right and on time. Early answers are not counted."""
    questions = [ask(citizen) for _ in range(6)]
    submit(citizen, questions[0][1], extra={"captcha_answer": "0"})  # too early: not counted
    clock.shift(dt.timedelta(seconds=20))
    for _asked, form, answer in questions[:5]:
        assert submit(citizen, form, extra={"captcha_answer": str(answer)}).status_code == 302
    _asked, form, answer = questions[5]
    refused = submit(citizen, form, extra={"captcha_answer": str(answer)})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert Appointment.objects.count() == 5
    # Another address has its own budget.
    other = Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR="192.0.2.77")
    _asked, form, answer = ask(other)
    clock.shift(dt.timedelta(seconds=20))
    assert submit(other, form, extra={"captcha_answer": str(answer)}).status_code == 302


def test_the_wait_never_outlasts_the_question(settings):
    settings.CAPTCHA_EXPIRE_MINUTES = 2
    settings.CAPTCHA_NOJS_WAIT_SECONDS = 600
    assert captcha.wait_seconds() == 60


@pytest.mark.parametrize(
    "language, words",
    [
        ("en", ["Without JavaScript", "add two small numbers", "wait 20 seconds", "picture puzzle"]),
        ("de", ["Ohne JavaScript", "zwei kleine Zahlen zu addieren", "20 Sekunden zu warten", "Bilderrätsel"]),
    ],
)
def test_the_accessibility_statement_explains_the_check(db, language, words):
    response = Client(HTTP_ACCEPT_LANGUAGE=language).get("/barrierefreiheit/")
    assert response.status_code == 200
    for phrase in words:
        assert phrase in text(response)
