"""The background side: the sweep, data erasure, and mail that survives outages."""

import datetime as dt
import os
from contextlib import contextmanager

import pytest
from django.core import mail
from kombu import pools as kombu_pools

from appointments import tasks
from appointments.domain import booking, retention
from appointments.models import Appointment, Heartbeat, Notification, Status
from appointments.outbox import notifications
from ikz_portal.celery import app as celery_app
from tests.conftest import berlin

NOW = berlin(2026, 12, 1, 7, 0)
START = berlin(2026, 12, 3, 8, 0)


@contextmanager
def celery_broker(url, **conf):
    """Point the Celery app at a real broker for the duration (pools are rebuilt both ways)."""
    saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager", *conf)}

    def reset():
        celery_app.pool.force_close_all()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        kombu_pools.reset()

    reset()
    celery_app.conf.update(broker_url=url, task_always_eager=False, **conf)
    try:
        yield
    finally:
        reset()
        celery_app.conf.update(saved)


def book(demo, start=START, email="erika@example.org"):
    return booking.book(
        office=demo.frankenthal,
        start=start,
        services=[demo.umschreibung],
        vehicles=1,
        municipality=demo.lambsheim_citizen_home,
        name="Erika Mustermann",
        email=email,
        phone="0621 123456",
        privacy_consent=True,
        now=NOW,
    )


def confirmed(demo, **kwargs):
    appointment = book(demo, **kwargs)
    token = Notification.objects.get(appointment=appointment, kind=Notification.Kind.OPT_IN).payload["token"]
    return booking.confirm_booking(appointment=appointment, token=token, now=NOW), token


class TestRetention:
    def test_personal_data_is_erased_after_the_retention_period_and_the_facts_stay(self, demo, settings):
        """Seven days after the appointment the name, e-mail, phone and tokens are gone; office,
        home administration, services, vehicles, time and outcome remain for statistics."""
        settings.RETENTION_DAYS = 7
        appointment, token = confirmed(demo)
        Appointment.objects.filter(pk=appointment.pk).update(status=Status.COMPLETED)
        assert retention.erase_personal_data(now=START + dt.timedelta(days=6)) == 0
        assert retention.erase_personal_data(now=START + dt.timedelta(days=8)) == 1
        erased = Appointment.objects.get(pk=appointment.pk)
        assert (erased.name, erased.email, erased.phone, erased.token_hash, erased.hold_token_hash) == (
            "",
            "",
            "",
            "",
            "",
        )
        assert erased.office == demo.frankenthal and erased.home_administration == demo.rpk
        assert erased.status == Status.COMPLETED and erased.start == START and erased.vehicles == 1
        assert [item.service for item in erased.items.all()] == [demo.umschreibung]
        assert all(n.payload == {} for n in erased.notifications.all())
        assert not erased.token_matches(token), "the old manage link no longer opens anything"
        assert retention.erase_personal_data(now=START + dt.timedelta(days=9)) == 0

    def test_a_future_appointment_keeps_its_data(self, demo):
        appointment, _ = confirmed(demo)
        retention.erase_personal_data(now=NOW + dt.timedelta(days=1))
        assert Appointment.objects.get(pk=appointment.pk).email == "erika@example.org"


class TestSweep:
    def test_sweep_expires_holds_sends_due_mail_and_beats(self, demo, clock):
        """One sweep frees expired holds, sends what is due and records that it ran."""
        appointment = book(demo)
        clock.now = NOW + dt.timedelta(minutes=1)
        assert tasks.sweep() == 1
        assert len(mail.outbox) == 1
        assert Heartbeat.objects.get(name="sweep").at == NOW + dt.timedelta(minutes=1)
        clock.now = NOW + dt.timedelta(minutes=61)
        tasks.sweep()
        assert Appointment.objects.get(pk=appointment.pk).status == Status.EXPIRED


class TestBrokerOutage:
    def test_booking_succeeds_and_mail_waits_when_the_broker_is_down(self, demo, django_capture_on_commit_callbacks):
        """With the broker unreachable, the booking is still made; the opt-in stays in the outbox
        and the next sweep sends it."""
        with celery_broker("redis://127.0.0.1:1/0"), django_capture_on_commit_callbacks(execute=True):
            appointment = book(demo)
        assert Appointment.objects.get(pk=appointment.pk).status == Status.UNCONFIRMED
        row = Notification.objects.get(appointment=appointment)
        assert row.state == Notification.State.PENDING and mail.outbox == []
        assert notifications.send_due(now=NOW + dt.timedelta(minutes=1)) == 1
        assert len(mail.outbox) == 1


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs a Redis server: set TEST_REDIS_URL")
def test_a_trigger_reaches_a_real_redis_broker(demo, django_capture_on_commit_callbacks):
    """With Redis as the broker, committing a booking puts one send task on the queue."""
    import redis

    url = os.environ["TEST_REDIS_URL"]
    client = redis.Redis.from_url(url)
    client.flushdb()
    with celery_broker(url), django_capture_on_commit_callbacks(execute=True):
        book(demo)
    queued = client.lrange("celery", 0, -1)
    client.flushdb()
    assert len(queued) == 1 and b"appointments.tasks.send_due_notifications" in queued[0]


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="needs a Redis server: set TEST_REDIS_URL")
def test_one_queued_task_serves_every_booking_committed_before_it_starts(
    demo, settings, django_capture_on_commit_callbacks
):
    """With Redis as broker and shared cache: three bookings while a task waits queue it once; once
    it has started, the next booking queues another, and sending finds all four opt-in mails."""
    import redis

    url = os.environ["TEST_REDIS_URL"]
    client = redis.Redis.from_url(url)
    client.flushdb()
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}}
    settings.OUTBOX_SINGLE_TRIGGER = True
    try:
        with celery_broker(url):
            for number, hour in enumerate((8, 9, 10)):
                with django_capture_on_commit_callbacks(execute=True):
                    book(demo, start=berlin(2026, 12, 2, hour, 0), email=f"citizen{number}@example.org")
            assert client.llen("celery") == 1
            notifications.dispatch_started()  # what the queued task does first
            with django_capture_on_commit_callbacks(execute=True):
                book(demo, start=berlin(2026, 12, 2, 11, 0), email="citizen3@example.org")
            assert client.llen("celery") == 2
        assert notifications.send_due(now=NOW + dt.timedelta(seconds=1)) == 4
        assert sorted(m.to[0] for m in mail.outbox) == [f"citizen{n}@example.org" for n in range(4)]
    finally:
        client.flushdb()


class TestDaylightSavingWeekend:
    @pytest.mark.parametrize(
        "now,start,reminder",
        [
            # Autumn: Monday 26.10.2026 08:00 CET; the clocks went back at 03:00 on Sunday.
            (berlin(2026, 10, 22, 7, 0), berlin(2026, 10, 26, 8, 0), "2026-10-25T08:00:00+01:00"),
            # Spring: Tuesday 30.3.2027 08:00 CEST (Monday is Easter Monday).
            (berlin(2027, 3, 25, 7, 0), berlin(2027, 3, 30, 8, 0), "2027-03-29T08:00:00+02:00"),
        ],
        ids=["autumn", "spring"],
    )
    def test_reminder_and_calendar_entry_keep_the_wall_clock_time(self, demo, now, start, reminder):
        """Across the clock change the reminder is due 24 hours before at the same wall-clock
        time, and the e-mail and the calendar file say 08:00 in Europe/Berlin."""
        appointment = booking.book(
            office=demo.frankenthal,
            start=start,
            services=[demo.umschreibung],
            vehicles=1,
            municipality=demo.frankenthal_citizen_home,
            name="Erika",
            email="erika@example.org",
            privacy_consent=True,
            now=now,
        )
        token = Notification.objects.get(appointment=appointment).payload["token"]
        booking.confirm_booking(appointment=appointment, token=token, now=now)
        row = Notification.objects.get(appointment=appointment, kind=Notification.Kind.REMINDER)
        assert row.due_at.astimezone(start.tzinfo).isoformat() == reminder
        assert notifications.send_due(now=now) == 1  # the confirmation (the opt-in has lost its point)
        confirmation = mail.outbox[0]
        assert notifications.send_due(now=row.due_at) == 1
        assert "08:00" in mail.outbox[1].body
        ics = next(a for a in confirmation.attachments if a[0] == "termin.ics")[1]
        ics = ics.decode() if isinstance(ics, bytes) else ics
        assert f"DTSTART;TZID=Europe/Berlin:{start:%Y%m%d}T080000" in ics
