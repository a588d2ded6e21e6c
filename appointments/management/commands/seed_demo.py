"""`manage.py seed_demo`: load (or restore) the demo data and print the demo accounts.

The configuration comes from offices.demo; the demo bookings around today (appointments.demo) are
made here, in the appointments app, because offices knows nothing of appointments."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from appointments.demo import seed_demo_bookings
from ikz_portal import clock
from offices.demo import seed_demo
from offices.models import Administration, CooperationRule, Counter, Document, Municipality, Office, Service


class Command(BaseCommand):
    help = "Create or restore the demo data of both administrations and the demo accounts (safe to rerun)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even though DEBUG is off (e.g. a staging database). Never use it on production data.",
        )
        parser.add_argument(
            "--no-bookings",
            action="store_true",
            help="Only the configuration and the accounts: no demo bookings (the past eight weeks, the next two).",
        )

    def handle(self, *args, force=False, no_bookings=False, **options):
        # The demo accounts include a superuser with a published password: a production database
        # (DEBUG off) must not get them by accident. `make run` and `make seed` set DEBUG=1.
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: this looks like a production setup. seed_demo creates accounts with "
                "published passwords; run it with DEBUG=1, or with --force on a database that is not production."
            )
        accounts = seed_demo()
        counts = [
            ("administrations", Administration.objects.count()),
            ("municipalities", Municipality.objects.count()),
            ("offices", Office.objects.count()),
            ("counters", Counter.objects.count()),
            ("services", Service.objects.count()),
            ("documents", Document.objects.count()),
            ("cooperation rules", CooperationRule.objects.count()),
        ]
        self.stdout.write(self.style.SUCCESS("Demo data loaded: " + ", ".join(f"{n} {what}" for what, n in counts)))
        if not no_bookings:
            made = seed_demo_bookings(now=clock.now())
            self.stdout.write(
                f"Demo bookings (references DEMO-…): {made.past} in the past eight weeks, {made.upcoming} from now "
                f"on, {made.cross_border} of them at the other administration's office."
            )
        for office in Office.objects.filter(hours_are_example=True):
            self.stdout.write(f"The opening hours of {office.name} are example data, not published hours.")
        # Operators copy these from the terminal to log in; they must not mistake them for real ones.
        self.stdout.write(self.style.WARNING("Demo credentials (for the demo only, never in production):"))
        width = max(len(username) for username in accounts)
        for username, password in accounts.items():
            self.stdout.write(f"  {username.ljust(width)}  password: {password}")
