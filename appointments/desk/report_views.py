"""Reports for staff with the report permission (appointments.view_reports), under /mitarbeiter/berichte/:
per month and office the bookings, outcomes, lead time and the utilisation of counter time (with
charts), and the settlement between the partners with a CSV export.

Thin: parse the period, call reports.py, render. Anonymous visitors go to the login page; staff
without the permission get 403.
"""

from __future__ import annotations

import csv
import datetime as dt
from functools import wraps

from django import forms
from django.http import HttpResponse
from django.urls import reverse
from django.utils import formats as django_formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from appointments.desk import views as clerk_views
from appointments.desk.charts import BLUE, GREY, ORANGE, PURPLE, SKY, VERMILLION, YELLOW, stacked_bars
from appointments.domain.reports import MAX_MONTHS, Period, first_of_month, monthly_figures, months_between, settlement
from appointments.models import VisitOutcome
from appointments.ui.forms import PortalForm
from ikz_portal import clock
from ikz_portal.clock import today

PERMISSION = "appointments.view_reports"
DEFAULT_MONTHS = 6


def report_page(view):
    """Logged-in staff with the report permission; others get 403 (the figures are internal)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.has_perm(PERMISSION):
            return clerk_views.forbidden(request, _("You do not have the permission to view reports."))
        return view(request, *args, **kwargs)

    return clerk_views.staff_page(wrapper)


class PeriodForm(PortalForm):
    """From month to month (YYYY-MM); at most MAX_MONTHS months."""

    start = forms.DateField(
        label=gettext_lazy("From (month)"),
        input_formats=["%Y-%m"],
        error_messages={"invalid": gettext_lazy("Please give the month as YYYY-MM, e.g. 2026-01.")},
        # A browser without a month picker shows a text field: the placeholder shows the format.
        widget=forms.DateInput(format="%Y-%m", attrs={"type": "month", "placeholder": "2026-01"}),
    )
    end = forms.DateField(
        label=gettext_lazy("To (month)"),
        input_formats=["%Y-%m"],
        error_messages={"invalid": gettext_lazy("Please give the month as YYYY-MM, e.g. 2026-12.")},
        widget=forms.DateInput(format="%Y-%m", attrs={"type": "month", "placeholder": "2026-12"}),
    )

    def clean(self):
        data = super().clean()
        first, last = data.get("start"), data.get("end")
        if first and last:
            if first > last:
                self.add_error("end", _("The last month must not be before the first."))
            elif len(months_between(first, last)) > MAX_MONTHS:
                self.add_error("end", _("At most %(months)s months at a time.") % {"months": MAX_MONTHS})
        return data

    def period(self) -> Period:
        return Period(first=self.cleaned_data["start"], last=self.cleaned_data["end"])


def period_form(request) -> PeriodForm:
    """The period of the query string; by default the last DEFAULT_MONTHS months up to this one."""
    if "start" in request.GET or "end" in request.GET:
        return PeriodForm(request.GET)
    last = first = first_of_month(today(clock.now()))
    for _step in range(DEFAULT_MONTHS - 1):
        first = first_of_month(first - dt.timedelta(days=1))
    return PeriodForm({"start": f"{first:%Y-%m}", "end": f"{last:%Y-%m}"})


def month_label(month: dt.date) -> str:
    return django_formats.date_format(month, "M y")


def percent(share: float | None) -> float | None:
    return None if share is None else share * 100


OUTCOME_COLOURS = {
    VisitOutcome.COMPLETED: BLUE,
    VisitOutcome.DOCUMENTS_INCOMPLETE: ORANGE,
    VisitOutcome.REFERRED: PURPLE,
    VisitOutcome.ABORTED: YELLOW,
}


def office_section(office, months) -> dict:
    """One office's tables and charts."""
    labels = [month_label(m.month) for m in months]
    appointments_chart = stacked_bars(
        chart_id=f"chart-appointments-{office.slug}",
        title=_("Appointments per month: %(office)s") % {"office": office.name},
        description=_(
            "Stacked bars per month: the finished visits by outcome, no-shows, cancelled and still open "
            "appointments. The table beside the chart gives the figures."
        ),
        categories=labels,
        series=[
            *(
                (str(label), OUTCOME_COLOURS[value], [m.outcomes[value] for m in months])
                for value, label in VisitOutcome.choices
            ),
            (_("no-show"), VERMILLION, [m.no_show for m in months]),
            (_("cancelled"), GREY, [m.cancelled for m in months]),
            (_("open"), SKY, [m.pending for m in months]),
        ],
    )
    utilisation_chart = stacked_bars(
        chart_id=f"chart-utilisation-{office.slug}",
        title=_("Utilisation of counter time: %(office)s") % {"office": office.name},
        description=_(
            "Stacked bars per month: the share of the counters' working time booked by residents of the "
            "office's own administration and by residents of the partner administration. The table beside "
            "the chart gives the figures."
        ),
        categories=labels,
        series=[
            (_("own residents"), BLUE, [m.own_share or 0 for m in months]),
            (_("partner's residents"), ORANGE, [m.partner_share or 0 for m in months]),
        ],
        percent=True,
    )
    rows = [
        {
            "label": month_label(m.month),
            "month": m,
            "no_show_percent": percent(m.no_show_rate),
            "utilisation_percent": percent(m.utilisation),
            "partner_percent": percent(m.partner_share),
            "working_hours": m.working_minutes / 60,
            "booked_hours": m.booked_minutes / 60,
            "partner_hours": m.partner_minutes / 60,
        }
        for m in months
    ]
    return {
        "office": office,
        "rows": rows,
        "appointments_chart": appointments_chart,
        "utilisation_chart": utilisation_chart,
    }


@require_GET
@report_page
def reports(request):
    form = period_form(request)
    if not form.is_valid():
        return clerk_views.page(request, "clerk/reports.html", {"form": form}, 400)
    period = form.period()
    figures = monthly_figures(period=period)
    sections = [office_section(months[0].office, months) for months in figures.values() if months]
    rows, totals = settlement(period=period)
    query = f"?start={period.first:%Y-%m}&end={period.last:%Y-%m}"
    return clerk_views.page(
        request,
        "clerk/reports.html",
        {
            "form": form,
            "period": period,
            "sections": sections,
            "settlement_rows": rows,
            "settlement_totals": totals,
            "csv_url": reverse("clerk:settlement_csv") + query,
            "figures_csv_url": reverse("clerk:figures_csv") + query,
            "outcome_labels": VisitOutcome.labels,
            "language_next": reverse("clerk:reports") + query,
        },
    )


@require_GET
@report_page
def figures_csv(request):
    """The monthly figures per office, each outcome in a column of its own, for German Excel."""
    form = period_form(request)
    if not form.is_valid():
        return clerk_views.page(request, "clerk/reports.html", {"form": form}, 400)
    period = form.period()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="termine-{period.first:%Y-%m}-bis-{period.last:%Y-%m}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            _("Office"),
            _("Month"),
            _("Booked"),
            *(str(label) for label in VisitOutcome.labels),
            _("No-show"),
            _("Cancelled"),
            _("Open"),
        ]
    )
    for months in monthly_figures(period=period).values():
        for m in months:
            writer.writerow(
                [
                    clerk_views.spreadsheet_safe(m.office.name),
                    f"{m.month:%Y-%m}",
                    m.booked,
                    *(count for _value, _label, count in m.outcome_counts),
                    m.no_show,
                    m.cancelled,
                    m.pending,
                ]
            )
    return response


@require_GET
@report_page
def settlement_csv(request):
    """The settlement for German Excel: UTF-8 with a byte order mark, semicolons."""
    form = period_form(request)
    if not form.is_valid():
        return clerk_views.page(request, "clerk/reports.html", {"form": form}, 400)
    period = form.period()
    rows, _totals = settlement(period=period)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="abrechnung-{period.first:%Y-%m}-bis-{period.last:%Y-%m}.csv"'
    )
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        [
            _("From"),
            _("To"),
            _("Performing office"),
            _("Residents of"),
            _("Service"),
            _("Cases"),
            _("Vehicles"),
            _("For the partner"),
        ]
    )
    for row in rows:
        writer.writerow(
            [
                clerk_views.spreadsheet_safe(value)
                for value in (
                    f"{period.first:%Y-%m}",
                    f"{period.last:%Y-%m}",
                    row.office.name,
                    row.administration.name,
                    row.service.name,
                    row.cases,
                    row.vehicles,
                    _("yes") if row.is_partner else _("no"),
                )
            ]
        )
    return response
