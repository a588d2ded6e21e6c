from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from appointments.api.endpoints import api
from appointments.desk.second_factor import SecondFactorAdminSite
from appointments.ops.health import healthz, healthz_full

if settings.OTP_REQUIRED_FOR_ADMIN:
    # Only accounts verified by a TOTP code get into the admin (django-otp's documented switch).
    admin.site.__class__ = OTPAdminSite
else:
    # Accounts with a device (every account with OTP_REQUIRED_FOR_STAFF) only with their code.
    admin.site.__class__ = SecondFactorAdminSite

# A database error that escapes the views (a session saved on the way out) is a 503 like the rest.
handler500 = "appointments.ops.unavailable.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/full", healthz_full, name="healthz_full"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("mitarbeiter/", include("appointments.desk.urls")),
    path("", include("appointments.web.urls")),
]
