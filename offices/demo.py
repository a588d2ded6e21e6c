"""Demo data of both administrations: municipalities, the two offices, the service catalogue with
document checklists, the cooperation rules and a few demo accounts (a clerk for each office).

`seed_demo()` is idempotent: it is keyed on slugs (and usernames), so running it again restores the
demo state instead of adding to it. Addresses and the Frankenthal hours are the published ones
(see DESIGN.md); the Schifferstadt hours, both offices' phone numbers and e-mail addresses and
their travel and accessibility details are example data and marked as such.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils.text import slugify
from simple_history.utils import bulk_create_with_history

from .models import (
    Administration,
    CooperationRule,
    Counter,
    Document,
    Membership,
    Municipality,
    Office,
    OpeningHours,
    Service,
    Weekday,
)

UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def slug_for(name: str) -> str:
    """German spelling of umlauts in slugs (Böhl → boehl), where slugify would drop the dots (bohl)."""
    return slugify(name.translate(UMLAUTS))


RPK = "rhein-pfalz-kreis"
FT = "frankenthal"

ADMINISTRATIONS = {
    RPK: {"name": "Kreisverwaltung Rhein-Pfalz-Kreis", "plate_code": "RP"},
    FT: {"name": "Stadtverwaltung Frankenthal (Pfalz)", "plate_code": "FT"},
}

# (name, postcode, Verbandsgemeinde or "" for a municipality without one, administration slug)
MUNICIPALITIES = [
    ("Schifferstadt", "67105", "", RPK),
    ("Bobenheim-Roxheim", "67240", "", RPK),
    ("Böhl-Iggelheim", "67459", "", RPK),
    ("Limburgerhof", "67117", "", RPK),
    ("Mutterstadt", "67112", "", RPK),
    ("Dannstadt-Schauernheim", "67125", "Dannstadt-Schauernheim", RPK),
    ("Hochdorf-Assenheim", "67126", "Dannstadt-Schauernheim", RPK),
    ("Rödersheim-Gronau", "67127", "Dannstadt-Schauernheim", RPK),
    ("Lambsheim", "67245", "Lambsheim-Heßheim", RPK),
    ("Heßheim", "67258", "Lambsheim-Heßheim", RPK),
    ("Beindersheim", "67259", "Lambsheim-Heßheim", RPK),
    ("Großniedesheim", "67259", "Lambsheim-Heßheim", RPK),
    ("Heuchelheim bei Frankenthal", "67259", "Lambsheim-Heßheim", RPK),
    ("Kleinniedesheim", "67259", "Lambsheim-Heßheim", RPK),
    ("Maxdorf", "67133", "Maxdorf", RPK),
    ("Birkenheide", "67134", "Maxdorf", RPK),
    ("Fußgönheim", "67136", "Maxdorf", RPK),
    ("Waldsee", "67165", "Rheinauen", RPK),
    ("Otterstadt", "67166", "Rheinauen", RPK),
    ("Altrip", "67122", "Rheinauen", RPK),
    ("Neuhofen", "67141", "Rheinauen", RPK),
    ("Dudenhofen", "67373", "Römerberg-Dudenhofen", RPK),
    ("Hanhofen", "67374", "Römerberg-Dudenhofen", RPK),
    ("Harthausen", "67376", "Römerberg-Dudenhofen", RPK),
    ("Römerberg", "67354", "Römerberg-Dudenhofen", RPK),
    ("Frankenthal (Pfalz)", "67227", "", FT),
]

MON, TUE, WED, THU, FRI = Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY
WORKDAYS = [MON, TUE, WED, THU, FRI]


def _hours(spans: list[tuple[list[int], str, str]]) -> list[tuple[int, dt.time, dt.time]]:
    rows = []
    for days, opens, closes in spans:
        for day in days:
            rows.append((int(day), dt.time.fromisoformat(opens), dt.time.fromisoformat(closes)))
    return sorted(rows)


OFFICES = {
    "schifferstadt": {
        "fields": {
            "name": "Zulassungsstelle Rhein-Pfalz-Kreis",
            "administration": RPK,
            "street": "Bahnhofstraße 37",
            "postcode": "67105",
            "city": "Schifferstadt",
            # Example contact data (the .example domain cannot receive mail): the mails' footer shows it.
            "phone": "06235 0000-0 (Beispiel)",
            "email": "kfz-zulassung@rhein-pfalz-kreis.example",
            "directions": "",
            "directions_en": "",
            # Plausible but not checked with the office: marked as example data wherever they are shown.
            "public_transport_de": (
                "Mit der S-Bahn Rhein-Neckar (S1, S2, S3, S4) bis Schifferstadt Bahnhof, von dort etwa "
                "5 Minuten zu Fuß über die Bahnhofstraße."
            ),
            "public_transport_en": (
                "S-Bahn Rhein-Neckar (S1, S2, S3, S4) to Schifferstadt station, then about a 5-minute walk "
                "along Bahnhofstraße."
            ),
            "parking_de": "Kostenlose Parkplätze im Hof des Gebäudes, davon zwei Behindertenparkplätze am Eingang.",
            "parking_en": "Free parking in the courtyard of the building, two disabled parking spaces by the entrance.",
            "accessibility_de": (
                "Stufenloser Zugang über den Haupteingang, Aufzug zu allen Etagen, barrierefreie Toilette im "
                "Erdgeschoss."
            ),
            "accessibility_en": (
                "Step-free access through the main entrance, a lift to every floor, an accessible toilet on "
                "the ground floor."
            ),
            "visitor_info_is_example": True,
            # Our sources do not publish the Schifferstadt hours: the portal must say these are examples.
            "hours_are_example": True,
        },
        "counters": 6,
        "hours": _hours([(WORKDAYS, "07:30", "12:30"), ([TUE], "13:30", "16:00"), ([THU], "13:30", "18:00")]),
    },
    "frankenthal": {
        "fields": {
            "name": "Zulassungsstelle Frankenthal (Pfalz)",
            "administration": FT,
            "street": "Hammstraße 20",
            "postcode": "67227",
            "city": "Frankenthal (Pfalz)",
            "phone": "06233 0000-0 (Beispiel)",
            "email": "kfz-zulassung@frankenthal.example",
            "directions": "Stadtverwaltung Frankenthal (Pfalz), Abteilung Straßenverkehr.",
            "directions_en": "Town administration of Frankenthal (Pfalz), road traffic department.",
            "public_transport_de": (
                "Mit der S-Bahn (S6) oder dem Regionalzug bis Frankenthal Hauptbahnhof, von dort etwa "
                "10 Minuten zu Fuß; mehrere Stadtbuslinien halten in der Innenstadt."
            ),
            "public_transport_en": (
                "S-Bahn (S6) or regional train to Frankenthal Hauptbahnhof, then about a 10-minute walk; "
                "several town bus lines stop in the town centre."
            ),
            "parking_de": (
                "Öffentliche Parkhäuser in der Innenstadt (gebührenpflichtig), wenige Kurzzeitparkplätze vor dem Haus."
            ),
            "parking_en": (
                "Public multi-storey car parks in the town centre (charged), a few short-stay spaces in front."
            ),
            "accessibility_de": (
                "Eingang mit Rampe, Aufzug vorhanden; bitte melden Sie sich am Empfang, wenn Sie Hilfe brauchen."
            ),
            "accessibility_en": "Entrance with a ramp, a lift inside; please ask at the reception if you need help.",
            # The address and hours are published ones; these details are not (see DESIGN.md).
            "visitor_info_is_example": True,
            "hours_are_example": False,
        },
        "counters": 3,
        "hours": _hours([(WORKDAYS, "08:00", "12:00"), ([THU], "14:00", "18:00")]),
    },
}

OFFICE_DEFAULTS = {"slot_minutes": 5, "booking_horizon_days": 56, "min_lead_minutes": 120, "is_active": True}

# (slug, German, English); the list order is the display order.
DOCUMENTS = [
    (
        "ausweis",
        "Personalausweis oder Reisepass mit Meldebescheinigung",
        "Identity card, or passport with a certificate of registration",
    ),
    (
        "evb-nummer",
        "eVB-Nummer (elektronische Versicherungsbestätigung Ihrer Kfz-Versicherung)",
        "eVB number (electronic insurance confirmation from your motor insurer)",
    ),
    (
        "zb-teil-1",
        "Zulassungsbescheinigung Teil I (Fahrzeugschein)",
        "Registration certificate part I (Fahrzeugschein)",
    ),
    (
        "zb-teil-2",
        "Zulassungsbescheinigung Teil II (Fahrzeugbrief)",
        "Registration certificate part II (Fahrzeugbrief)",
    ),
    (
        "vorhandene-zb",
        "Der noch vorhandene Teil der Zulassungsbescheinigung",
        "The part of the registration certificate you still have",
    ),
    ("sepa-mandat", "SEPA-Lastschriftmandat für die Kfz-Steuer", "SEPA direct debit mandate for the vehicle tax"),
    (
        "hu-bericht",
        "Bericht über die letzte Hauptuntersuchung (HU)",
        "Report of the last periodic technical inspection (HU)",
    ),
    ("coc", "Übereinstimmungsbescheinigung (COC)", "Certificate of conformity (CoC)"),
    ("oldtimer-gutachten", "Oldtimer-Gutachten nach § 23 StVZO", "Historic vehicle assessment under § 23 StVZO"),
    ("kennzeichenschilder", "Bisherige Kennzeichenschilder", "Current number plates"),
    (
        "verwertungsnachweis",
        "Verwertungsnachweis (bei Verschrottung)",
        "Certificate of destruction (if the vehicle is scrapped)",
    ),
    (
        "nachweis-namensaenderung",
        "Nachweis der Namensänderung, z. B. Heiratsurkunde (bei Namensänderung)",
        "Proof of the change of name, e.g. marriage certificate (for a change of name)",
    ),
    (
        "verlusterklaerung",
        "Verlusterklärung / Eidesstattliche Versicherung (wird vor Ort abgegeben)",
        "Declaration of loss / statutory declaration (made at the office)",
    ),
    ("diebstahlanzeige", "Polizeiliche Diebstahlanzeige (bei Diebstahl)", "Police report of the theft (if stolen)"),
    (
        "vollmacht",
        "Vollmacht und Ausweis der vertretenen Person (bei Vertretung)",
        "Power of attorney and ID of the person represented (if you act for someone)",
    ),
    (
        "gewerbenachweis",
        "Gewerbeanmeldung oder Handelsregisterauszug (bei Firmen)",
        "Trade registration or commercial register extract (for companies)",
    ),
]

# Documents asked for whenever someone registers a vehicle in their name.
_REGISTER = ["ausweis", "evb-nummer", "sepa-mandat"]
_ON_BEHALF = ["vollmacht", "gewerbenachweis"]

# No official durations exist; these are the defaults of DESIGN.md (first vehicle, each further one).
SERVICES = [
    {
        "slug": "neuzulassung",
        "minutes": (15, 15),
        "max_vehicles": 3,
        "name_de": "Neuzulassung",
        "name_en": "New registration",
        "description_de": "Erstmalige Zulassung eines neuen oder importierten Fahrzeugs auf Ihren Namen.",
        "description_en": "First registration of a new or imported vehicle in your name.",
        "documents": [*_REGISTER, "zb-teil-2", "coc", *_ON_BEHALF],
    },
    {
        "slug": "umschreibung",
        "minutes": (15, 15),
        "max_vehicles": 3,
        "name_de": "Umschreibung / Halterwechsel",
        "name_en": "Change of keeper",
        "description_de": "Zulassung eines gebrauchten, noch zugelassenen Fahrzeugs auf den neuen Halter.",
        "description_en": "Registering a used vehicle, still registered to its previous keeper, to its new keeper.",
        "documents": [*_REGISTER, "zb-teil-1", "zb-teil-2", "hu-bericht", "kennzeichenschilder", *_ON_BEHALF],
    },
    {
        "slug": "wiederzulassung",
        "minutes": (15, 15),
        "max_vehicles": 3,
        "name_de": "Wiederzulassung",
        "name_en": "Re-registration",
        "description_de": "Erneute Zulassung eines außer Betrieb gesetzten Fahrzeugs.",
        "description_en": "Registering a deregistered vehicle again.",
        "documents": [*_REGISTER, "zb-teil-1", "zb-teil-2", "hu-bericht", *_ON_BEHALF],
    },
    {
        "slug": "ausserbetriebsetzung",
        "minutes": (5, 5),
        "max_vehicles": 3,
        "name_de": "Außerbetriebsetzung (Abmeldung)",
        "name_en": "Deregistration",
        "description_de": "Abmeldung eines Fahrzeugs, zum Beispiel vor Verkauf, Stilllegung oder Verschrottung.",
        "description_en": "Taking a vehicle off the road, for example before a sale, storage or scrapping.",
        "documents": ["zb-teil-1", "kennzeichenschilder", "verwertungsnachweis"],
    },
    {
        "slug": "adressaenderung",
        "minutes": (10, 5),
        "max_vehicles": 3,
        "name_de": "Anschriften- oder Namensänderung",
        "name_en": "Change of address or name",
        "description_de": "Eintragung Ihrer neuen Anschrift innerhalb des Zulassungsbezirks oder Ihres neuen Namens.",
        "description_en": "Recording your new address within the district or your new name.",
        "documents": ["ausweis", "zb-teil-1", "nachweis-namensaenderung", "vollmacht"],
    },
    {
        "slug": "umzug-kennzeichenmitnahme",
        "minutes": (10, 5),
        "max_vehicles": 3,
        "name_de": "Umzug mit Kennzeichenmitnahme",
        "name_en": "Moving here and keeping your number plate",
        "description_de": "Sie ziehen aus einem anderen Bezirk zu und behalten Ihr bisheriges Kennzeichen.",
        "description_en": "You moved here from another district and keep your current number plate.",
        "documents": ["ausweis", "zb-teil-1", "zb-teil-2", "hu-bericht", "vollmacht"],
    },
    {
        "slug": "kurzzeitkennzeichen",
        "minutes": (15, 10),
        "max_vehicles": 3,
        "name_de": "Kurzzeitkennzeichen",
        "name_en": "Short-term number plate",
        "description_de": "Kennzeichen für bis zu fünf Tage, etwa für Probe- oder Überführungsfahrten.",
        "description_en": "A number plate valid for up to five days, e.g. for test drives or transfers.",
        "documents": ["ausweis", "evb-nummer", "zb-teil-1", "zb-teil-2", "hu-bericht", "vollmacht"],
    },
    {
        "slug": "saisonkennzeichen",
        "minutes": (15, 10),
        "max_vehicles": 3,
        "name_de": "Saisonkennzeichen",
        "name_en": "Seasonal number plate",
        "description_de": "Zulassung, die jedes Jahr nur in den von Ihnen gewählten Monaten gilt.",
        "description_en": "A registration that is valid only in the months you choose, every year.",
        "documents": [*_REGISTER, "zb-teil-1", "zb-teil-2", "hu-bericht", "kennzeichenschilder", "vollmacht"],
    },
    {
        "slug": "h-kennzeichen",
        "minutes": (25, 20),
        "max_vehicles": 3,
        "name_de": "H-Kennzeichen (Oldtimer)",
        "name_en": "H plate (historic vehicle)",
        "description_de": "Kennzeichen für Fahrzeuge ab 30 Jahren, die als Oldtimer begutachtet wurden.",
        "description_en": "A plate for vehicles at least 30 years old that were assessed as historic.",
        "documents": [
            *_REGISTER,
            "zb-teil-1",
            "zb-teil-2",
            "hu-bericht",
            "oldtimer-gutachten",
            "kennzeichenschilder",
            "vollmacht",
        ],
    },
    {
        "slug": "e-kennzeichen",
        "minutes": (10, 5),
        "max_vehicles": 3,
        "name_de": "E-Kennzeichen (Elektrofahrzeug)",
        "name_en": "E plate (electric vehicle)",
        "description_de": "Kennzeichen mit dem Zusatz E für ein Elektro- oder Plug-in-Hybridfahrzeug.",
        "description_en": "A number plate with the suffix E for an electric or plug-in hybrid vehicle.",
        "documents": ["ausweis", "zb-teil-1", "kennzeichenschilder", "vollmacht"],
    },
    {
        # A Wechselkennzeichen is shared by exactly two vehicles, so no third one.
        "slug": "wechselkennzeichen",
        "minutes": (20, 15),
        "max_vehicles": 2,
        "name_de": "Wechselkennzeichen",
        "name_en": "Interchangeable number plate",
        "description_de": "Ein gemeinsames Kennzeichen für zwei Fahrzeuge derselben Fahrzeugklasse.",
        "description_en": "One number plate shared by two vehicles of the same class.",
        "documents": [*_REGISTER, "zb-teil-1", "zb-teil-2", "hu-bericht", "kennzeichenschilder", "vollmacht"],
    },
    {
        "slug": "ausfuhrkennzeichen",
        "minutes": (20, 15),
        "max_vehicles": 3,
        "name_de": "Ausfuhrkennzeichen",
        "name_en": "Export number plate",
        "description_de": "Kennzeichen, um ein Fahrzeug dauerhaft ins Ausland zu überführen.",
        "description_en": "A number plate for taking a vehicle abroad for good.",
        "documents": ["ausweis", "evb-nummer", "zb-teil-1", "zb-teil-2", "hu-bericht", "vollmacht"],
    },
    {
        "slug": "ersatz-zulassungsbescheinigung",
        "minutes": (25, 0),
        "max_vehicles": 1,
        "name_de": "Ersatz der Zulassungsbescheinigung Teil I oder II",
        "name_en": "Replacement registration certificate (part I or II)",
        "description_de": "Neue Zulassungsbescheinigung, wenn Teil I oder II verloren, gestohlen oder beschädigt ist.",
        "description_en": "A new registration certificate when part I or part II is lost, stolen or damaged.",
        "documents": ["ausweis", "vorhandene-zb", "hu-bericht", "verlusterklaerung", "diebstahlanzeige", "vollmacht"],
    },
    {
        "slug": "kennzeichenverlust",
        "minutes": (25, 0),
        "max_vehicles": 1,
        "name_de": "Verlust oder Diebstahl der Kennzeichen",
        "name_en": "Lost or stolen number plates",
        "description_de": "Neue Kennzeichenschilder, wenn eines oder beide verloren oder gestohlen wurden.",
        "description_en": "New number plates when one or both have been lost or stolen.",
        "documents": [
            "ausweis",
            "zb-teil-1",
            "kennzeichenschilder",
            "verlusterklaerung",
            "diebstahlanzeige",
            "vollmacht",
        ],
    },
]

# Each office serves its own administration implicitly; these rules open it to the partner's residents.
COOPERATION = [("schifferstadt", FT), ("frankenthal", RPK)]

DEMO_ADMIN_PASSWORD = "demo-admin-2026"
DEMO_CLERK_PASSWORD = "demo-clerk-2026"
DEMO_ACCOUNTS = [
    # (username, password, superuser, first name, last name, office slug of the clerk's membership)
    # The superuser sees every office without a membership; a clerk sees only their own office.
    ("admin", DEMO_ADMIN_PASSWORD, True, "Demo", "Administrator", None),
    ("clerk-schifferstadt", DEMO_CLERK_PASSWORD, False, "Demo", "Sachbearbeitung Schifferstadt", "schifferstadt"),
    ("clerk-frankenthal", DEMO_CLERK_PASSWORD, False, "Demo", "Sachbearbeitung Frankenthal", "frankenthal"),
]


@transaction.atomic
def seed_demo() -> dict[str, str]:
    """Create or restore the demo data; return the demo accounts as {username: password}."""
    administrations = {
        slug: Administration.objects.update_or_create(slug=slug, defaults=fields)[0]
        for slug, fields in ADMINISTRATIONS.items()
    }
    for name, postcode, association, administration in MUNICIPALITIES:
        Municipality.objects.update_or_create(
            slug=slug_for(name),
            defaults={
                "name": name,
                "postcode": postcode,
                "association": association,
                "administration": administrations[administration],
            },
        )

    offices = {}
    for slug, spec in OFFICES.items():
        fields = {**OFFICE_DEFAULTS, **spec["fields"]}
        fields["administration"] = administrations[fields["administration"]]
        office = Office.objects.update_or_create(slug=slug, defaults=fields)[0]
        offices[slug] = office
        for number in range(1, spec["counters"] + 1):
            counter = Counter.objects.update_or_create(
                office=office, name=f"Schalter {number}", defaults={"is_active": True}
            )[0]
            counter.services.clear()  # empty means: every service the office offers
        _replace_opening_hours(office, spec["hours"])

    documents = {}
    for position, (slug, name_de, name_en) in enumerate(DOCUMENTS, start=1):
        documents[slug] = Document.objects.update_or_create(
            slug=slug, defaults={"name_de": name_de, "name_en": name_en, "position": position * 10}
        )[0]

    for position, spec in enumerate(SERVICES, start=1):
        first, extra = spec["minutes"]
        service = Service.objects.update_or_create(
            slug=spec["slug"],
            defaults={
                "name_de": spec["name_de"],
                "name_en": spec["name_en"],
                "description_de": spec["description_de"],
                "description_en": spec["description_en"],
                "minutes_first_vehicle": first,
                "minutes_per_extra_vehicle": extra,
                "max_vehicles": spec["max_vehicles"],
                "bookable_online": True,
                "position": position * 10,
            },
        )[0]
        service.documents.set([documents[slug] for slug in spec["documents"]])
        service.offices.set(offices.values())

    for office_slug, administration_slug in COOPERATION:
        _ensure_cooperation_rule(offices[office_slug], administrations[administration_slug])

    return _ensure_demo_accounts(offices)


def _replace_opening_hours(office: Office, hours: list[tuple[int, dt.time, dt.time]]) -> None:
    """Make the demo hours the office's only hours. Rows stay untouched when they already match,
    so a rerun changes nothing at all."""
    existing = sorted(
        (row.counter_id, row.weekday, row.opens, row.closes) for row in OpeningHours.objects.filter(office=office)
    )
    if existing == [(None, *row) for row in hours]:
        return
    OpeningHours.objects.filter(office=office).delete()
    # With their history rows, so that the audit trail shows what a later change changed from.
    bulk_create_with_history(
        [
            OpeningHours(office=office, counter=None, weekday=weekday, opens=opens, closes=closes)
            for weekday, opens, closes in hours
        ],
        OpeningHours,
    )


def _ensure_cooperation_rule(office: Office, administration: Administration) -> None:
    """One unrestricted rule per pair; rules have no slug, so the pair is the key."""
    rules = list(CooperationRule.objects.filter(office=office, administration=administration).order_by("pk"))
    rule = rules[0] if rules else CooperationRule(office=office, administration=administration)
    for duplicate in rules[1:]:
        duplicate.delete()
    rule.valid_from = None
    rule.valid_until = None
    rule.note = "Zweckvereinbarung IKZ Vorderpfalz (Demo)"
    rule.save()
    rule.services.clear()  # empty means: all services


def _ensure_demo_accounts(offices: dict[str, Office]) -> dict[str, str]:
    User = get_user_model()
    accounts = {}
    for username, password, superuser, first_name, last_name, office_slug in DEMO_ACCOUNTS:
        user, created = User.objects.update_or_create(
            username=username,
            defaults={
                "is_active": True,
                "is_staff": True,
                "is_superuser": superuser,
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@kfz-zulassung-vorderpfalz.example",
            },
        )
        # Hashes are salted: keep a hash that already matches, so a rerun leaves the row as it is.
        # (The tests hash with one round: tests/settings.py.)
        if created or not user.check_password(password):
            user.password = make_password(password)
            user.save(update_fields=["password"])
        _ensure_membership(user, offices.get(office_slug))
        accounts[username] = password
    return accounts


def _ensure_membership(user, office: Office | None) -> None:
    """A demo clerk works for exactly their own office, as a clerk (not as an office lead)."""
    memberships = Membership.objects.filter(user=user)
    if office is None:
        memberships.delete()
        return
    memberships.exclude(office=office).delete()
    membership, created = Membership.objects.get_or_create(
        user=user, office=office, defaults={"role": Membership.Role.CLERK}
    )
    if not created and membership.role != Membership.Role.CLERK:
        membership.role = Membership.Role.CLERK
        membership.save(update_fields=["role"])
