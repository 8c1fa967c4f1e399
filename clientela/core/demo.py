"""Demo data: believable, multi-country, deterministic, and fast enough for 100,000 contacts.

``demo_dataset_load`` fills an installation with users in every role, three sales teams, organizations
and contacts across fourteen countries (names and addresses from Faker's locale for that country, valid
E.164 phone numbers from ``phonenumbers``' metadata, emails that fit the names and the organizations'
domains), tags, custom fields and one "created" event per record. The same seed gives the same data; times
are relative to the moment of loading.

It is a bulk path, like an import: rows are built in memory and written with ``bulk_create`` in batches,
and events through ``events_bulk_record``, instead of one service call per row, which would take hours
for the large size. Every value is one that the services would accept. All email addresses and websites
use reserved ``.example`` domains, so nothing the demo holds can reach a real mailbox or site.
"""

from __future__ import annotations

import math
import os
import random
import secrets
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import phonenumbers
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone
from faker import Faker

from clientela.core.events import events_bulk_record
from clientela.core.models import CustomFieldDefinition, CustomFieldType, DemoDataset, Event, Tag
from clientela.core.permissions import Role
from clientela.core.services import custom_field_definition_create, tag_get_or_create
from clientela.identity.models import Team, User
from clientela.parties.choices import (
    ContactSource,
    EmailKind,
    Industry,
    LifecycleStage,
    PhoneKind,
    SizeBand,
)
from clientela.parties.events import ContactEvent, OrganizationEvent
from clientela.parties.models import (
    Affiliation,
    Contact,
    ContactEmail,
    ContactPhone,
    Organization,
)
from clientela.parties.search import contact_search_text, organization_search_text

DEMO_EMAIL_DOMAIN = "demo.clientela.example"
ADMIN_EMAIL = f"admin@{DEMO_EMAIL_DOMAIN}"
CREDENTIALS_FILE_NAME = "demo-credentials.txt"
DEFAULT_SEED = 2026
# Rows per bulk_create round trip, and contacts per generation batch (bounds memory at any size).
_INSERT_BATCH = 1000
_CONTACT_BATCH = 5000


@dataclass(frozen=True)
class DemoSize:
    organizations: int
    contacts: int


DEMO_SIZES: dict[str, DemoSize] = {
    "small": DemoSize(organizations=300, contacts=2_000),
    "large": DemoSize(organizations=15_000, contacts=100_000),
}


# -- the world the demo company sells into ------------------------------------------------------

NORDICS_DACH = "Nordics & DACH"
WESTERN_EUROPE = "Western Europe"
AMERICAS_INDIA = "Americas & India"


@dataclass(frozen=True)
class City:
    name: str
    region: str
    # "#" is a random digit and "@" a random capital letter: "SW# #@@" → "SW4 7QJ".
    postal_pattern: str
    # North American area code; elsewhere numbers vary around phonenumbers' example number.
    area_code: str = ""


@dataclass(frozen=True)
class Country:
    code: str
    locale: str
    currency: str
    language: str
    team: str
    # Share of organizations and contacts, relative to the others.
    weight: int
    # What the organizations' domains end in before ".example": "dk" → acme.dk.example.
    domain_suffix: str
    # Currency units per euro, to size annual revenues in the local currency.
    per_euro: float
    cities: tuple[City, ...]
    # Share of people with two surnames ("García López"), as is usual in Spain and Mexico.
    two_surnames: float = 0.0


# fmt: off
COUNTRIES: tuple[Country, ...] = (
    Country("US", "en_US", "USD", "en", AMERICAS_INDIA, 18, "com", 1.08, (
        City("New York", "NY", "100##", "212"), City("San Francisco", "CA", "941##", "415"),
        City("Chicago", "IL", "606##", "312"), City("Austin", "TX", "787##", "512"),
        City("Seattle", "WA", "981##", "206"), City("Boston", "MA", "021##", "617"),
        City("Denver", "CO", "802##", "303"), City("Atlanta", "GA", "303##", "404"),
        City("Miami", "FL", "331##", "305"), City("Minneapolis", "MN", "554##", "612"),
    )),
    Country("DE", "de_DE", "EUR", "de", NORDICS_DACH, 12, "de", 1.0, (
        City("Berlin", "Berlin", "10###"), City("Hamburg", "Hamburg", "20###"),
        City("München", "Bayern", "80###"), City("Köln", "Nordrhein-Westfalen", "50###"),
        City("Frankfurt am Main", "Hessen", "60###"), City("Stuttgart", "Baden-Württemberg", "70###"),
        City("Düsseldorf", "Nordrhein-Westfalen", "40###"), City("Leipzig", "Sachsen", "04###"),
        City("Hannover", "Niedersachsen", "30###"), City("Nürnberg", "Bayern", "90###"),
    )),
    Country("DK", "da_DK", "DKK", "da", NORDICS_DACH, 10, "dk", 7.46, (
        City("København", "", "1###"), City("Aarhus", "", "8000"), City("Odense", "", "50##"),
        City("Aalborg", "", "9000"), City("Frederiksberg", "", "2000"), City("Esbjerg", "", "67##"),
        City("Vejle", "", "7100"), City("Kolding", "", "6000"), City("Roskilde", "", "4000"),
        City("Herning", "", "7400"),
    )),
    Country("GB", "en_GB", "GBP", "en", WESTERN_EUROPE, 10, "co.uk", 0.85, (
        City("London", "Greater London", "EC# #@@"), City("Manchester", "Greater Manchester", "M# #@@"),
        City("Birmingham", "West Midlands", "B# #@@"), City("Leeds", "West Yorkshire", "LS# #@@"),
        City("Glasgow", "Glasgow City", "G# #@@"), City("Bristol", "Bristol", "BS# #@@"),
        City("Edinburgh", "City of Edinburgh", "EH# #@@"), City("Cardiff", "Cardiff", "CF## #@@"),
    )),
    Country("FR", "fr_FR", "EUR", "fr", WESTERN_EUROPE, 7, "fr", 1.0, (
        City("Paris", "Île-de-France", "750##"), City("Lyon", "Auvergne-Rhône-Alpes", "6900#"),
        City("Marseille", "Provence-Alpes-Côte d'Azur", "130##"), City("Toulouse", "Occitanie", "310##"),
        City("Nantes", "Pays de la Loire", "440##"), City("Bordeaux", "Nouvelle-Aquitaine", "330##"),
        City("Lille", "Hauts-de-France", "590##"), City("Strasbourg", "Grand Est", "670##"),
    )),
    Country("IN", "en_IN", "INR", "en", AMERICAS_INDIA, 7, "in", 90.0, (
        City("Bengaluru", "Karnataka", "560###"), City("Mumbai", "Maharashtra", "400###"),
        City("New Delhi", "Delhi", "110###"), City("Hyderabad", "Telangana", "500###"),
        City("Chennai", "Tamil Nadu", "600###"), City("Pune", "Maharashtra", "411###"),
        City("Kolkata", "West Bengal", "700###"), City("Ahmedabad", "Gujarat", "380###"),
    )),
    Country("ES", "es_ES", "EUR", "es", WESTERN_EUROPE, 6, "es", 1.0, (
        City("Madrid", "Madrid", "280##"), City("Barcelona", "Barcelona", "080##"),
        City("Valencia", "Valencia", "460##"), City("Sevilla", "Sevilla", "410##"),
        City("Bilbao", "Bizkaia", "480##"), City("Málaga", "Málaga", "290##"),
        City("Zaragoza", "Zaragoza", "500##"),
    ), two_surnames=0.6),
    Country("MX", "es_MX", "MXN", "es", AMERICAS_INDIA, 6, "com.mx", 19.5, (
        City("Ciudad de México", "CDMX", "0####"), City("Guadalajara", "Jalisco", "44###"),
        City("Monterrey", "Nuevo León", "64###"), City("Puebla", "Puebla", "72###"),
        City("Querétaro", "Querétaro", "76###"), City("Mérida", "Yucatán", "97###"),
        City("Tijuana", "Baja California", "22###"),
    ), two_surnames=0.6),
    Country("SE", "sv_SE", "SEK", "sv", NORDICS_DACH, 5, "se", 11.2, (
        City("Stockholm", "", "1## ##"), City("Göteborg", "", "4## ##"), City("Malmö", "", "2## ##"),
        City("Uppsala", "", "75# ##"), City("Linköping", "", "58# ##"), City("Västerås", "", "72# ##"),
    )),
    Country("NO", "no_NO", "NOK", "nb", NORDICS_DACH, 4, "no", 11.7, (
        City("Oslo", "", "0###"), City("Bergen", "", "50##"), City("Trondheim", "", "70##"),
        City("Stavanger", "", "40##"), City("Drammen", "", "30##"), City("Tromsø", "", "90##"),
    )),
    Country("CH", "de_CH", "CHF", "de", NORDICS_DACH, 4, "ch", 0.95, (
        City("Zürich", "Zürich", "80##"), City("Basel", "Basel-Stadt", "40##"),
        City("Bern", "Bern", "30##"), City("Luzern", "Luzern", "60##"),
        City("Winterthur", "Zürich", "84##"), City("Zug", "Zug", "63##"),
    )),
    Country("CA", "en_CA", "CAD", "en", AMERICAS_INDIA, 4, "ca", 1.48, (
        City("Toronto", "ON", "M#@ #@#", "416"), City("Vancouver", "BC", "V#@ #@#", "604"),
        City("Calgary", "AB", "T#@ #@#", "403"), City("Ottawa", "ON", "K#@ #@#", "613"),
        City("Halifax", "NS", "B#@ #@#", "902"),
    )),
    Country("BR", "pt_BR", "BRL", "pt", AMERICAS_INDIA, 4, "com.br", 5.9, (
        City("São Paulo", "SP", "0####-###"), City("Rio de Janeiro", "RJ", "2####-###"),
        City("Belo Horizonte", "MG", "30###-###"), City("Curitiba", "PR", "80###-###"),
        City("Porto Alegre", "RS", "90###-###"), City("Recife", "PE", "50###-###"),
    )),
    Country("AT", "de_AT", "EUR", "de", NORDICS_DACH, 3, "at", 1.0, (
        City("Wien", "Wien", "1###"), City("Graz", "Steiermark", "80##"),
        City("Linz", "Oberösterreich", "40##"), City("Salzburg", "Salzburg", "50##"),
        City("Innsbruck", "Tirol", "60##"),
    )),
)
# fmt: on

# Job titles as people in each language write them on their business card.
# fmt: off
JOB_TITLES: dict[str, tuple[str, ...]] = {
    "en": (
        "Chief Executive Officer", "Chief Financial Officer", "Chief Technology Officer",
        "Head of Procurement", "Purchasing Manager", "Operations Manager", "IT Manager",
        "Marketing Manager", "Sales Director", "Office Manager", "Project Manager",
        "Finance Director", "HR Business Partner", "Account Manager", "Managing Director",
        "Product Manager", "Supply Chain Manager", "Facilities Manager",
    ),
    "da": (
        "Administrerende direktør", "Økonomichef", "Indkøbschef", "IT-chef", "Salgschef",
        "Marketingchef", "Driftschef", "Projektleder", "Indkøber", "Kontorchef", "HR-partner",
        "Teknisk direktør", "Key account manager", "Produktchef",
    ),
    "de": (
        "Geschäftsführer", "Leiter Einkauf", "Einkäufer", "IT-Leiter", "Vertriebsleiter",
        "Marketingleiterin", "Kaufmännischer Leiter", "Projektleiter", "Leiter Finanzen",
        "Teamleiter Logistik", "Personalreferentin", "Produktmanager", "Technischer Leiter",
        "Key Account Manager",
    ),
    "sv": (
        "Verkställande direktör", "Ekonomichef", "Inköpschef", "IT-chef", "Försäljningschef",
        "Marknadschef", "Driftchef", "Projektledare", "Inköpare", "HR-chef", "Produktchef",
    ),
    "nb": (
        "Daglig leder", "Økonomisjef", "Innkjøpssjef", "IT-sjef", "Salgssjef",
        "Markedssjef", "Driftssjef", "Prosjektleder", "Innkjøper", "HR-sjef", "Produktsjef",
    ),
    "fr": (
        "Directeur général", "Directrice financière", "Responsable des achats", "Acheteur",
        "Directeur des systèmes d'information", "Responsable marketing", "Directeur commercial",
        "Chef de projet", "Responsable logistique", "Responsable RH", "Chef de produit",
    ),
    "es": (
        "Director General", "Directora Financiera", "Jefe de Compras", "Responsable de Compras",
        "Director de Tecnología", "Gerente de Marketing", "Director Comercial",
        "Jefa de Proyecto", "Gerente de Operaciones", "Responsable de RR. HH.", "Gerente de Producto",
    ),
    "pt": (
        "Diretor Executivo", "Diretora Financeira", "Gerente de Compras", "Comprador",
        "Gerente de TI", "Gerente de Marketing", "Diretor Comercial", "Gerente de Projetos",
        "Gerente de Operações", "Analista de RH", "Gerente de Produto",
    ),
}
# fmt: on

# Weights that make the dataset look like a working sales team's CRM, not a uniform random draw.
LIFECYCLE_WEIGHTS = {
    LifecycleStage.SUBSCRIBER: 8,
    LifecycleStage.LEAD: 30,
    LifecycleStage.MARKETING_QUALIFIED: 12,
    LifecycleStage.SALES_QUALIFIED: 9,
    LifecycleStage.OPPORTUNITY: 10,
    LifecycleStage.CUSTOMER: 25,
    LifecycleStage.EVANGELIST: 3,
    LifecycleStage.OTHER: 3,
}
# People found without an organization: mostly newsletter subscribers and fresh leads.
INDIVIDUAL_LIFECYCLE_WEIGHTS = {
    LifecycleStage.SUBSCRIBER: 45,
    LifecycleStage.LEAD: 35,
    LifecycleStage.MARKETING_QUALIFIED: 10,
    LifecycleStage.CUSTOMER: 8,
    LifecycleStage.OTHER: 2,
}
SOURCE_WEIGHTS = {
    ContactSource.WEBSITE: 28,
    ContactSource.REFERRAL: 15,
    ContactSource.OUTBOUND: 14,
    ContactSource.EVENT: 12,
    ContactSource.ADVERTISING: 10,
    ContactSource.PARTNER: 7,
    ContactSource.SOCIAL: 6,
    ContactSource.IMPORT: 6,
    ContactSource.OTHER: 2,
}
INDUSTRY_WEIGHTS = {
    Industry.SOFTWARE: 12,
    Industry.MANUFACTURING: 11,
    Industry.CONSULTING: 9,
    Industry.RETAIL: 8,
    Industry.FINANCE: 7,
    Industry.HEALTHCARE: 7,
    Industry.LOGISTICS: 6,
    Industry.CONSTRUCTION: 6,
    Industry.FOOD: 5,
    Industry.MEDIA: 4,
    Industry.EDUCATION: 4,
    Industry.ENERGY: 4,
    Industry.REAL_ESTATE: 4,
    Industry.HOSPITALITY: 3,
    Industry.AUTOMOTIVE: 3,
    Industry.TELECOM: 2,
    Industry.PUBLIC_SECTOR: 2,
    Industry.NONPROFIT: 2,
    Industry.AGRICULTURE: 2,
    Industry.OTHER: 1,
}
# (share, revenue range in EUR, how many of the contacts an organization of that size has, relatively)
SIZE_BANDS: dict[str, tuple[int, tuple[int, int], int]] = {
    SizeBand.MICRO: (30, (100_000, 1_500_000), 1),
    SizeBand.SMALL: (35, (1_000_000, 10_000_000), 2),
    SizeBand.MEDIUM: (20, (10_000_000, 60_000_000), 4),
    SizeBand.LARGE: (10, (50_000_000, 300_000_000), 7),
    SizeBand.ENTERPRISE: (5, (300_000_000, 5_000_000_000), 10),
}
# Words in company names that a domain leaves out: legal forms, "and", "&".
# fmt: off
_NOT_IN_DOMAINS = {
    "a", "s", "as", "aps", "ab", "asa", "gmbh", "ag", "kg", "co", "e", "v", "ev", "ohg", "mbh", "gbr",
    "ltd", "plc", "llc", "inc", "llp", "and", "und", "og", "och", "et", "y", "sa", "sl", "sas",
    "sarl", "de", "cv", "rl", "ltda", "me", "pvt", "group", "the", "s.coop", "coop", "scoop", "slne",
    "sll", "slu", "ans", "da", "ba", "nuf", "sc", "eirl", "snc", "scop", "hb", "kb", "gruppe",
    "rfh", "hf", "kgaa", "ug", "limited", "corp", "corporation", "company", "bv", "nv", "oy", "spa", "srl",
}
# fmt: on
PERSONAL_EMAIL_DOMAINS = (
    ("example.com", 5),
    ("example.net", 3),
    ("example.org", 2),
    ("mail.example", 2),
)
EMAIL_PATTERNS = (("first.last", 60), ("f.last", 15), ("flast", 10), ("first", 10), ("firstl", 5))

TAG_COLORS = {
    "VIP": "#b02a37",
    "Newsletter": "#0a58ca",
    "Partner": "#146c43",
    "Trade fair 2026": "#6f42c1",
    "Key account": "#b35c00",
}
PREFERRED_CHANNELS = ("Email", "Phone", "Video call", "In person")


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    role: str
    teams: tuple[str, ...]
    time_zone: str


# fmt: off
DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(ADMIN_EMAIL, "Sofie Andersen", Role.ADMINISTRATOR, (), "Europe/Copenhagen"),
    DemoUser(f"mette@{DEMO_EMAIL_DOMAIN}", "Mette Lund", Role.MANAGER, (NORDICS_DACH,), "Europe/Copenhagen"),
    DemoUser(f"james@{DEMO_EMAIL_DOMAIN}", "James Carter", Role.MANAGER, (WESTERN_EUROPE,), "Europe/London"),
    DemoUser(f"priya@{DEMO_EMAIL_DOMAIN}", "Priya Sharma", Role.MANAGER, (AMERICAS_INDIA,), "America/New_York"),
    DemoUser(f"lars@{DEMO_EMAIL_DOMAIN}", "Lars Nielsen", Role.REPRESENTATIVE, (NORDICS_DACH,), "Europe/Copenhagen"),
    DemoUser(f"anna@{DEMO_EMAIL_DOMAIN}", "Anna Schmidt", Role.REPRESENTATIVE, (NORDICS_DACH,), "Europe/Berlin"),
    DemoUser(f"erik@{DEMO_EMAIL_DOMAIN}", "Erik Johansson", Role.REPRESENTATIVE, (NORDICS_DACH,), "Europe/Stockholm"),
    DemoUser(f"oliver@{DEMO_EMAIL_DOMAIN}", "Oliver Bennett", Role.REPRESENTATIVE, (WESTERN_EUROPE,), "Europe/London"),
    DemoUser(f"camille@{DEMO_EMAIL_DOMAIN}", "Camille Laurent", Role.REPRESENTATIVE, (WESTERN_EUROPE,), "Europe/Paris"),
    DemoUser(f"lucia@{DEMO_EMAIL_DOMAIN}", "Lucía Romero", Role.REPRESENTATIVE, (WESTERN_EUROPE,), "Europe/Madrid"),
    DemoUser(f"daniel@{DEMO_EMAIL_DOMAIN}", "Daniel Brooks", Role.REPRESENTATIVE, (AMERICAS_INDIA,), "America/Chicago"),
    DemoUser(f"sofia@{DEMO_EMAIL_DOMAIN}", "Sofía Hernández", Role.REPRESENTATIVE, (AMERICAS_INDIA,), "America/Mexico_City"),
    DemoUser(f"arjun@{DEMO_EMAIL_DOMAIN}", "Arjun Mehta", Role.REPRESENTATIVE, (AMERICAS_INDIA,), "Asia/Kolkata"),
    DemoUser(f"jonas@{DEMO_EMAIL_DOMAIN}", "Jonas Berg", Role.SERVICE_AGENT, (NORDICS_DACH, WESTERN_EUROPE, AMERICAS_INDIA), "Europe/Oslo"),
    DemoUser(f"emma@{DEMO_EMAIL_DOMAIN}", "Emma Wilson", Role.MARKETER, (NORDICS_DACH, WESTERN_EUROPE, AMERICAS_INDIA), "Europe/London"),
    DemoUser(f"rahul@{DEMO_EMAIL_DOMAIN}", "Rahul Verma", Role.ANALYST, (), "Asia/Kolkata"),
)
# fmt: on
TEAM_DESCRIPTIONS = {
    NORDICS_DACH: "Denmark, Sweden, Norway, Germany, Austria and Switzerland",
    WESTERN_EUROPE: "The United Kingdom, France and Spain",
    AMERICAS_INDIA: "The United States, Canada, Mexico, Brazil and India",
}


@dataclass
class DemoResult:
    """What one load wrote, and how to log in."""

    size: str
    seed: int
    users: int
    teams: int
    organizations: int
    contacts: int
    rows: int
    seconds: float
    password: str
    credentials_path: Path
    credentials_text: str


class DemoAlreadyLoaded(Exception):
    """Demo data (or its users) is already in this database."""


# -- small pure helpers ---------------------------------------------------------------------------

_GERMANIC_ASCII = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe", "å": "aa"}
)


def ascii_word(text: str, language: str = "") -> str:
    """``text`` as lowercase ASCII letters and digits, spelled as its language would in an address."""
    text = text.lower()
    if language in ("de", "da", "nb"):
        text = text.translate(_GERMANIC_ASCII)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(character for character in text if character.isalnum())


def _fill_pattern(rng: random.Random, pattern: str) -> str:
    out = []
    for character in pattern:
        if character == "#":
            out.append(str(rng.randrange(10)))
        elif character == "@":
            out.append(chr(ord("A") + rng.randrange(26)))
        else:
            out.append(character)
    return "".join(out)


class _Picker:
    """A weighted choice with precomputed cumulative weights (rng.choices recomputes them each time)."""

    def __init__(self, weights: Mapping[Any, float] | Sequence[tuple[Any, float]]) -> None:
        items = list(weights.items()) if isinstance(weights, Mapping) else list(weights)
        self.values = [value for value, _weight in items]
        self.cumulative = []
        total = 0.0
        for _value, weight in items:
            total += weight
            self.cumulative.append(total)

    def __call__(self, rng: random.Random) -> Any:
        return rng.choices(self.values, cum_weights=self.cumulative)[0]


@cache
def _example_number(region: str, kind: int) -> phonenumbers.PhoneNumber:
    example = phonenumbers.example_number_for_type(region, kind)
    if example is None:
        raise ValueError(f"phonenumbers has no example number of type {kind} for {region}")
    return example


class _PhoneMaker:
    """Valid, unique E.164 numbers for a country, varied around numbers phonenumbers knows are valid."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def make(self, region: str, kind: int, area_code: str = "") -> str:
        example = _example_number(region, kind)
        national = str(example.national_number)
        if area_code:
            # North America: the city's area code, an exchange that does not start with 0 or 1.
            prefix, varying = area_code + str(self.rng.randrange(2, 10)), 6
        else:
            varying = min(6, len(national) - 2)
            prefix = national[:-varying]
        for _attempt in range(50):
            candidate = phonenumbers.PhoneNumber(
                country_code=example.country_code,
                national_number=int(prefix + str(self.rng.randrange(10**varying)).zfill(varying)),
            )
            if not phonenumbers.is_valid_number(candidate):
                continue
            e164 = phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
            if e164 not in self.seen:
                self.seen.add(e164)
                return e164
        return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


# -- loading --------------------------------------------------------------------------------------


def demo_dataset_exists() -> bool:
    """Whether demo data was loaded, or the installation already holds contacts of its own."""
    return DemoDataset.objects.exists() or Contact.objects.exists()


def demo_credentials_path() -> Path:
    return Path(settings.VAR_DIR) / CREDENTIALS_FILE_NAME


def demo_credentials_text(password: str) -> str:
    """How to log in as each demo user: the address, each user's email and role, and the password."""
    base_url = getattr(settings, "CLIENTELA_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    width = max(len(user.email) for user in DEMO_USERS) + 2
    lines = [
        "Clientela demo users",
        f"URL:      {base_url}/",
        f"Password: {password}  (the same for every demo user)",
        "",
        f"{'email'.ljust(width)}{'role'.ljust(16)}teams",
    ]
    labels = dict(Role.choices)
    for user in DEMO_USERS:
        lines.append(
            f"{user.email.ljust(width)}{str(labels[user.role]).ljust(16)}{', '.join(user.teams) or '-'}"
        )
    return "\n".join(lines) + "\n"


def demo_credentials_write(text: str) -> Path:
    """Write the credentials readable by the owner only (0600), replacing any earlier file."""
    path = demo_credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # An earlier file keeps its mode through open(): narrow it before the password goes in.
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


@dataclass
class _Org:
    """An organization being generated, with what its contacts borrow from it."""

    row: Organization
    country: Country
    city: City
    email_pattern: str


@dataclass
class _Loader:
    size: DemoSize
    seed: int
    progress: Callable[[str], None] = lambda message: None
    rng: random.Random = field(init=False)
    fakers: dict[str, Faker] = field(init=False)
    phones: _PhoneMaker = field(init=False)
    now: datetime = field(init=False)
    users: dict[str, User] = field(init=False, default_factory=dict)
    teams: dict[str, Team] = field(init=False, default_factory=dict)
    tags: dict[str, Tag] = field(init=False, default_factory=dict)
    owners_by_team: dict[str, _Picker] = field(init=False, default_factory=dict)
    emails_seen: set[str] = field(init=False, default_factory=set)
    domains_seen: set[str] = field(init=False, default_factory=set)
    names_seen: set[str] = field(init=False, default_factory=set)
    rows: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.fakers = {}
        for index, country in enumerate(COUNTRIES):
            faker = Faker(country.locale)
            faker.seed_instance(self.seed * 1_000 + index)
            self.fakers[country.code] = faker
        self.phones = _PhoneMaker(self.rng)
        # Whole seconds, so that times compare equal on every database.
        self.now = timezone.now().replace(microsecond=0)
        self.country_picker = _Picker([(country, country.weight) for country in COUNTRIES])
        self.city_pickers = {
            country.code: _Picker(
                [
                    (city, len(country.cities) - index + 2)
                    for index, city in enumerate(country.cities)
                ]
            )
            for country in COUNTRIES
        }
        self.lifecycle = _Picker(LIFECYCLE_WEIGHTS)
        self.individual_lifecycle = _Picker(INDIVIDUAL_LIFECYCLE_WEIGHTS)
        self.source = _Picker(SOURCE_WEIGHTS)
        self.industry = _Picker(INDUSTRY_WEIGHTS)
        self.size_band = _Picker(
            {band: share for band, (share, _range, _pull) in SIZE_BANDS.items()}
        )
        self.personal_domain = _Picker(PERSONAL_EMAIL_DOMAINS)
        self.email_pattern = _Picker(EMAIL_PATTERNS)

    # -- people and places --

    def _chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def _created_at(self, earliest: datetime | None = None) -> datetime:
        """A time in the last two years (or after ``earliest``), more recent times a little likelier."""
        start = earliest or self.now - timedelta(days=730)
        span = (self.now - start).total_seconds()
        return start + timedelta(seconds=int(span * math.sqrt(self.rng.random())))

    def _person_name(self, country: Country) -> tuple[str, str, str]:
        """(first name, last name, the surname an email uses)."""
        faker = self.fakers[country.code]
        first, last = faker.first_name(), faker.last_name()
        email_last = last
        if country.two_surnames and self._chance(country.two_surnames):
            last = f"{last} {faker.last_name()}"
        return first, last, email_last

    def _street(self, country: Country) -> str:
        return " ".join(self.fakers[country.code].street_address().split())

    def _unique_email(self, local: str, domain: str) -> str:
        local = local.strip(".") or "contact"
        email = f"{local}@{domain}"
        number = 2
        while email in self.emails_seen:
            email = f"{local}{number}@{domain}"
            number += 1
        self.emails_seen.add(email)
        return email

    def _work_email(self, first: str, last: str, org: _Org) -> str:
        language = org.country.language
        first_ascii, last_ascii = ascii_word(first.split()[0], language), ascii_word(last, language)
        local = {
            "first.last": f"{first_ascii}.{last_ascii}",
            "f.last": f"{first_ascii[:1]}.{last_ascii}",
            "flast": f"{first_ascii[:1]}{last_ascii}",
            "first": first_ascii,
            "firstl": f"{first_ascii}{last_ascii[:1]}",
        }[org.email_pattern]
        return self._unique_email(local, org.row.domain)

    def _personal_email(self, first: str, last: str, country: Country) -> str:
        first_ascii = ascii_word(first.split()[0], country.language)
        last_ascii = ascii_word(last, country.language)
        local = f"{first_ascii}.{last_ascii}"
        if self._chance(0.3):
            local += str(self.rng.randrange(60, 100))
        return self._unique_email(local, self.personal_domain(self.rng))

    # -- users, teams, tags, custom fields --

    def users_create(self, password: str) -> None:
        for name, description in TEAM_DESCRIPTIONS.items():
            team = Team.objects.filter(name__iexact=name).first()
            if team is None:
                team = Team.objects.create(name=name, description=description)
            self.teams[name] = team
        password_hash = make_password(password)
        for spec in DEMO_USERS:
            user = User(
                email=spec.email,
                full_name=spec.full_name,
                role=spec.role,
                time_zone=spec.time_zone,
                password=password_hash,
                date_joined=self.now - timedelta(days=800),
            )
            user.save()
            user.teams.set([self.teams[name] for name in spec.teams])
            self.users[spec.email] = user
        for team_name in self.teams:
            # Representatives own most records; the team's manager keeps some accounts too.
            weights = [
                (self.users[spec.email], 3 if spec.role == Role.REPRESENTATIVE else 1)
                for spec in DEMO_USERS
                if team_name in spec.teams and spec.role in (Role.REPRESENTATIVE, Role.MANAGER)
            ]
            self.owners_by_team[team_name] = _Picker(weights)

    def tags_create(self) -> None:
        admin = self.users[ADMIN_EMAIL]
        for name, color in TAG_COLORS.items():
            is_new = not Tag.objects.filter(name__iexact=name).exists()
            tag = tag_get_or_create(name=name, actor=admin)
            if is_new:
                # An installation's own tag of the same name keeps its color.
                Tag.objects.filter(pk=tag.pk).update(color=color)
            self.tags[name] = tag

    def custom_fields_create(self) -> None:
        admin = self.users[ADMIN_EMAIL]
        definitions: tuple[tuple[str, str, str, str, dict[str, Any]], ...] = (
            (
                "parties.contact",
                "preferred_channel",
                "Preferred channel",
                CustomFieldType.CHOICE,
                {
                    "choices": list(PREFERRED_CHANNELS),
                    "help_text": "How the person likes to be contacted.",
                },
            ),
            (
                "parties.organization",
                "customer_number",
                "Customer number",
                CustomFieldType.TEXT,
                {"max_length": 20, "help_text": "The number in the accounting system."},
            ),
            (
                "parties.organization",
                "contract_renewal",
                "Contract renewal",
                CustomFieldType.DATE,
                {},
            ),
        )
        for position, (record_type, key, label, field_type, options) in enumerate(definitions):
            if CustomFieldDefinition.objects.filter(record_type=record_type, key=key).exists():
                continue
            custom_field_definition_create(
                actor=admin,
                record_type=record_type,
                key=key,
                label=label,
                field_type=field_type,
                position=position,
                **options,
            )

    # -- organizations --

    def _company_name(self, country: Country) -> str:
        faker = self.fakers[country.code]
        for _attempt in range(5):
            name = " ".join(faker.company().split())
            if name.lower() not in self.names_seen:
                break
        else:
            name = f"{name} {self.city_pickers[country.code](self.rng).name}"
        self.names_seen.add(name.lower())
        return name

    def _domain(self, name: str, country: Country) -> str:
        words = [
            ascii_word(word, country.language)
            for word in name.replace("-", " ").replace(",", " ").replace("/", " ").split()
        ]
        words = [word for word in words if word and word not in _NOT_IN_DOMAINS][:3] or ["company"]
        base = "-".join(words)[:40].strip("-")
        domain = f"{base}.{country.domain_suffix}.example"
        number = 2
        while domain in self.domains_seen:
            domain = f"{base}{number}.{country.domain_suffix}.example"
            number += 1
        self.domains_seen.add(domain)
        return domain

    def _revenue(self, band: str, country: Country) -> Decimal:
        low, high = SIZE_BANDS[band][1]
        euros = math.exp(self.rng.uniform(math.log(low), math.log(high)))
        local = euros * country.per_euro
        # Round to three significant figures, as revenues are reported.
        magnitude = 10 ** max(0, int(math.log10(local)) - 2)
        return Decimal(int(round(local / magnitude) * magnitude)).quantize(Decimal("0.01"))

    def organizations_create(self) -> list[_Org]:
        orgs: list[_Org] = []
        customer_numbers = list(range(100_001, 100_001 + self.size.organizations))
        self.rng.shuffle(customer_numbers)
        for index in range(self.size.organizations):
            country = self.country_picker(self.rng)
            city = self.city_pickers[country.code](self.rng)
            team = self.teams[country.team]
            owner = self.owners_by_team[country.team](self.rng)
            name = self._company_name(country)
            domain = self._domain(name, country)
            band = self.size_band(self.rng)
            created_at = self._created_at()
            custom_fields: dict[str, Any] = {}
            if self._chance(0.45):
                custom_fields["customer_number"] = f"C-{customer_numbers[index]}"
                if self._chance(0.7):
                    renewal = self.now.date() + timedelta(days=self.rng.randrange(15, 400))
                    custom_fields["contract_renewal"] = renewal.isoformat()
            row = Organization(
                name=name,
                website=f"https://www.{domain}",
                domain=domain,
                industry=self.industry(self.rng),
                size_band=band,
                phone=self.phones.make(
                    country.code, phonenumbers.PhoneNumberType.FIXED_LINE, city.area_code
                )
                if self._chance(0.8)
                else "",
                annual_revenue=self._revenue(band, country) if self._chance(0.85) else None,
                currency=country.currency,
                street=self._street(country),
                city=city.name,
                region=city.region,
                postal_code=_fill_pattern(self.rng, city.postal_pattern),
                country=country.code,
                owner=owner,
                team=team,
                is_shared_with_team=self._chance(0.9),
                custom_fields=custom_fields,
                created_at=created_at,
                updated_at=self._updated_at(created_at),
            )
            row.search_text = organization_search_text(
                name=row.name, domain=row.domain, phone=row.phone
            )
            orgs.append(_Org(row, country, city, self.email_pattern(self.rng)))
        for start in range(0, len(orgs), _CONTACT_BATCH):
            batch = orgs[start : start + _CONTACT_BATCH]
            Organization.objects.bulk_create([org.row for org in batch], batch_size=_INSERT_BATCH)
            self.rows += len(batch)
            tag_links = []
            for org in batch:
                names = []
                if self._chance(0.05):
                    names.append("VIP")
                if self._chance(0.06):
                    names.append("Partner")
                if org.row.size_band in (SizeBand.LARGE, SizeBand.ENTERPRISE) and self._chance(
                    0.35
                ):
                    names.append("Key account")
                tag_links += [
                    Organization.tags.through(organization_id=org.row.pk, tag_id=self.tags[name].pk)
                    for name in names
                ]
            Organization.tags.through.objects.bulk_create(tag_links, batch_size=_INSERT_BATCH)
            self.rows += len(tag_links)
            self.rows += self._created_events([org.row for org in batch], OrganizationEvent.CREATED)
        return orgs

    def _updated_at(self, created_at: datetime) -> datetime:
        if self._chance(0.35):
            return self._created_at(created_at)
        return created_at

    def _created_events(self, records: Sequence[Organization | Contact], kind: str) -> int:
        """One "created" event per record, attributed to the record's owner."""
        by_owner: dict[int, list[Organization | Contact]] = defaultdict(list)
        owners: dict[int, User] = {}
        for record in records:
            by_owner[record.owner_id].append(record)
            owners[record.owner_id] = record.owner
        return sum(
            events_bulk_record(actor=owners[owner_id], records=rows, kind=kind)
            for owner_id, rows in by_owner.items()
        )

    # -- contacts --

    def contacts_create(self, orgs: list[_Org]) -> int:
        org_picker = (
            _Picker([(org, SIZE_BANDS[org.row.size_band][2]) for org in orgs]) if orgs else None
        )
        marketer = next(self.users[spec.email] for spec in DEMO_USERS if spec.role == Role.MARKETER)
        created = 0
        while created < self.size.contacts:
            count = min(_CONTACT_BATCH, self.size.contacts - created)
            self._contact_batch(count, org_picker, orgs, marketer)
            created += count
            self.progress(f"{created:,} of {self.size.contacts:,} contacts")
        return created

    def _contact_batch(
        self, count: int, org_picker: _Picker | None, orgs: list[_Org], marketer: User
    ) -> None:
        contacts: list[Contact] = []
        # Per contact: (emails, phones, affiliations, tag names), written once the contacts have ids.
        children: list[
            tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[str]]
        ] = []
        for _index in range(count):
            org = org_picker(self.rng) if org_picker and self._chance(0.85) else None
            country = org.country if org else self.country_picker(self.rng)
            first, last, email_last = self._person_name(country)
            title_language = country.language if country.language in JOB_TITLES else "en"
            if org:
                stage = self.lifecycle(self.rng)
                job_title = self.rng.choice(JOB_TITLES[title_language])
                owner = (
                    org.row.owner
                    if self._chance(0.85)
                    else self.owners_by_team[country.team](self.rng)
                )
                created_at = self._created_at(org.row.created_at)
            else:
                stage = self.individual_lifecycle(self.rng)
                job_title = self.rng.choice(JOB_TITLES[title_language]) if self._chance(0.3) else ""
                if stage == LifecycleStage.SUBSCRIBER and self._chance(0.5):
                    owner = marketer
                else:
                    owner = self.owners_by_team[country.team](self.rng)
                created_at = self._created_at()
            source = self.source(self.rng)
            if org and self._chance(0.6):
                city, street, postal_code = org.city, org.row.street, org.row.postal_code
            else:
                city = org.city if org else self.city_pickers[country.code](self.rng)
                street = "" if org else self._street(country)
                postal_code = "" if org else _fill_pattern(self.rng, city.postal_pattern)

            emails: list[dict[str, Any]] = []
            if self._chance(0.98):
                if org:
                    emails.append(
                        {"email": self._work_email(first, email_last, org), "kind": EmailKind.WORK}
                    )
                if not org or self._chance(0.15):
                    emails.append(
                        {
                            "email": self._personal_email(first, email_last, country),
                            "kind": EmailKind.PERSONAL,
                        }
                    )
            phones: list[dict[str, Any]] = []
            if self._chance(0.85):
                phones.append(
                    {
                        "number": self.phones.make(
                            country.code, phonenumbers.PhoneNumberType.MOBILE, city.area_code
                        ),
                        "kind": PhoneKind.MOBILE,
                    }
                )
            if org and self._chance(0.25):
                phones.append(
                    {
                        "number": self.phones.make(
                            country.code, phonenumbers.PhoneNumberType.FIXED_LINE, city.area_code
                        ),
                        "kind": PhoneKind.WORK,
                    }
                )
            affiliations: list[dict[str, Any]] = []
            if org:
                affiliations.append(
                    {"organization": org.row, "role": job_title, "is_primary": True}
                )
                if self._chance(0.05):
                    other = org_picker(self.rng) if org_picker else None
                    if other is not None and other is not org:
                        role = self.rng.choice(("Board member", "Advisor", "Investor"))
                        affiliations.append(
                            {"organization": other.row, "role": role, "is_primary": False}
                        )
            tags = []
            if self._chance(0.03 if stage != LifecycleStage.CUSTOMER else 0.08):
                tags.append("VIP")
            if self._chance(0.85 if stage == LifecycleStage.SUBSCRIBER else 0.2):
                tags.append("Newsletter")
            if self._chance(0.5 if source == ContactSource.EVENT else 0.03):
                tags.append("Trade fair 2026")
            custom_fields = {}
            if self._chance(0.4):
                custom_fields["preferred_channel"] = self.rng.choice(PREFERRED_CHANNELS)

            contacts.append(
                Contact(
                    first_name=first,
                    last_name=last,
                    job_title=job_title,
                    lifecycle_stage=stage,
                    source=source,
                    preferred_language=country.language,
                    primary_email=emails[0]["email"] if emails else "",
                    primary_phone=phones[0]["number"] if phones else "",
                    street=street,
                    city=city.name,
                    region=city.region,
                    postal_code=postal_code,
                    country=country.code,
                    owner=owner,
                    team=self.teams[country.team],
                    is_shared_with_team=self._chance(0.9),
                    custom_fields=custom_fields,
                    created_at=created_at,
                    updated_at=self._updated_at(created_at),
                    search_text=contact_search_text(
                        first_name=first,
                        last_name=last,
                        emails=[item["email"] for item in emails],
                        phones=[item["number"] for item in phones],
                        organization_names=[item["organization"].name for item in affiliations],
                    ),
                )
            )
            children.append((emails, phones, affiliations, tags))

        Contact.objects.bulk_create(contacts, batch_size=_INSERT_BATCH)
        email_rows, phone_rows, affiliation_rows, tag_rows = [], [], [], []
        for contact, (emails, phones, affiliations, tags) in zip(contacts, children, strict=True):
            email_rows += [
                ContactEmail(contact_id=contact.pk, is_primary=index == 0, **item)
                for index, item in enumerate(emails)
            ]
            phone_rows += [
                ContactPhone(contact_id=contact.pk, is_primary=index == 0, **item)
                for index, item in enumerate(phones)
            ]
            affiliation_rows += [
                Affiliation(
                    contact_id=contact.pk,
                    organization_id=item["organization"].pk,
                    role=item["role"],
                    is_primary=item["is_primary"],
                )
                for item in affiliations
            ]
            tag_rows += [
                Contact.tags.through(contact_id=contact.pk, tag_id=self.tags[name].pk)
                for name in tags
            ]
        ContactEmail.objects.bulk_create(email_rows, batch_size=_INSERT_BATCH)
        ContactPhone.objects.bulk_create(phone_rows, batch_size=_INSERT_BATCH)
        Affiliation.objects.bulk_create(affiliation_rows, batch_size=_INSERT_BATCH)
        Contact.tags.through.objects.bulk_create(tag_rows, batch_size=_INSERT_BATCH)
        self.rows += len(email_rows) + len(phone_rows) + len(affiliation_rows) + len(tag_rows)
        self.rows += len(contacts)
        self.rows += self._created_events(contacts, ContactEvent.CREATED)


def _created_events_backdate(first_event_id: int) -> None:
    """Date each "created" event of this load at its record's creation time, not the load's."""
    for model, kind in ((Organization, OrganizationEvent.CREATED), (Contact, ContactEvent.CREATED)):
        Event.objects.filter(
            id__gt=first_event_id,
            record_type=ContentType.objects.get_for_model(model),
            kind=kind,
        ).update(
            occurred_at=Subquery(
                model.objects.filter(pk=OuterRef("record_id")).values("created_at")[:1]
            )
        )


def demo_dataset_load(
    *,
    size: DemoSize,
    seed: int = DEFAULT_SEED,
    size_name: str = "custom",
    password: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Load the demo data in one transaction and write the credentials file.

    Raises ``DemoAlreadyLoaded`` (and writes nothing) when a demo dataset or any demo user exists.
    """
    started = time.perf_counter()
    password = password or secrets.token_urlsafe(12)
    with transaction.atomic():
        emails = [user.email for user in DEMO_USERS]
        if DemoDataset.objects.exists() or User.objects.filter(email__in=emails).exists():
            raise DemoAlreadyLoaded
        first_event_id = Event.objects.aggregate(last=Max("id"))["last"] or 0
        loader = _Loader(size=size, seed=seed, progress=progress or (lambda message: None))
        loader.users_create(password)
        loader.tags_create()
        loader.custom_fields_create()
        orgs = loader.organizations_create()
        if progress:
            progress(f"{len(orgs):,} organizations")
        contacts = loader.contacts_create(orgs)
        _created_events_backdate(first_event_id)
        DemoDataset.objects.create(size=size_name, seed=seed)
    text = demo_credentials_text(password)
    path = demo_credentials_write(text)
    return DemoResult(
        size=size_name,
        seed=seed,
        users=len(DEMO_USERS),
        teams=len(TEAM_DESCRIPTIONS),
        organizations=len(orgs),
        contacts=contacts,
        rows=loader.rows + len(DEMO_USERS),
        seconds=time.perf_counter() - started,
        password=password,
        credentials_path=path,
        credentials_text=text,
    )
