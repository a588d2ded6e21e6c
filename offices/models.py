"""What an administrator configures: administrations, municipalities, offices, counters, hours,
closures, services and the cooperation rules. This app knows nothing of appointments."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

postcode_validator = RegexValidator(r"^\d{5}$", _("A postcode has five digits."))


def localized(obj, field: str) -> str:
    """The English variant of a `<field>_de`/`<field>_en` pair when English is active and filled."""
    if (get_language() or "de").startswith("en"):
        value = getattr(obj, f"{field}_en", "")
        if value:
            return value
    return getattr(obj, f"{field}_de")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class Administration(models.Model):
    """A partner of the cooperation: the Rhein-Pfalz-Kreis or the Stadt Frankenthal (Pfalz)."""

    slug = models.SlugField(_("slug"), unique=True)
    name = models.CharField(_("name"), max_length=120)
    plate_code = models.CharField(
        _("plate code"),
        max_length=3,
        unique=True,
        validators=[RegexValidator(r"^[A-Z]{1,3}$", _("One to three capital letters, e.g. RP or FT."))],
        help_text=_("Distinguishing sign on number plates; also the prefix of booking references."),
    )
    email = models.EmailField(_("contact e-mail"), blank=True)
    website = models.URLField(_("website"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("administration")
        verbose_name_plural = _("administrations")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Municipality(models.Model):
    """A municipality of residence. Routing is by municipality; a postcode only pre-fills it."""

    slug = models.SlugField(_("slug"), unique=True, max_length=80)
    name = models.CharField(_("name"), max_length=120)
    postcode = models.CharField(_("postcode"), max_length=5, validators=[postcode_validator], db_index=True)
    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="municipalities", verbose_name=_("administration")
    )
    association = models.CharField(
        _("Verbandsgemeinde"), max_length=120, blank=True, help_text=_("Leave empty for a town without one.")
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.postcode})"


class Office(models.Model):
    """A registration office with counters; appointments are booked here."""

    slug = models.SlugField(_("slug"), unique=True)
    name = models.CharField(_("name"), max_length=160)
    administration = models.ForeignKey(
        Administration, on_delete=models.PROTECT, related_name="offices", verbose_name=_("administration")
    )
    street = models.CharField(_("street and number"), max_length=160)
    postcode = models.CharField(_("postcode"), max_length=5, validators=[postcode_validator])
    city = models.CharField(_("city"), max_length=120)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    directions = models.TextField(
        _("finding the office (German)"),
        blank=True,
        help_text=_("Where the office is, e.g. the building, the entrance or the floor. Shown in the e-mails."),
    )
    directions_en = models.TextField(_("finding the office (English)"), blank=True)
    public_transport_de = models.TextField(
        _("public transport (German)"),
        blank=True,
        help_text=_("How to get there by bus and train: stops, lines, walking time. Text only."),
    )
    public_transport_en = models.TextField(_("public transport (English)"), blank=True)
    parking_de = models.TextField(_("parking (German)"), blank=True)
    parking_en = models.TextField(_("parking (English)"), blank=True)
    accessibility_de = models.TextField(
        _("accessibility of the building (German)"),
        blank=True,
        help_text=_("Step-free access, lift, accessible toilet, disabled parking, help at the entrance."),
    )
    accessibility_en = models.TextField(_("accessibility of the building (English)"), blank=True)
    visitor_info_is_example = models.BooleanField(
        _("example contact and travel details"),
        default=False,
        help_text=_(
            "Phone, e-mail, public transport, parking and accessibility are example data and not the "
            "office's published details."
        ),
    )
    slot_minutes = models.PositiveSmallIntegerField(
        _("slot grid (minutes)"),
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_("Appointments start on this grid, counted from midnight, e.g. every 5 minutes."),
    )
    booking_horizon_days = models.PositiveSmallIntegerField(
        _("booking horizon (days)"),
        default=56,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("How many days ahead citizens may book."),
    )
    min_lead_minutes = models.PositiveIntegerField(
        _("minimum lead time (minutes)"),
        default=120,
        help_text=_("How long before an appointment it can be booked online at the latest."),
    )
    local_reserve_percent = models.PositiveSmallIntegerField(
        _("local reserve (%)"),
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_(
            "Share of the office's counter time on a day that only residents of its own administration "
            "can book, until the reserve is released."
        ),
    )
    reserve_release_days = models.PositiveSmallIntegerField(
        _("reserve released (days before)"),
        default=3,
        validators=[MaxValueValidator(365)],
        help_text=_("This many days before a day, its local reserve opens to the partner's residents."),
    )
    hours_are_example = models.BooleanField(
        _("example hours"),
        default=False,
        help_text=_("The opening hours are example data and not the office's published hours."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("office")
        verbose_name_plural = _("offices")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        # A daylight-saving change shifts the wall clock by 60 minutes: the grid must divide it.
        if self.slot_minutes and 60 % self.slot_minutes:
            raise ValidationError(
                {"slot_minutes": _("The slot grid must divide an hour (5, 10, 15, 20, 30 or 60 minutes).")}
            )

    @property
    def address(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}"

    # English where it is filled, else German (as for services).
    @property
    def public_transport(self) -> str:
        return localized(self, "public_transport")

    @property
    def parking(self) -> str:
        return localized(self, "parking")

    @property
    def accessibility(self) -> str:
        return localized(self, "accessibility")


class Counter(models.Model):
    """A registration counter (Schalter) of an office: the unit that an appointment occupies."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="counters", verbose_name=_("office"))
    name = models.CharField(_("name"), max_length=60)
    services = models.ManyToManyField(
        "Service",
        blank=True,
        related_name="counters",
        verbose_name=_("services"),
        help_text=_("Leave empty when the counter handles every service the office offers."),
    )
    bookable_online = models.BooleanField(
        _("bookable online"),
        default=True,
        help_text=_(
            "Switch off to keep this counter's time for walk-ins and phone bookings by staff "
            "(the office's internal contingent)."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)

    history = HistoricalRecords(m2m_fields=["services"])

    class Meta:
        verbose_name = _("counter")
        verbose_name_plural = _("counters")
        ordering = ["office", "name"]
        constraints = [models.UniqueConstraint(fields=["office", "name"], name="counter_unique_name_per_office")]

    def __str__(self):
        return f"{self.office.name} – {self.name}"


class OpeningHours(models.Model):
    """One working interval on a weekday. Rows without a counter are the office's hours; a counter
    with rows of its own works only those (its own hours replace the office's entirely)."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="opening_hours", verbose_name=_("office"))
    counter = models.ForeignKey(
        Counter,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="opening_hours",
        verbose_name=_("counter"),
        help_text=_("Leave empty for the office's hours."),
    )
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["office", "counter", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=Q(opens__lt=models.F("closes")),
                name="opening_hours_opens_before_closes",
                violation_error_message=_("The opening time must be before the closing time."),
            )
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"

    def clean(self):
        if self.opens is None or self.closes is None:
            return
        if self.opens >= self.closes:
            raise ValidationError({"closes": _("The opening time must be before the closing time.")})
        if self.counter_id and self.office_id and self.counter.office_id != self.office_id:
            raise ValidationError({"counter": _("This counter belongs to another office.")})
        overlapping = OpeningHours.objects.filter(
            office_id=self.office_id,
            counter_id=self.counter_id,
            weekday=self.weekday,
            opens__lt=self.closes,
            closes__gt=self.opens,
        ).exclude(pk=self.pk)
        if overlapping.exists():
            other = overlapping.first()
            raise ValidationError(
                _("These hours overlap %(other)s on the same day.")
                % {"other": f"{other.opens:%H:%M}–{other.closes:%H:%M}"}
            )


class Closure(models.Model):
    """The office or one counter is closed: whole days, or a time range on each day of the period."""

    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="closures", verbose_name=_("office"))
    counter = models.ForeignKey(
        Counter,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="closures",
        verbose_name=_("counter"),
        help_text=_("Leave empty to close the whole office."),
    )
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until (inclusive)"))
    start_time = models.TimeField(_("from time"), null=True, blank=True, help_text=_("Empty: the whole day."))
    end_time = models.TimeField(_("until time"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
        editable=False,
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        ordering = ["office", "start_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_date__lte=models.F("end_date")),
                name="closure_start_not_after_end",
                violation_error_message=_("The closure must not end before it starts."),
            ),
            models.CheckConstraint(
                condition=(Q(start_time__isnull=True) & Q(end_time__isnull=True))
                | (Q(start_time__isnull=False) & Q(end_time__isnull=False) & Q(start_time__lt=models.F("end_time"))),
                name="closure_times_both_or_none",
                violation_error_message=_("Give both times with the start before the end, or neither for whole days."),
            ),
        ]

    def __str__(self):
        return f"{self.reason} ({self.start_date:%d.%m.%Y}–{self.end_date:%d.%m.%Y})"

    def clean(self):
        if self.start_date and self.end_date and self.start_date > self.end_date:
            raise ValidationError({"end_date": _("The closure must not end before it starts.")})
        if (self.start_time is None) != (self.end_time is None):
            raise ValidationError(_("Give both times for a partial closure, or neither for whole days."))
        if self.start_time and self.end_time and self.start_time >= self.end_time:
            raise ValidationError({"end_time": _("The closure must not end before it starts.")})
        if self.counter_id and self.office_id and self.counter.office_id != self.office_id:
            raise ValidationError({"counter": _("This counter belongs to another office.")})

    @property
    def is_whole_day(self) -> bool:
        return self.start_time is None

    def overlaps(self, other: Closure) -> bool:
        """Both close something on a common day at a common time (whole days overlap every time)."""
        if self.start_date > other.end_date or other.start_date > self.end_date:
            return False
        if self.is_whole_day or other.is_whole_day:
            return True
        return self.start_time < other.end_time and other.start_time < self.end_time


class Membership(models.Model):
    """A staff account works for an office: it sees that office's schedule and acts on its bookings.
    An office lead may also close the whole office; superusers need no membership."""

    class Role(models.TextChoices):
        CLERK = "clerk", _("clerk")
        OFFICE_LEAD = "office_lead", _("office lead")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("office"))
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.CLERK)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["office", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "office"], name="membership_unique_per_office")]

    def __str__(self):
        return f"{self.user} – {self.office.name} ({self.get_role_display()})"


class AdministrationManager(models.Model):
    """A staff account administers the staff of an administration: in the admin it manages the
    memberships of that administration's offices, and only those (the partner's staff are the
    partner's business). Superusers manage everything and need no such link."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="managed_administrations",
        verbose_name=_("user"),
    )
    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="managers", verbose_name=_("administration")
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("administrator of an administration")
        verbose_name_plural = _("administrators of an administration")
        ordering = ["administration", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "administration"], name="administration_manager_unique")]

    def __str__(self):
        return f"{self.user} – {self.administration.name}"


class HolidayOpening(models.Model):
    """The office opens with its regular hours on a day that is a public holiday."""

    office = models.ForeignKey(
        Office, on_delete=models.CASCADE, related_name="holiday_openings", verbose_name=_("office")
    )
    date = models.DateField(_("date"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("opening on a public holiday")
        verbose_name_plural = _("openings on public holidays")
        ordering = ["office", "date"]
        constraints = [models.UniqueConstraint(fields=["office", "date"], name="holiday_opening_unique")]

    def __str__(self):
        return f"{self.office.name}: {self.date:%d.%m.%Y}"

    def clean(self):
        from .hours import public_holidays

        if self.date and self.date not in public_holidays(self.date.year):
            raise ValidationError({"date": _("This day is not a public holiday in Rhineland-Palatinate.")})


class Document(models.Model):
    """A document a citizen must bring (ID card, eVB number, Zulassungsbescheinigung Teil I …)."""

    slug = models.SlugField(_("slug"), unique=True)
    name_de = models.CharField(_("name (German)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=100)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["position", "name_de"]

    def __str__(self):
        return self.name_de

    @property
    def name(self) -> str:
        return localized(self, "name")


class Service(models.Model):
    """A concern (Anliegen). Its length: minutes for the first vehicle plus minutes per further one."""

    slug = models.SlugField(_("slug"), unique=True)
    name_de = models.CharField(_("name (German)"), max_length=160)
    name_en = models.CharField(_("name (English)"), max_length=160, blank=True)
    description_de = models.TextField(_("description (German)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    minutes_first_vehicle = models.PositiveSmallIntegerField(
        _("minutes for the first vehicle"), validators=[MinValueValidator(1), MaxValueValidator(240)]
    )
    minutes_per_extra_vehicle = models.PositiveSmallIntegerField(
        _("minutes per further vehicle"), default=0, validators=[MaxValueValidator(240)]
    )
    max_vehicles = models.PositiveSmallIntegerField(
        _("maximum vehicles"), default=3, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    documents = models.ManyToManyField(Document, blank=True, related_name="services", verbose_name=_("documents"))
    bookable_online = models.BooleanField(_("bookable online"), default=True)
    offices = models.ManyToManyField(Office, blank=True, related_name="services", verbose_name=_("offices"))
    position = models.PositiveSmallIntegerField(_("position"), default=100)

    history = HistoricalRecords(m2m_fields=["documents", "offices"])

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["position", "name_de"]
        constraints = [
            models.CheckConstraint(
                condition=Q(minutes_first_vehicle__gt=0),
                name="service_has_duration",
                violation_error_message=_("A service needs a duration of at least one minute."),
            ),
            models.CheckConstraint(condition=Q(max_vehicles__gte=1), name="service_max_vehicles_positive"),
        ]

    def __str__(self):
        return self.name_de

    @property
    def name(self) -> str:
        return localized(self, "name")

    @property
    def description(self) -> str:
        return localized(self, "description")

    def clean(self):
        if not self.minutes_first_vehicle:
            raise ValidationError({"minutes_first_vehicle": _("A service needs a duration of at least one minute.")})

    def minutes_for(self, vehicles: int) -> int:
        return self.minutes_first_vehicle + self.minutes_per_extra_vehicle * max(vehicles - 1, 0)


class CooperationRule(models.Model):
    """An office may serve residents of another administration (FZV § 75(4) consent by agreement).

    An office always serves the residents of its own administration; these rules open it to the
    partner's residents within the validity period: for all services, only for the ones listed, or
    for all but the ones listed. A service left out of every rule of an office is pool-excluded for
    the partner's residents: they are offered it only at their home office.
    """

    class Scope(models.TextChoices):
        ONLY = "only", _("only the listed services (all services when none is listed)")
        EXCEPT = "except", _("all services except the listed ones")

    office = models.ForeignKey(
        Office, on_delete=models.CASCADE, related_name="cooperation_rules", verbose_name=_("office")
    )
    administration = models.ForeignKey(
        Administration, on_delete=models.CASCADE, related_name="cooperation_rules", verbose_name=_("residents of")
    )
    services = models.ManyToManyField(
        Service,
        blank=True,
        related_name="cooperation_rules",
        verbose_name=_("services"),
        help_text=_("Leave empty for all services."),
    )
    scope = models.CharField(
        _("the rule covers"),
        max_length=10,
        choices=Scope.choices,
        default=Scope.ONLY,
        help_text=_(
            "With “all services except the listed ones”, the listed services stay with the home authority: "
            "the partner's residents can book them only at their own office. Rules add up: a service that "
            "another rule of this office covers for the same residents is still offered."
        ),
    )
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    history = HistoricalRecords(m2m_fields=["services"])

    class Meta:
        verbose_name = _("cooperation rule")
        verbose_name_plural = _("cooperation rules")
        ordering = ["office", "administration"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_until__isnull=True)
                | Q(valid_from__lte=models.F("valid_until")),
                name="cooperation_rule_valid_period",
                violation_error_message=_("The rule must not end before it starts."),
            )
        ]

    def __str__(self):
        return f"{self.office.name} → {self.administration.name}"

    def clean(self):
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ValidationError({"valid_until": _("The rule must not end before it starts.")})

    def covers(self, service_ids: set[int], listed_ids: frozenset[int] | set[int]) -> bool:
        """Does this rule (with `listed_ids`, its services) cover a request for all of `service_ids`?
        Takes the listed ids so that callers that read the services once can pass them."""
        if self.scope == self.Scope.EXCEPT:
            return set(service_ids).isdisjoint(listed_ids)
        return not listed_ids or set(service_ids).issubset(listed_ids)


class ConfigVersion(models.Model):
    """A number that changes with every change to the configuration tables (set by database
    triggers, see migration 0008), so that a process may keep the configuration in memory and
    know when to read it again (offices.config)."""

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON)
    version = models.BigIntegerField()

    class Meta:
        verbose_name = _("configuration version")
        verbose_name_plural = _("configuration versions")

    def __str__(self):
        return str(self.version)
