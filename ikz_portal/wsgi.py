"""WSGI entry point (gunicorn ikz_portal.wsgi)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ikz_portal.settings")
application = get_wsgi_application()

# What exists now (Django, the apps, their modules) lives as long as the process: out of the
# garbage collector's sight, its full collections no longer walk all of it in the middle of a
# request (they cost tens of milliseconds otherwise).
gc.freeze()
