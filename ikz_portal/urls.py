from django.contrib import admin
from django.urls import include, path

from appointments.api import api
from appointments.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("mitarbeiter/", include("appointments.clerk_urls")),
    path("", include("appointments.urls")),
]
