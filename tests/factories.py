"""Small worlds for tests that need exact hours rather than the demo data."""

import datetime as dt

from appointments.domain.availability import SlotRequest
from appointments.models import Appointment, Status
from offices.models import Administration, Counter, Municipality, Office, OpeningHours, Service


class World:
    """Two administrations with one office each: Frankenthal (2 counters) and Schifferstadt (1)."""

    def __init__(self):
        self.ft = Administration.objects.create(slug="ft", name="Stadt Frankenthal", plate_code="FT")
        self.rp = Administration.objects.create(slug="rp", name="Rhein-Pfalz-Kreis", plate_code="RP")
        self.frankenthal_home = Municipality.objects.create(
            slug="frankenthal-pfalz", name="Frankenthal (Pfalz)", postcode="67227", administration=self.ft
        )
        self.lambsheim_home = Municipality.objects.create(
            slug="lambsheim", name="Lambsheim", postcode="67245", administration=self.rp
        )
        self.office_ft = self.office("frankenthal", self.ft, counters=2)
        self.office_rp = self.office("schifferstadt", self.rp, counters=1)
        self.quick = self.service("ausserbetriebsetzung", 10, 5)
        self.long = self.service("umschreibung", 30, 15)

    def office(self, slug, administration, counters):
        office = Office.objects.create(
            slug=slug,
            name=slug.title(),
            administration=administration,
            street="Hauptstraße 1",
            postcode="67227",
            city=slug.title(),
            slot_minutes=15,
            booking_horizon_days=28,
            min_lead_minutes=60,
        )
        for number in range(1, counters + 1):
            Counter.objects.create(office=office, name=f"Schalter {number}")
        for weekday in range(5):
            OpeningHours.objects.create(office=office, weekday=weekday, opens=dt.time(8), closes=dt.time(10))
        return office

    def service(self, slug, first, extra):
        service = Service.objects.create(
            slug=slug, name_de=slug, minutes_first_vehicle=first, minutes_per_extra_vehicle=extra, max_vehicles=3
        )
        service.offices.set([self.office_ft, self.office_rp])
        return service

    def request(self, municipality=None, services=None, vehicles=1, day=None, until=None, offices=()):
        day = day or dt.date(2026, 12, 1)
        return SlotRequest(
            services=tuple(services or [self.quick]),
            vehicles=vehicles,
            municipality=municipality or self.frankenthal_home,
            date_from=day,
            date_to=until or day,
            offices=tuple(offices),
        )

    def occupy(self, office, counter, start, minutes, status=Status.CONFIRMED, hold_expires_at=None):
        return Appointment.objects.create(
            reference=f"T-{Appointment.objects.count():06d}",
            office=office,
            counter=counter,
            start=start,
            end=start + dt.timedelta(minutes=minutes),
            home_administration=self.ft,
            municipality=self.frankenthal_home,
            status=status,
            hold_expires_at=hold_expires_at,
        )
