"""Celery entry points: thin, the real work lives in the service modules."""

from celery import shared_task

from appointments.domain import booking, retention
from appointments.models import Heartbeat
from appointments.outbox import notifications
from appointments.security import captcha
from ikz_portal import clock


@shared_task(ignore_result=True)
def send_due_notifications():
    """Triggered after a commit that queued a message: send what is due now."""
    notifications.dispatch_started()
    return notifications.send_due(now=clock.now())


@shared_task(ignore_result=True)
def sweep():
    """Every minute on the beat: free expired holds, send due messages (reminders included),
    forget spent captcha solutions that have expired."""
    now = clock.now()
    booking.expire_stale(now=now)
    sent = notifications.send_due(now=now)
    captcha.forget_expired(now=now)
    Heartbeat.beat("sweep", clock.now())
    return sent


@shared_task(ignore_result=True)
def erase_personal_data():
    return retention.erase_personal_data(now=clock.now())
