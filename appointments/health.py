"""/healthz for a load balancer: database, broker and the age of the last outbox sweep."""
from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from ikz_portal import clock

from .models import Heartbeat


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def check_broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "in-process"
    from ikz_portal.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
    return "ok"


@never_cache
def healthz(request):
    checks, healthy = {}, True
    for name, check in (("database", check_database), ("broker", check_broker)):
        try:
            checks[name] = check()
        except Exception as exc:  # noqa: BLE001 - any failure is the answer here
            checks[name] = f"failing: {type(exc).__name__}"
            healthy = False
    try:
        last = Heartbeat.objects.filter(name="sweep").values_list("at", flat=True).first()
    except Exception:  # noqa: BLE001 - the database check above already reports why
        last = None
    if last is None:
        checks["last_sweep_age_seconds"] = None
        healthy = False
    else:
        age = int((clock.now() - last).total_seconds())
        checks["last_sweep_age_seconds"] = age
        if age > settings.HEALTH_SWEEP_MAX_AGE_SECONDS:
            healthy = False
    checks["status"] = "ok" if healthy else "failing"
    return JsonResponse(checks, status=200 if healthy else 503)
