"""The citizen's pages. The e-mails link to `confirm`, `manage` and `ics` with the reference as the
only argument and `?token=…` appended: keep those names and that shape."""

from django.urls import path

from appointments.web import views

app_name = "appointments"

urlpatterns = [
    path("", views.start, name="start"),
    path("datenschutz/", views.privacy, name="privacy"),
    path("barrierefreiheit/", views.accessibility, name="accessibility"),
    path("leichte-sprache/", views.easy_read, name="easy_read"),
    path("impressum/", views.imprint, name="imprint"),
    path("standorte/", views.locations, name="locations"),
    path("termin/", views.search, name="search"),
    path("termin/kalender/", views.calendar, name="calendar"),
    path("termin/reservieren/", views.hold, name="hold"),
    path("captcha/challenge/", views.captcha_challenge, name="captcha_challenge"),
    path("termin/<str:reference>/angaben/", views.details, name="details"),
    path("termin/<str:reference>/gesendet/", views.submitted, name="submitted"),
    path("termin/<str:reference>/bestaetigen/", views.confirm, name="confirm"),
    path("termin/<str:reference>/termin.ics", views.ics, name="ics"),
    path("termin/<str:reference>/stornieren/", views.cancel, name="cancel"),
    path("termin/<str:reference>/verschieben/", views.reschedule, name="reschedule"),
    path("termin/<str:reference>/", views.manage, name="manage"),
]
