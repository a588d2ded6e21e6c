"""Reports on use and the cost settlement between the partners: selectors over anonymous facts only.

They read an appointment's office, home administration, services and vehicles, start and end,
status, created_at and confirmed_at: what the retention sweep leaves in place, so the figures of a
month are the same before and after the personal data is erased.

- booked: appointments that were confirmed (by the citizen's link, or at once for staff bookings),
  including those cancelled afterwards; holds and unconfirmed bookings are not booked.
- outcomes: finished visits (status completed) by how they ended (VisitOutcome): completed,
  documents incomplete, referred to another authority, aborted; a visit finished before outcomes
  were recorded counts as completed.
- no-show rate: no-shows among the appointments with a recorded outcome (finished visits + no-show).
- lead time: from the booking (its confirmation) to the start; the median over booked appointments
  that were not cancelled.
- utilisation: booked minutes (confirmed, checked in, completed, no-show) / working minutes of the
  office's active counters (their hours minus public holidays and closures, offices.hours); the
  partner share is the part of it booked by residents of another administration.
- settlement: visits with the outcome "completed", per performing office, home administration and
  service, with the number of vehicles; the other outcomes performed no registration.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from statistics import median

from django.db.models import Count, Sum

from appointments.models import Appointment, AppointmentService, Status, VisitOutcome
from offices.hours import BERLIN, load_office_schedules, local
from offices.models import Administration, Office, Service

BOOKED_MINUTES_STATUSES = (Status.CONFIRMED, Status.CHECKED_IN, Status.COMPLETED, Status.NO_SHOW)
MAX_MONTHS = 24
# The visits the partners settle: a registration was performed ("" for visits finished before outcomes).
SETTLED_OUTCOMES = (VisitOutcome.COMPLETED, "")


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of the months from `first`'s month to `last`'s month, inclusive."""
    months, month = [], first_of_month(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


@dataclass(frozen=True)
class Period:
    """Whole months, in Berlin time."""

    first: dt.date  # first day of the first month
    last: dt.date  # first day of the last month

    @property
    def months(self) -> list[dt.date]:
        return months_between(self.first, self.last)

    @property
    def start(self) -> dt.datetime:
        return local(self.first, dt.time(0))

    @property
    def end(self) -> dt.datetime:
        return local(next_month(self.last), dt.time(0))

    @property
    def last_day(self) -> dt.date:
        return next_month(self.last) - dt.timedelta(days=1)


@dataclass
class MonthFigures:
    office: Office
    month: dt.date
    booked: int = 0
    finished: int = 0  # visits with any outcome
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VisitOutcome.values, 0))
    no_show: int = 0
    cancelled: int = 0
    booked_minutes: int = 0
    partner_minutes: int = 0
    working_minutes: int = 0
    lead_days: list[float] = field(default_factory=list, repr=False)

    @property
    def completed(self) -> int:
        """Visits with the outcome "completed"."""
        return self.outcomes[VisitOutcome.COMPLETED]

    @property
    def outcome_counts(self) -> list[tuple[str, str, int]]:
        """(outcome, its label, count) in VisitOutcome's order."""
        return [(value, str(label), self.outcomes[value]) for value, label in VisitOutcome.choices]

    @property
    def pending(self) -> int:
        """Booked, not cancelled, no outcome recorded yet (still to come, or not closed by a clerk)."""
        return self.booked - self.finished - self.no_show - self.cancelled

    @property
    def no_show_rate(self) -> float | None:
        decided = self.finished + self.no_show
        return self.no_show / decided if decided else None

    @property
    def median_lead_days(self) -> float | None:
        return median(self.lead_days) if self.lead_days else None

    @property
    def utilisation(self) -> float | None:
        return self.booked_minutes / self.working_minutes if self.working_minutes else None

    @property
    def partner_share(self) -> float | None:
        """Share of the working time booked by residents of the partner administration(s)."""
        return self.partner_minutes / self.working_minutes if self.working_minutes else None

    @property
    def own_share(self) -> float | None:
        return (self.booked_minutes - self.partner_minutes) / self.working_minutes if self.working_minutes else None


def monthly_figures(*, period: Period, offices: list[Office] | None = None) -> dict[int, list[MonthFigures]]:
    """Figures per office (id → one entry per month of the period, in order)."""
    if offices is None:
        offices = list(Office.objects.select_related("administration").order_by("name"))
    figures = {
        office.id: {month: MonthFigures(office=office, month=month) for month in period.months} for office in offices
    }
    rows = Appointment.objects.filter(office__in=offices, start__gte=period.start, start__lt=period.end).values_list(
        "office_id", "home_administration_id", "status", "outcome", "start", "end", "created_at", "confirmed_at"
    )
    administration_of = {office.id: office.administration_id for office in offices}
    for office_id, home_id, status, outcome, start, end, created_at, confirmed_at in rows.iterator():
        entry = figures[office_id][first_of_month(start.astimezone(BERLIN).date())]
        if status in BOOKED_MINUTES_STATUSES or (status == Status.CANCELLED and confirmed_at):
            entry.booked += 1
        else:
            continue  # a hold, an unconfirmed or expired booking, or one cancelled before confirming
        if status == Status.CANCELLED:
            entry.cancelled += 1
            continue
        if status == Status.COMPLETED:
            entry.finished += 1
            entry.outcomes[outcome or VisitOutcome.COMPLETED] += 1
        elif status == Status.NO_SHOW:
            entry.no_show += 1
        minutes = int((end - start).total_seconds() // 60)
        entry.booked_minutes += minutes
        if home_id != administration_of[office_id]:
            entry.partner_minutes += minutes
        booked_at = confirmed_at or created_at
        entry.lead_days.append(max((start - booked_at).total_seconds(), 0) / 86400)

    schedules = load_office_schedules(offices, period.first, period.last_day)
    for office in offices:
        schedule = schedules[office.id]
        day = period.first
        while day <= period.last_day:
            figures[office.id][first_of_month(day)].working_minutes += schedule.working_minutes(day)
            day += dt.timedelta(days=1)
    return {office_id: list(by_month.values()) for office_id, by_month in figures.items()}


@dataclass
class SettlementRow:
    office: Office
    administration: Administration
    service: Service
    cases: int
    vehicles: int

    @property
    def is_partner(self) -> bool:
        """Performed for residents of another administration than the office's own."""
        return self.office.administration_id != self.administration.id


@dataclass
class SettlementTotal:
    office: Office
    administration: Administration
    appointments: int
    cases: int
    vehicles: int

    @property
    def is_partner(self) -> bool:
        return self.office.administration_id != self.administration.id


def settlement(*, period: Period) -> tuple[list[SettlementRow], list[SettlementTotal]]:
    """Completed cases per performing office, home administration and service (with vehicles), and
    per office and home administration (appointments, cases, vehicles)."""
    completed = {
        "appointment__status": Status.COMPLETED,
        "appointment__outcome__in": SETTLED_OUTCOMES,
        "appointment__start__gte": period.start,
        "appointment__start__lt": period.end,
    }
    offices = {o.id: o for o in Office.objects.select_related("administration")}
    administrations = {a.id: a for a in Administration.objects.all()}
    services = {s.id: s for s in Service.objects.all()}
    rows = [
        SettlementRow(
            office=offices[row["appointment__office_id"]],
            administration=administrations[row["appointment__home_administration_id"]],
            service=services[row["service_id"]],
            cases=row["cases"],
            vehicles=row["vehicles"] or 0,
        )
        for row in AppointmentService.objects.filter(**completed)
        .values("appointment__office_id", "appointment__home_administration_id", "service_id")
        .annotate(cases=Count("id"), vehicles=Sum("vehicles"))
    ]
    rows.sort(key=lambda r: (r.office.name, r.administration.name, r.service.position, r.service.name_de))

    totals: dict[tuple[int, int], SettlementTotal] = {}
    appointments = (
        Appointment.objects.filter(
            status=Status.COMPLETED, outcome__in=SETTLED_OUTCOMES, start__gte=period.start, start__lt=period.end
        )
        .values("office_id", "home_administration_id")
        .annotate(count=Count("id"), vehicles=Sum("vehicles"))
    )
    for row in appointments:
        key = (row["office_id"], row["home_administration_id"])
        totals[key] = SettlementTotal(
            office=offices[key[0]],
            administration=administrations[key[1]],
            appointments=row["count"],
            cases=0,
            vehicles=row["vehicles"] or 0,
        )
    for settlement in rows:
        totals[(settlement.office.id, settlement.administration.id)].cases += settlement.cases
    ordered = sorted(totals.values(), key=lambda t: (t.office.name, t.administration.name))
    return rows, ordered
