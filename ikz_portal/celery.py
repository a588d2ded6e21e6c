"""The Celery app. Without a broker (the embedded default) tasks run in-process after commit."""
import gc
import os

from celery import Celery
from celery.signals import worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ikz_portal.settings")

app = Celery("ikz_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
@worker_process_init.connect
def freeze_startup_objects(**kwargs):
    """As in wsgi.py: what the worker set up lives as long as it does; keep it out of the garbage
    collector's full collections (the solo pool works in this process, prefork in children)."""
    gc.freeze()
