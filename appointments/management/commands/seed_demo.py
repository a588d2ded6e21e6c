"""`manage.py seed_demo`: load (or restore) the demo data and print the demo accounts."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

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

    def handle(self, *args, force=False, **options):
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
        for office in Office.objects.filter(hours_are_example=True):
            self.stdout.write(f"The opening hours of {office.name} are example data, not published hours.")
        # Operators copy these from the terminal to log in; they must not mistake them for real ones.
        self.stdout.write(self.style.WARNING("Demo credentials (for the demo only, never in production):"))
        width = max(len(username) for username in accounts)
        for username, password in accounts.items():
            self.stdout.write(f"  {username.ljust(width)}  password: {password}")
