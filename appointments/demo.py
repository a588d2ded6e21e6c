"""Demo bookings for `manage.py seed_demo`: eight weeks of history and the coming two weeks, so that
the clerk's day, the reports and the cost settlement show a realistic picture from the first start.

Reproducible: a fixed random seed, and dates relative to today. Recognisable: every demo booking has
a reference starting with "DEMO-" and an address at example.org. A rerun deletes exactly those rows
(with their services, events and history) and makes them again; it never touches another booking
and never puts a demo booking where another booking occupies the counter.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from appointments.models import (
    LIVE_STATUSES,
    Appointment,
    AppointmentEvent,
    AppointmentService,
    Channel,
    Notification,
    Status,
    VisitOutcome,
    hash_token,
)
from ikz_portal.clock import local_date
from offices.hours import load_office_schedules, local
from offices.models import Administration, Municipality, Office, Service

PREFIX = "DEMO-"
SEED = 20261201
PAST_DAYS = 8 * 7
FUTURE_DAYS = 14
# Share of each counter's working time the demo books: busy in the past, filling up towards the
# coming days (the nearer the day, the fuller), as a registration office's calendar looks.
PAST_FILL = (0.70, 0.90)
FUTURE_FILL = (0.62, 0.90)
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

FIRST_NAMES = [
    "Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hannes", "Ida", "Jonas", "Katharina",
    "Leon", "Mia", "Noah", "Olga", "Paul", "Quirin", "Rosa", "Sven", "Tanja", "Ugur", "Vera", "Wolfgang",
    "Yasemin", "Zoe", "Jürgen", "Sabine", "Thomas", "Petra", "Andreas", "Monika", "Stefan", "Agnieszka",
]  # fmt: skip
LAST_NAMES = [
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
    "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Braun", "Hofmann", "Zimmermann",
    "Krüger", "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Yılmaz", "Kowalski", "Nguyen", "Becker-Lutz",
]  # fmt: skip
# How the demo's bookings came in; walk-ins are booked at the counter when the citizen arrives.
CHANNELS = [(Channel.ONLINE, 70), (Channel.PHONE, 12), (Channel.COUNTER, 13), (Channel.API, 5)]
PAST_OUTCOMES = [(Status.COMPLETED, 84), (Status.NO_SHOW, 7), (Status.CANCELLED, 9)]
FUTURE_STATES = [(Status.CONFIRMED, 86), (Status.UNCONFIRMED, 7), (Status.CANCELLED, 7)]
VEHICLES = [(1, 85), (2, 10), (3, 5)]
# How finished visits end: most are done, some lack a document and come again.
OUTCOMES = [
    (VisitOutcome.COMPLETED, 88),
    (VisitOutcome.DOCUMENTS_INCOMPLETE, 7),
    (VisitOutcome.REFERRED, 2),
    (VisitOutcome.ABORTED, 3),
]


@dataclass
class Counts:
    past: int = 0
    upcoming: int = 0
    cross_border: int = 0


def _pick(rng: random.Random, weighted):
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


def _ascii(text: str) -> str:
    return (
        text.lower()
        .replace("ä", "ae")
        .replace("ö", "oe")
        .replace("ü", "ue")
        .replace("ß", "ss")
        .replace("ı", "i")
        .replace(" ", "")
    )


def delete_demo_bookings() -> int:
    """Delete the demo bookings with what belongs to them, their history included. Without the
    deletion signals: the history would otherwise record thousands of deletions of demo rows."""
    demo = Appointment.objects.filter(reference__startswith=PREFIX)
    for related in (AppointmentService, AppointmentEvent, Notification):
        related.objects.filter(appointment__reference__startswith=PREFIX).delete()
    Appointment.history.filter(reference__startswith=PREFIX).delete()
    return demo._raw_delete(demo.db)


@transaction.atomic
def seed_demo_bookings(*, now: dt.datetime) -> Counts:
    """Replace the demo bookings with a fresh picture around `now`; return how many were made."""
    delete_demo_bookings()
    rng = random.Random(SEED)
    today = local_date(now)
    first_day, last_day = today - dt.timedelta(days=PAST_DAYS), today + dt.timedelta(days=FUTURE_DAYS)
    offices = list(Office.objects.filter(is_active=True).select_related("administration").order_by("slug"))
    schedules = load_office_schedules(offices, first_day, last_day)
    administrations = list(Administration.objects.order_by("slug"))
    homes = {a.pk: list(Municipality.objects.filter(administration=a).order_by("slug")) for a in administrations}
    services = list(Service.objects.filter(bookable_online=True).prefetch_related("offices").order_by("position"))
    clerks = {
        office.pk: get_user_model().objects.filter(memberships__office=office).order_by("username").first()
        for office in offices
    }
    # Whatever else occupies a counter (real bookings, blocks by staff) keeps its time.
    taken: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    window = (local(first_day, dt.time(0)), local(last_day + dt.timedelta(days=1), dt.time(0)))
    for counter_id, start, end in Appointment.objects.filter(
        status__in=LIVE_STATUSES, start__lt=window[1], end__gt=window[0]
    ).values_list("counter_id", "start", "end"):
        taken.setdefault(counter_id, []).append((start, end))

    counts = Counts()
    rows: list[tuple[Appointment, list[tuple[Service, int, int]]]] = []
    day = first_day
    while day <= last_day:
        for office in offices:
            schedule = schedules[office.pk]
            offered = [s for s in services if s.pk in schedule.office_service_ids]
            if not offered:
                continue
            grid = dt.timedelta(minutes=office.slot_minutes)
            past = day < today
            low, high = PAST_FILL if past else FUTURE_FILL
            ahead = max(0, (day - today).days)
            fill = high - (high - low) * min(ahead, FUTURE_DAYS) / FUTURE_DAYS if not past else rng.uniform(low, high)
            for counter in schedule.counters:
                for opens, closes in schedule.working_intervals(counter.id, day):
                    moment = opens
                    while moment < closes:
                        service = rng.choice(offered)
                        vehicles = min(_pick(rng, VEHICLES), service.max_vehicles or 1)
                        minutes = service.minutes_first_vehicle + (vehicles - 1) * service.minutes_per_extra_vehicle
                        length = grid * -(-minutes // office.slot_minutes)
                        end = moment + length
                        clash = any(s < end and moment < e for s, e in taken.get(counter.id, ()))
                        if end > closes or clash or not schedule.counter_offers(counter, {service.pk}):
                            moment += grid
                            continue
                        if rng.random() > fill:
                            moment += grid * rng.choice((1, 2, 3, 6))
                            continue
                        appointment = _appointment(rng, office, counter.id, moment, end, vehicles, now, homes)
                        if appointment.home_administration_id != office.administration_id:
                            counts.cross_border += 1
                        if appointment.start < now:
                            counts.past += 1
                        else:
                            counts.upcoming += 1
                        rows.append((appointment, [(service, vehicles, minutes)]))
                        moment = end
        day += dt.timedelta(days=1)

    Appointment.objects.bulk_create([appointment for appointment, _ in rows], batch_size=500)
    made = {a.reference: a for a in Appointment.objects.filter(reference__startswith=PREFIX)}
    items, events = [], []
    for appointment, services_of in rows:
        saved = made[appointment.reference]
        items.extend(
            AppointmentService(appointment=saved, service=service, vehicles=vehicles, minutes=minutes)
            for service, vehicles, minutes in services_of
        )
        events.extend(_events(saved, clerks.get(saved.office_id)))
    AppointmentService.objects.bulk_create(items, batch_size=500)
    AppointmentEvent.objects.bulk_create(events, batch_size=500)
    # The history as the services would have left it: one row per booking in its present state.
    Appointment.history.bulk_history_create(list(made.values()), batch_size=500, default_change_reason="demo data")
    # created_at is set by the database on insert; a booking was made some days before its time.
    for appointment in made.values():
        appointment.created_at = appointment.submitted_at or appointment.start
    Appointment.objects.bulk_update(made.values(), ["created_at"], batch_size=500)
    return counts


def _appointment(rng, office, counter_id, start, end, vehicles, now, homes) -> Appointment:
    channel = _pick(rng, CHANNELS)
    # Most citizens come to an office of their own administration; the rest cross the border
    # (the pool), which is what the cost settlement counts.
    own = rng.random() < 0.7
    administrations = [pk for pk in homes if (pk == office.administration_id) == own and homes[pk]]
    home_id = rng.choice(administrations or [pk for pk in homes if homes[pk]])
    municipality = rng.choice(homes[home_id])
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    code = "".join(rng.choice(ALPHABET) for _ in range(7))
    language = "en" if rng.random() < 0.12 else "de"
    submitted = (
        start if channel == Channel.COUNTER else start - dt.timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 9))
    )
    submitted = min(submitted, now)
    if start < now:
        status = _pick(rng, PAST_OUTCOMES)
        if start <= now < end and status != Status.CANCELLED:
            status = Status.CHECKED_IN
    else:
        status = _pick(rng, FUTURE_STATES)
    if channel == Channel.COUNTER and status in (Status.NO_SHOW, Status.CANCELLED):
        status = Status.COMPLETED  # a walk-in is standing at the counter
    outcome = _pick(rng, OUTCOMES) if status == Status.COMPLETED else ""
    confirmed = None if status == Status.UNCONFIRMED else submitted + dt.timedelta(minutes=rng.randint(1, 90))
    if confirmed and confirmed > now:
        confirmed = submitted
    return Appointment(
        reference=f"{PREFIX}{code}",
        office=office,
        counter_id=counter_id,
        start=start,
        end=end,
        vehicles=vehicles,
        home_administration_id=home_id,
        municipality=municipality,
        status=status,
        outcome=outcome,
        hold_expires_at=now + dt.timedelta(minutes=rng.randint(15, 60)) if status == Status.UNCONFIRMED else None,
        channel=channel,
        language=language,
        name=f"{first} {last}",
        email="" if channel == Channel.COUNTER else f"{_ascii(first)}.{_ascii(last)}.{code.lower()}@example.org",
        phone=f"0621 555{rng.randint(1000, 9999)}" if channel == Channel.PHONE else "",
        token_hash=hash_token(f"demo-{code}"),
        submitted_at=submitted,
        confirmed_at=confirmed,
        cancelled_at=min(now, start - dt.timedelta(hours=rng.randint(2, 72))) if status == Status.CANCELLED else None,
    )


def _events(appointment: Appointment, clerk) -> list[AppointmentEvent]:
    """The clerk's steps of a past visit: check-in, then the outcome."""
    if appointment.status not in (Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW):
        return []
    if appointment.status == Status.NO_SHOW:
        return [
            AppointmentEvent(
                appointment=appointment,
                at=appointment.end + dt.timedelta(minutes=15),
                user=clerk,
                from_status=Status.CONFIRMED,
                to_status=Status.NO_SHOW,
            )
        ]
    arrived = appointment.start - dt.timedelta(minutes=3)
    events = [
        AppointmentEvent(
            appointment=appointment, at=arrived, user=clerk, from_status=Status.CONFIRMED, to_status=Status.CHECKED_IN
        )
    ]
    if appointment.status == Status.COMPLETED:
        events.append(
            AppointmentEvent(
                appointment=appointment,
                at=appointment.end,
                user=clerk,
                from_status=Status.CHECKED_IN,
                to_status=Status.COMPLETED,
            )
        )
    return events
