"""Django's migrate, without the web requests' statement and lock timeouts on its connection.

A migration may rewrite a large table or wait for a busy one; cut off after a few seconds it would
fail half-way through a deployment. Everything else about the command is Django's own."""

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections


class Command(DjangoMigrate):
    def handle(self, *args, **options):
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            return super().handle(*args, **options)
        # Session settings: they hold for this connection, which the whole migration uses, and
        # RESET gives it back its configured timeouts (tests migrate and go on with it).
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
            cursor.execute("SET lock_timeout = 0")
        try:
            return super().handle(*args, **options)
        finally:
            if connection.connection is not None:
                with connection.cursor() as cursor:
                    cursor.execute("RESET statement_timeout")
                    cursor.execute("RESET lock_timeout")
