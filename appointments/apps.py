from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = _("Appointments")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from appointments.desk.session import stamp_login

        # Every login starts a staff session's working day (STAFF_SESSION_MAX_HOURS).
        user_logged_in.connect(stamp_login, dispatch_uid="appointments.desk.session.stamp_login")
