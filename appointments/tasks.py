"""Celery entry points: thin, ids in, the real work in the service modules."""
from celery import shared_task
from django.utils import timezone

from . import booking, notifications


@shared_task(ignore_result=True)
def send_due_notifications():
    return notifications.send_due(now=timezone.now())


@shared_task(ignore_result=True)
def expire_stale_bookings():
    return booking.expire_stale(now=timezone.now())
