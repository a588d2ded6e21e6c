"""Without JavaScript, the captcha costs a program time: a wait the server sets, and a lower budget.

A regular expression answers "How much is 5 plus 2?"; what it cannot skip is the wait. The signed
question carries the moment it was issued, and an answer counts only CAPTCHA_NOJS_WAIT_SECONDS later.
An answer sent too early gets the same question back with what was typed and the seconds left,
unchecked. Answers on this path are rate-limited per client address (RATE_LIMIT_NOJS). The page says
how long to wait and why, and the accessibility statement explains the check.
The question page keeps what the citizen chose: the request, the office filter and the day travel
with its form (and with a new question after a wrong answer), "choose another time" returns to that
calendar, and a time taken meanwhile answers with the calendar as filtered. Its form is rendered by
the portal's crispy pack like every other form with fields.
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
from tests.appointments.test_pages import calendar_url, occupy_all_counters, page_of, submit, text
from tests.conftest import berlin

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


# --- what the question page carries -----------------------------------------------------------


def current_filter(response) -> str:
    """The office filter marked as the current one on a calendar page."""
    match = re.search(r'<a href="([^"]+)" aria-current="true">', response.content.decode())
    return match.group(1) if match else ""


def question_from_calendar(client, **params):
    """Without JavaScript, choose the first time of the day's list in the calendar; the question page."""
    calendar = client.get(calendar_url(**params))
    assert calendar.status_code == 200
    form, button = page_of(calendar).slot_buttons()[1]  # the first time of the day, after the earliest
    assert ("captcha_nojs", "1") in form["hidden"]  # the calendar's <noscript> flag
    asked = submit(client, form, button)
    assert asked.status_code == 200 and "How much is" in text(asked)
    return asked, button["value"]


def test_the_question_keeps_the_office_filter_the_request_and_the_day(citizen, demo, clock):
    asked, start = question_from_calendar(
        citizen, office="frankenthal", date="2026-12-03", service=["umschreibung", "adressaenderung"], vehicles="2"
    )
    assert start.startswith("2026-12-03")
    _page, form, _answer = ask_form(asked)
    hidden = form["hidden"]
    assert ("filter", "frankenthal") in hidden
    assert {("service", "umschreibung"), ("service", "adressaenderung"), ("vehicles", "2")} <= set(hidden)
    assert ("municipality", "frankenthal-pfalz") in hidden and ("start", start) in hidden
    # "Choose another time" (and the language switch) lead back to the same calendar, filter and day.
    back = next(link for link in page_of(asked).links if link.startswith(reverse("appointments:calendar")))
    assert "office=frankenthal" in back and "date=2026-12-03" in back and "vehicles=2" in back
    assert "service=adressaenderung" in back
    calendar = citizen.get(back)
    assert calendar.status_code == 200 and "office=frankenthal" in current_filter(calendar)

    # A wrong answer: a new question, still with the filter.
    clock.shift(dt.timedelta(seconds=20))
    wrong = submit(citizen, form, extra={"captcha_answer": "99"})
    assert wrong.status_code == 400
    _page, new_form, _none = ask_form(wrong)
    assert ("filter", "frankenthal") in new_form["hidden"]


def test_a_time_taken_while_answering_shows_the_calendar_as_filtered(citizen, demo, clock):
    asked, start = question_from_calendar(citizen, office="frankenthal")
    _page, form, _answer = ask_form(asked)
    answer = sum(map(int, re.search(r"How much is (\d) plus (\d)\?", text(asked)).groups()))
    taken_at = dt.datetime.fromisoformat(start)
    assert taken_at == berlin(2026, 12, 1, 9)
    occupy_all_counters(demo.frankenthal, taken_at, [demo.umschreibung], demo.frankenthal_citizen_home)
    clock.shift(dt.timedelta(seconds=20))
    response = submit(citizen, form, extra={"captcha_answer": str(answer)})
    # Every counter taken: the time is no longer offered, and the calendar comes back as filtered.
    assert response.status_code == 400
    assert "This time can no longer be booked online." in text(response)
    assert "office=frankenthal" in current_filter(response)
    assert Appointment.objects.count() == demo.frankenthal.counters.count()  # only the others' holds


def test_a_failed_automatic_check_keeps_the_office_filter(citizen):
    """With JavaScript, a missing or wrong proof of work shows the calendar again, as filtered."""
    response = citizen.post(reverse("appointments:hold"), {**HOLD, "filter": "frankenthal", "altcha": "forged"})
    assert response.status_code == 400
    assert "office=frankenthal" in current_filter(response)


def test_the_question_is_a_crispy_form_with_its_hints_and_errors(citizen, clock):
    asked, form, answer = ask(citizen)
    html = asked.content.decode()
    field = re.search(r"<input[^>]*name=\"captcha_answer\"[^>]*>", html).group(0)
    assert 'aria-describedby="id_captcha_answer_hint id_captcha_answer_wait"' in field
    assert 'inputmode="numeric"' in field and 'autocomplete="off"' in field and 'maxlength="3"' in field
    assert '<label class="kern-label" for="id_captcha_answer">How much is' in html
    assert 'id="id_captcha_answer_hint"' in html and 'id="id_captcha_answer_wait"' in html
    assert "error-summary" not in html and "aria-invalid" not in field

    clock.shift(dt.timedelta(seconds=5))
    early = submit(citizen, form, extra={"captcha_answer": str(answer)})
    html = early.content.decode()
    field = re.search(r"<input[^>]*name=\"captcha_answer\"[^>]*>", html).group(0)
    assert 'aria-describedby="id_captcha_answer_hint id_captcha_answer_wait id_captcha_answer_error"' in field
    assert 'aria-invalid="true"' in field and f'value="{answer}"' in field
    # The summary links to the field; the message is also at the field.
    assert '<a href="#id_captcha_answer">Please wait 15 more seconds' in html
    assert 'id="id_captcha_answer_error"' in html
    assert "<title>Error:" in html
