"""Schemathesis against the API's own OpenAPI document (/api/v1/openapi.json), in-process through the
portal's WSGI application: for every operation it generates requests from the schema (valid ones and
ones that break it) and checks that none ends in a server error.

Bounded for CI: a few dozen examples per operation, no deadline. Run it longer with
SCHEMATHESIS_EXAMPLES=500 make test ARGS=tests/test_openapi_fuzz.py. The clock stands at Tuesday,
1 December 2026, 07:00 (the `clock` fixture), so that the demo's slots exist.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from appointments.models import Appointment, Notification

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))


@pytest.fixture
def api_schema(demo, clock, settings):
    from ikz_portal.wsgi import application

    settings.BOOKING_RATE_LIMIT = "100000/h"
    cache.clear()
    # Like Django's test client: a request must not close the test's database connection (it would
    # end the transaction that every test runs in).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
        cache.clear()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_request_the_schema_allows_or_breaks_ends_in_a_server_error(api_schema, mode):
    """Every operation of the document, with requests that fit the schema and ones that break it.
    (schemathesis' own pytest plugin is not used: its lazy loader does not work with pytest 9.)"""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 9

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @hypothesis_settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def call(case):
            before = (Appointment.objects.count(), Notification.objects.count())
            response = case.call_and_validate(checks=[not_a_server_error])
            if response.status_code >= 400:
                assert (Appointment.objects.count(), Notification.objects.count()) == before, case.as_curl_command()

        try:
            call()
        except Unsatisfiable:
            assert mode == GenerationMode.NEGATIVE, operation.label  # nothing to break: no parameters
        except (Exception, BaseExceptionGroup) as error:
            raise AssertionError(f"{operation.label} ({mode}): {error}") from error
