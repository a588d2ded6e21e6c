"""The Celery app. Without a broker (the embedded default) tasks run in-process after commit."""

import gc
import logging
import os

from celery import Celery
from celery.signals import worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ikz_portal.settings")

app = Celery("ikz_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

log = logging.getLogger(__name__)


@worker_ready.connect
@worker_process_init.connect
def freeze_startup_objects(**kwargs):
    """As in wsgi.py: what the worker set up lives as long as it does; keep it out of the garbage
    collector's full collections (the solo pool works in this process, prefork in children)."""
    gc.freeze()


@worker_ready.connect
def sweep_at_start(**kwargs):
    """A worker that starts sweeps once, in its own process, before it waits for the beat: a fresh
    installation (or one whose broker lost its queue) sends what is due and reports a recent sweep
    to /healthz within seconds, not after the first minute of beat. A failure is logged, never
    fatal: beat's next sweep tries again."""
    from django.db import connections

    from appointments.tasks import sweep

    try:
        sweep()
    except Exception:  # the worker must start even if this sweep fails
        log.exception("the sweep at worker start failed; beat's next sweep tries again")
    finally:
        # This runs in the main process, which forks replacement pool processes later: they must
        # not inherit its database connection.
        connections.close_all()
