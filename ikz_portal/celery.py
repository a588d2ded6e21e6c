"""The Celery app. Without a broker (the embedded default) tasks run in-process after commit."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ikz_portal.settings")

app = Celery("ikz_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
