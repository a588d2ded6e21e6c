"""Calendar files (.ics) for an appointment, in Europe/Berlin with its VTIMEZONE."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from appointments.models import Appointment
from ikz_portal import clock
from offices.hours import BERLIN


def appointment_ics(appointment: Appointment, *, cancel: bool = False) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//IKZ Vorderpfalz//Kfz-Zulassung Termine//DE")
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancel else "PUBLISH")
    event = Event()
    host = settings.PORTAL_BASE_URL.split("//")[-1].split("/")[0].split(":")[0] or "localhost"
    event.add("uid", f"{appointment.reference}@{host}")
    event.add("dtstamp", clock.now())
    event.add("dtstart", appointment.start.astimezone(BERLIN))
    event.add("dtend", appointment.end.astimezone(BERLIN))
    office = appointment.office
    event.add("summary", _("Vehicle registration appointment %(reference)s") % {"reference": appointment.reference})
    event.add("location", f"{office.name}, {office.address}")
    services = ", ".join(item.service.name for item in appointment.items.select_related("service"))
    event.add("description", f"{appointment.reference}: {services}")
    # Each change must carry a higher sequence than the file before it, or calendars ignore it:
    # seconds since the booking was made grow with every reschedule and with the cancellation.
    event.add("sequence", max(int((appointment.updated_at - appointment.created_at).total_seconds()), 0))
    event.add("status", "CANCELLED" if cancel else "CONFIRMED")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
