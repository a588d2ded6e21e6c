"""The benchmark's data sets, built with bulk inserts from a fixed random seed.

*pool*: the real pool as `seed_demo` configures it (Schifferstadt 6 counters, Frankenthal 3, the
service catalogue, the cooperation rules), with the next 8 weeks about 85 % booked by a mix of
concerns and vehicle counts, plus 8 weeks of history (completed, no-shows, cancellations): a
production table keeps past rows for statistics, and a query that scans them shows up here.
*state*: the pool plus 18 synthetic offices of 8 synthetic administrations that all cooperate,
80 counters in all, about 60,000 live appointments over the next 8 weeks.

Appointments are laid out counter by counter along the real working intervals (offices/hours.py,
so holidays and closures count), on the office grid, never overlapping (the exclusion constraint
checks every insert).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass

from django.db import connection, transaction

from appointments.models import LIVE_STATUSES, Appointment, AppointmentService, Channel, Status
from offices.demo import seed_demo
from offices.hours import BERLIN, load_office_schedules
from offices.models import (
    Administration,
    Closure,
    CooperationRule,
    Counter,
    Municipality,
    Office,
    OpeningHours,
    Service,
)

SEED = 20261125
WEEKS = 8
HISTORY_WEEKS = 8
# Share of working time booked. The tail of an interval too short for the next appointment stays
# free, so the generator aims a little higher than the 85 % it reaches.
FILL = 0.885

# How often citizens book each concern (weights), how many vehicles they bring, and how often a
# second concern comes along. Estimates from the shares German offices report, not measurements.
SERVICE_MIX = {
    "umschreibung": 30,
    "ausserbetriebsetzung": 20,
    "neuzulassung": 12,
    "adressaenderung": 9,
    "wiederzulassung": 6,
    "umzug-kennzeichenmitnahme": 6,
    "kurzzeitkennzeichen": 5,
    "saisonkennzeichen": 2,
    "ausfuhrkennzeichen": 2,
    "ersatz-zulassungsbescheinigung": 2,
    "kennzeichenverlust": 2,
    "e-kennzeichen": 2,
    "h-kennzeichen": 1,
    "wechselkennzeichen": 1,
}
VEHICLES = {1: 85, 2: 11, 3: 4}
SECOND_CONCERN = 0.12
SECOND_CONCERNS = ["ausserbetriebsetzung", "adressaenderung", "e-kennzeichen", "umschreibung"]
# Future appointments; the rest of the live ones are confirmed.
UNCONFIRMED_SHARE, HELD_SHARE = 0.06, 0.015
# A gap in the schedule is often a cancelled or expired booking (rows that do not occupy).
GAP_WITH_DEAD_ROW = 0.35
CHANNELS = [(Channel.ONLINE, 80), (Channel.PHONE, 10), (Channel.COUNTER, 5), (Channel.API, 5)]

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# The state: 8 synthetic administrations with two offices each, plus one more office each for the
# Rhein-Pfalz-Kreis and Frankenthal: 18 offices, 71 counters (with the pool's 9: 20 and 80).
STATE_ADMINISTRATIONS = [(f"bench-{c.lower()}", f"Benchmark-Kreis {c}", f"B{c}") for c in "ABCDEFGH"]
STATE_HOURS = [
    # (weekdays, opens, closes): three patterns the synthetic offices rotate through.
    [([0, 1, 2, 3, 4], "07:30", "12:30"), ([0, 1, 3], "13:30", "17:00")],
    [([0, 1, 2, 3, 4], "08:00", "12:00"), ([0, 1, 3], "14:00", "18:00")],
    [([0, 1, 2, 3, 4], "07:00", "12:30"), ([1, 2, 3], "13:00", "16:30")],
]


@dataclass
class DataSet:
    name: str
    now: dt.datetime
    date_from: dt.date
    date_to: dt.date
    offices: int
    counters: int
    live: int  # live appointments in the next WEEKS weeks
    rows: int  # all appointment rows (history, cancelled and expired included)
    booked: float  # share of the working minutes in the next WEEKS weeks that live appointments occupy
    seconds: float


def _weighted(rng: random.Random, table: dict):
    return rng.choices(list(table), weights=list(table.values()))[0]


class Mix:
    """Draws (services, vehicles, minutes) for one appointment."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.services = {s.slug: s for s in Service.objects.all()}

    def draw(self):
        first = self.services[_weighted(self.rng, SERVICE_MIX)]
        services = [first]
        if self.rng.random() < SECOND_CONCERN:
            second = self.services[self.rng.choice(SECOND_CONCERNS)]
            if second != first:
                services.append(second)
        vehicles = min(_weighted(self.rng, VEHICLES), *(s.max_vehicles for s in services))
        minutes = sum(s.minutes_for(vehicles) for s in services)
        return services, vehicles, minutes


def allocate_ids(model, count: int) -> list[int]:
    """Primary keys from the table's own sequence, so that later inserts by the portal go on."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
        return [row[0] for row in cursor.fetchall()]


def copy_rows(model, rows: list[dict], *, now: dt.datetime) -> None:
    """COPY rows into the model's table: about ten times faster than bulk_create for 100,000 rows.
    Every concrete field is written; those a row does not give get the field's default (or `now`
    for auto_now fields), so a field added to the model later does not break the builder."""
    if not rows:
        return
    fields = [f for f in model._meta.concrete_fields if f.attname in rows[0] or not f.primary_key]
    defaults = {}
    for f in fields:
        if f.attname in rows[0]:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults[f.attname] = now
        else:
            defaults[f.attname] = f.get_db_prep_save(f.get_default(), connection)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    names = [f.attname for f in fields]
    with connection.cursor() as cursor:
        # One COPY lasts as long as this process takes to write the rows: longer than the portal's
        # statement timeout on a busy machine. The loader's own session only.
        cursor.execute("SET statement_timeout = 0")
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row([row[name] if name in row else defaults[name] for name in names])


def _reference(plate: str, number: int) -> str:
    code = []
    for _ in range(6):
        number, digit = divmod(number, len(REFERENCE_ALPHABET))
        code.append(REFERENCE_ALPHABET[digit])
    return f"{plate}-{''.join(code)}"


def fill(  # noqa: C901 - one pass over the days, in the order the rows are made; split, it would hide that order
    *,
    offices: list[Office],
    now: dt.datetime,
    date_from: dt.date,
    date_to: dt.date,
    history_from: dt.date,
    rng: random.Random,
) -> dict:
    """Lay out appointments on every counter of `offices` from `history_from` to `date_to`."""
    mix = Mix(rng)
    offices = list(Office.objects.filter(id__in=[o.id for o in offices]).select_related("administration"))
    schedules = load_office_schedules(offices, history_from, date_to)
    municipalities: dict[int, list[Municipality]] = {}
    for m in Municipality.objects.all():
        municipalities.setdefault(m.administration_id, []).append(m)
    all_municipalities = [m for ms in municipalities.values() for m in ms]
    future_start = now
    window_start = dt.datetime.combine(date_from, dt.time(0), tzinfo=BERLIN)
    appointments: list[dict] = []
    items: list[dict] = []
    stats = {"working": 0, "booked": 0, "live": 0}
    channels = dict(CHANNELS)

    def add(office, counter_id, start, minutes, services, vehicles, status, in_window):
        number = len(appointments) + 1
        end = start + dt.timedelta(minutes=minutes)
        home = (
            rng.choice(municipalities.get(office.administration_id) or all_municipalities)
            if rng.random() < 0.8
            else rng.choice(all_municipalities)
        )
        recent = start > now - dt.timedelta(days=7)  # older personal data is erased (RETENTION_DAYS)
        expires = None
        if status == Status.UNCONFIRMED:
            expires = now + dt.timedelta(minutes=rng.randint(30, 60))
        elif status == Status.HELD:
            expires = now + dt.timedelta(minutes=10)
        appointments.append(
            {
                "reference": _reference(office.administration.plate_code, number),
                "office_id": office.id,
                "counter_id": counter_id,
                "start": start,
                "end": end,
                "vehicles": vehicles,
                "home_administration_id": home.administration_id,
                "municipality_id": home.id,
                "status": str(status),
                "hold_expires_at": expires,
                "channel": str(_weighted(rng, channels)),
                "name": f"Bench Citizen {number}" if recent else "",
                "email": f"citizen{number}@bench.example" if recent else "",
                "submitted_at": now if status != Status.HELD else None,
                "confirmed_at": now if status == Status.CONFIRMED else None,
                # Cancelled days ago: a time cancelled minutes ago is kept from online booking for a
                # while (CANCELLED_SLOT_DELAY_MINUTES), which would make every such gap look taken.
                "cancelled_at": min(now, start) - dt.timedelta(hours=rng.randint(1, 24 * 14))
                if status == Status.CANCELLED
                else None,
            }
        )
        for service in services:
            items.append(
                {
                    "appointment_id": number,  # replaced by the row's id before the copy
                    "service_id": service.id,
                    "vehicles": vehicles,
                    "minutes": service.minutes_for(vehicles),
                }
            )
        if in_window and status in LIVE_STATUSES:
            stats["booked"] += minutes
            stats["live"] += 1

    def future_status():
        r = rng.random()
        if r < HELD_SHARE:
            return Status.HELD
        if r < HELD_SHARE + UNCONFIRMED_SHARE:
            return Status.UNCONFIRMED
        return Status.CONFIRMED

    for office in offices:
        schedule = schedules[office.id]
        day = history_from
        while day <= date_to:
            for counter in schedule.counters:
                for opens, closes in schedule.working_intervals(counter.id, day):
                    in_window = opens >= window_start
                    if in_window:
                        stats["working"] += int((closes - opens).total_seconds() // 60)
                    cursor = opens
                    while cursor < closes:
                        services, vehicles, minutes = mix.draw()
                        length = dt.timedelta(minutes=minutes)
                        if rng.random() < FILL:
                            if cursor + length > closes:
                                break
                            if cursor < future_start:
                                status = Status.NO_SHOW if rng.random() < 0.12 else Status.COMPLETED
                            else:
                                status = future_status()
                            add(office, counter.id, cursor, minutes, services, vehicles, status, in_window)
                        elif rng.random() < GAP_WITH_DEAD_ROW and cursor + length <= closes:
                            dead = Status.EXPIRED if rng.random() < 0.3 else Status.CANCELLED
                            add(office, counter.id, cursor, minutes, services, vehicles, dead, in_window)
                        cursor += length
            day += dt.timedelta(days=1)

    with transaction.atomic():
        ids = allocate_ids(Appointment, len(appointments))
        for row, pk in zip(appointments, ids, strict=True):
            row["id"] = pk
        for item in items:
            item["appointment_id"] = ids[item["appointment_id"] - 1]
        copy_rows(Appointment, appointments, now=now)
        copy_rows(AppointmentService, items, now=now)
    return {**stats, "rows": len(appointments)}


def _closures(offices: list[Office], date_from: dt.date, date_to: dt.date, rng: random.Random) -> None:
    """What offices really close for: Christmas Eve and New Year's Eve (not public holidays), a
    counter's holiday week, and one staff meeting morning per office."""
    rows = []
    for office in offices:
        for month, day in ((12, 24), (12, 31)):
            for year in {date_from.year, date_to.year}:
                when = dt.date(year, month, day)
                if date_from <= when <= date_to:
                    rows.append(Closure(office=office, start_date=when, end_date=when, reason="Betriebsruhe"))
        counters = list(office.counters.order_by("name"))
        absent = date_from + dt.timedelta(days=rng.randint(7, 40))
        rows.append(
            Closure(
                office=office,
                counter=counters[-1],
                start_date=absent,
                end_date=absent + dt.timedelta(days=6),
                reason="Urlaub",
            )
        )
        meeting = date_from + dt.timedelta(days=rng.randint(3, 50))
        rows.append(
            Closure(
                office=office,
                start_date=meeting,
                end_date=meeting,
                start_time=dt.time(10),
                end_time=dt.time(12),
                reason="Personalversammlung",
            )
        )
    Closure.objects.bulk_create(rows)


def _wipe() -> None:
    """An empty database (it was just migrated) except for what the migrations create."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE appointments_appointment, offices_closure CASCADE")


def window(now: dt.datetime) -> tuple[dt.date, dt.date, dt.date]:
    today = now.astimezone(BERLIN).date()
    return today, today + dt.timedelta(days=7 * WEEKS - 1), today - dt.timedelta(days=7 * HISTORY_WEEKS)


def build_pool(*, now: dt.datetime) -> DataSet:
    began = time.perf_counter()
    rng = random.Random(SEED)
    _wipe()
    seed_demo()
    offices = list(Office.objects.filter(slug__in=["schifferstadt", "frankenthal"]).order_by("name"))
    date_from, date_to, history_from = window(now)
    _closures(offices, date_from, date_to, rng)
    stats = fill(offices=offices, now=now, date_from=date_from, date_to=date_to, history_from=history_from, rng=rng)
    return _summary("pool", offices, now, date_from, date_to, stats, began)


def build_state(*, now: dt.datetime) -> DataSet:
    began = time.perf_counter()
    rng = random.Random(SEED + 1)
    _wipe()
    seed_demo()
    date_from, date_to, history_from = window(now)
    administrations = list(Administration.objects.filter(slug__in=["rhein-pfalz-kreis", "frankenthal"]))
    for slug, name, plate in STATE_ADMINISTRATIONS:
        administration = Administration.objects.create(slug=slug, name=name, plate_code=plate)
        administrations.append(administration)
        Municipality.objects.create(
            slug=f"{slug}-stadt",
            name=f"{name} Stadt",
            postcode=f"9{len(administrations):04d}",
            administration=administration,
        )
    new_offices = []
    for administration in administrations:
        count = 2 if administration.slug.startswith("bench-") else 1
        for number in range(1, count + 1):
            new_offices.append(
                Office.objects.create(
                    slug=f"{administration.slug}-{number}-bench",
                    name=f"Zulassungsstelle {administration.name} {number} (Benchmark)",
                    administration=administration,
                    street="Musterstraße 1",
                    postcode="99999",
                    city="Musterstadt",
                    slot_minutes=5,
                    booking_horizon_days=56,
                    min_lead_minutes=120,
                )
            )
    hours, counters = [], []
    for index, office in enumerate(new_offices):
        size = 3 if index == len(new_offices) - 1 else 4
        office_counters = [Counter(office=office, name=f"Schalter {n}") for n in range(1, size + 1)]
        counters.extend(office_counters)
        for weekdays, opens, closes in STATE_HOURS[index % len(STATE_HOURS)]:
            for weekday in weekdays:
                hours.append(
                    OpeningHours(
                        office=office,
                        weekday=weekday,
                        opens=dt.time.fromisoformat(opens),
                        closes=dt.time.fromisoformat(closes),
                    )
                )
    Counter.objects.bulk_create(counters)
    # One part-time counter per synthetic office: its own hours replace the office's.
    for office in new_offices:
        part_time = Counter.objects.filter(office=office).order_by("name").last()
        for weekday in range(5):
            hours.append(
                OpeningHours(
                    office=office, counter=part_time, weekday=weekday, opens=dt.time(7, 30), closes=dt.time(13)
                )
            )
    OpeningHours.objects.bulk_create(hours)
    for service in Service.objects.all():
        service.offices.add(*new_offices)
    offices = list(Office.objects.order_by("name"))
    # Full cooperation: every office serves the residents of every administration.
    CooperationRule.objects.bulk_create(
        CooperationRule(office=office, administration=administration, note="Benchmark")
        for office in offices
        for administration in administrations
        if administration.id != office.administration_id
        and not CooperationRule.objects.filter(office=office, administration=administration).exists()
    )
    _closures(offices, date_from, date_to, rng)
    stats = fill(offices=offices, now=now, date_from=date_from, date_to=date_to, history_from=history_from, rng=rng)
    return _summary("state", offices, now, date_from, date_to, stats, began)


def _summary(name, offices, now, date_from, date_to, stats, began) -> DataSet:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return DataSet(
        name=name,
        now=now,
        date_from=date_from,
        date_to=date_to,
        offices=len(offices),
        counters=Counter.objects.filter(office__in=offices, is_active=True).count(),
        live=stats["live"],
        rows=Appointment.objects.count(),
        booked=stats["booked"] / stats["working"] if stats["working"] else 0.0,
        seconds=time.perf_counter() - began,
    )
