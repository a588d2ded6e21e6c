"""Health for two audiences. `/healthz` asks whether this web process can serve (its database
answers): the load balancer's question. `/healthz/full` asks whether the whole installation is
well (database, broker, the sweep, mail): the monitor's question.

Each check waits at most HEALTH_CHECK_TIMEOUT_SECONDS and tries once; a failing check is an
answer, never a 500. The JSON names every check with its value and lists the ones that fail.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import connection, transaction
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from appointments.models import Heartbeat, Notification
from ikz_portal import clock


def _failing(exc: Exception) -> str:
    # The class only: messages can carry host names and user names.
    return f"failing: {type(exc).__name__}"


def check_database() -> str:
    """One round trip, cut off by the server after the health timeout (SET LOCAL holds for this
    transaction only); an unreachable server fails after the connect timeout of the settings."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL statement_timeout = %s", [settings.HEALTH_CHECK_TIMEOUT_SECONDS * 1000])
        cursor.execute("SELECT 1")
    return "ok"


def check_broker() -> str:
    """Connect to the broker once, with the health timeout for connecting and for each reply (the
    app's own settings may retry for much longer)."""
    from ikz_portal.celery import app

    if app.conf.task_always_eager:
        return "in-process"
    timeout = settings.HEALTH_CHECK_TIMEOUT_SECONDS
    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout, "max_retries": 0}
    with app.connection_for_write(connect_timeout=timeout, transport_options=options) as conn:
        conn.ensure_connection(max_retries=0, timeout=timeout)
    return "ok"


def sweep_age_seconds(now: dt.datetime) -> int | None:
    """Seconds since the last outbox sweep; None when there has never been one."""
    last = Heartbeat.objects.filter(name="sweep").values_list("at", flat=True).first()
    return None if last is None else int((now - last).total_seconds())


def failed_mails(now: dt.datetime) -> int:
    """Messages given up on within the window. A failed message keeps its row (the admin lists it
    and can send it again); after the window it no longer holds the monitor at failing."""
    since = now - dt.timedelta(hours=settings.HEALTH_FAILED_MAILS_WINDOW_HOURS)
    # A message that failed for good carries the time of its last attempt as due_at.
    return Notification.objects.filter(state=Notification.State.FAILED, due_at__gte=since).count()


def overdue_mails(now: dt.datetime) -> int:
    """Unsent messages that have been due longer than the allowed delay: no worker sends them.
    A message waiting for its next attempt after a refusal is due later, so it does not count."""
    cutoff = now - dt.timedelta(seconds=settings.HEALTH_MAIL_MAX_DELAY_SECONDS)
    return Notification.objects.filter(state=Notification.State.PENDING, due_at__lt=cutoff).count()


def _run(check, *args):
    try:
        return True, check(*args)
    except Exception as exc:  # noqa: BLE001 - any failure is the answer here
        return False, _failing(exc)


def _answer(body: dict, failing: list[str]) -> JsonResponse:
    body = {"status": "failing" if failing else "ok", **body, "failing": failing}
    return JsonResponse(body, status=503 if failing else 200)


@never_cache
def healthz(request):
    """The load balancer's check: 200 while this process can reach its database, else 503.
    Broker and sweep are reported but never fail it: without them the portal still books."""
    now = clock.now()
    database_ok, database = _run(check_database)
    _, broker = _run(check_broker)
    body = {"database": database, "broker": broker, "last_sweep_age_seconds": None}
    if database_ok:
        # A failure here is reported, not fatal: the database answered a moment ago.
        sweep_ok, age = _run(sweep_age_seconds, now)
        body["last_sweep_age_seconds"] = age if sweep_ok else None
    return _answer(body, [] if database_ok else ["database"])


@never_cache
def healthz_full(request):
    """The monitor's check: 503 when the database or the broker is unreachable, the last sweep is
    too old (or never ran), or mail failed or waits too long."""
    now = clock.now()
    failing = []
    database_ok, database = _run(check_database)
    broker_ok, broker = _run(check_broker)
    body = {"database": database, "broker": broker}
    if not database_ok:
        failing.append("database")
    if not broker_ok:
        failing.append("broker")
    limits = {
        "last_sweep_age_seconds": (sweep_age_seconds, settings.HEALTH_SWEEP_MAX_AGE_SECONDS),
        "failed_mails": (failed_mails, settings.HEALTH_FAILED_MAILS_MAX),
        "overdue_mails": (overdue_mails, 0),
    }
    for name, (check, limit) in limits.items():
        if not database_ok:
            # Without the database these cannot be read; one failure is reported once.
            body[name] = None
            continue
        ok, value = _run(check, now)
        body[name] = value
        if not ok or value is None or value > limit:
            failing.append(name)
    body["limits"] = {
        "last_sweep_age_seconds": settings.HEALTH_SWEEP_MAX_AGE_SECONDS,
        "failed_mails": settings.HEALTH_FAILED_MAILS_MAX,
        "mail_max_delay_seconds": settings.HEALTH_MAIL_MAX_DELAY_SECONDS,
    }
    return _answer(body, failing)
