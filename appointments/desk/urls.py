"""The clerks' workspace under /mitarbeiter/. The fixed words come first: an office slug such as
"suche" must not shadow them. The QR code in the confirmation e-mail links to `checkin`: keep its
name and shape (the reference as the only argument)."""

from django.contrib.auth import views as auth_views
from django.urls import path, register_converter, reverse_lazy

from appointments.desk import hours_views, report_views, second_factor, views
from appointments.desk.login import StaffLoginView


class IsoDate:
    """YYYY-MM-DD in the URL; whether it is a real day is the view's concern (a 404 page, not a 500)."""

    regex = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)


register_converter(IsoDate, "clerkday")

app_name = "clerk"

urlpatterns = [
    path("", views.home, name="home"),
    path("anmelden/", StaffLoginView.as_view(), name="login"),
    path("abmelden/", auth_views.LogoutView.as_view(next_page=reverse_lazy("clerk:login")), name="logout"),
    path("zwei-faktor/", second_factor.setup, name="second_factor_setup"),
    path("suche/", views.search, name="search"),
    path("berichte/", report_views.reports, name="reports"),
    path("berichte/abrechnung.csv", report_views.settlement_csv, name="settlement_csv"),
    path("berichte/monatszahlen.csv", report_views.figures_csv, name="figures_csv"),
    path("checkin/<str:reference>/", views.checkin_link, name="checkin"),
    path("termin/<str:reference>/", views.appointment, name="appointment"),
    path("termin/<str:reference>/notiz/", views.note, name="note"),
    path("termin/<str:reference>/absagen/", views.cancel, name="cancel"),
    path("termin/<str:reference>/verschieben/", views.move, name="move"),
    path("termin/<str:reference>/folgetermin/", views.follow_up, name="follow_up"),
    path("termin/<str:reference>/<slug:action>/", views.act, name="act"),
    path("<slug:office>/", views.office_today, name="office"),
    path("<slug:office>/sperren/", views.block, name="block"),
    path("<slug:office>/sperren/liste/", views.closures, name="closures"),
    path("<slug:office>/sperren/<int:pk>/neu-verteilen/", views.closure_relocate, name="closure_relocate"),
    path("<slug:office>/oeffnungszeiten/", hours_views.hours, name="hours"),
    path("<slug:office>/oeffnungszeiten/<int:year>/", hours_views.hours_year, name="hours_year"),
    path("<slug:office>/oeffnungszeiten/<int:year>/vorlage/", hours_views.hours_preset, name="hours_preset"),
    path("<slug:office>/oeffnungszeiten/<int:year>/neu/", hours_views.hours_closure_add, name="hours_new_closure"),
    path(
        "<slug:office>/oeffnungszeiten/<int:year>/schliessung/<int:pk>/loeschen/",
        hours_views.hours_closure_delete,
        name="hours_closure_delete",
    ),
    path("<slug:office>/oeffnungszeiten/<int:year>/feiertag/", hours_views.hours_holiday, name="hours_holiday"),
    path("<slug:office>/<clerkday:day>/", views.schedule, name="schedule"),
    path("<slug:office>/<clerkday:day>/aktuell/", views.schedule_fragment, name="schedule_fragment"),
    path("<slug:office>/<clerkday:day>/export.csv", views.export_csv, name="export_csv"),
    path("<slug:office>/<clerkday:day>/neu/", views.walk_in, name="walk_in"),
]
