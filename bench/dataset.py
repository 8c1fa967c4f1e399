"""A deterministic contacts file for the import and search benchmarks: ``python -m bench.dataset``.

Realistic rows as another CRM exports them (HubSpot's column names): names from each country's Faker
locale, work and personal emails, phone numbers written in several national and international formats,
organizations, cities and countries. About 3% of rows are near-duplicates of an earlier row: the same
person with the email in another case, the phone in another format, the name without its accents, or a
new email at the same organization. The same seed always gives the same file.

Generation avoids per-row library calls (Faker and phonenumbers would take minutes at a million rows):
name pools are drawn from Faker once, and phone numbers are built from national prefixes checked once
with phonenumbers to give valid numbers whatever digits follow.
"""

from __future__ import annotations

import argparse
import csv
import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path

HEADER = [
    "First Name",
    "Last Name",
    "Email",
    "Phone Number",
    "Company Name",
    "Job Title",
    "City",
    "Country/Region",
]


@dataclass(frozen=True)
class _Country:
    code: str
    locale: str
    weight: int
    cities: tuple[str, ...]
    calling_code: str
    # Prefix of a national significant number, and how many random digits follow it.
    prefixes: tuple[str, ...]
    digits: int
    trunk: str  # the national trunk prefix ("0"), "" where there is none
    domain: str


COUNTRIES = (
    _Country(
        "US",
        "en_US",
        18,
        ("New York", "San Francisco", "Chicago", "Austin", "Seattle", "Boston"),
        "1",
        ("212555", "415555", "312555", "512555", "206555", "617555"),
        4,
        "",
        "com",
    ),
    _Country(
        "DE",
        "de_DE",
        12,
        ("Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Düsseldorf"),
        "49",
        ("1512", "1523", "1602", "1703", "1761"),
        7,
        "0",
        "de",
    ),
    _Country(
        "DK",
        "da_DK",
        10,
        ("København", "Aarhus", "Odense", "Aalborg", "Frederiksberg"),
        "45",
        ("20", "21", "22", "25", "26", "28", "31", "40", "42", "50", "60"),
        6,
        "",
        "dk",
    ),
    _Country(
        "GB",
        "en_GB",
        10,
        ("London", "Manchester", "Birmingham", "Leeds", "Bristol", "Edinburgh"),
        "44",
        ("7400", "7700", "7911", "7800"),
        6,
        "0",
        "co.uk",
    ),
    _Country(
        "FR",
        "fr_FR",
        7,
        ("Paris", "Lyon", "Marseille", "Toulouse", "Nantes", "Bordeaux"),
        "33",
        ("61", "62", "64", "65", "66", "67", "68", "75", "76", "77", "78"),
        7,
        "0",
        "fr",
    ),
    _Country(
        "IN",
        "en_IN",
        7,
        ("Mumbai", "Bengaluru", "New Delhi", "Chennai", "Hyderabad", "Pune"),
        "91",
        ("98", "99", "97", "93"),
        8,
        "0",
        "in",
    ),
    _Country(
        "ES",
        "es_ES",
        6,
        ("Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao", "Málaga"),
        "34",
        ("6", "7"),
        8,
        "",
        "es",
    ),
    _Country(
        "MX",
        "es_MX",
        6,
        ("Ciudad de México", "Guadalajara", "Monterrey", "Puebla", "Querétaro"),
        "52",
        ("55", "33", "81"),
        8,
        "",
        "com.mx",
    ),
    _Country(
        "SE",
        "sv_SE",
        5,
        ("Stockholm", "Göteborg", "Malmö", "Uppsala"),
        "46",
        ("70", "72", "73", "76"),
        7,
        "0",
        "se",
    ),
    _Country(
        "NO",
        "no_NO",
        4,
        ("Oslo", "Bergen", "Trondheim", "Stavanger"),
        "47",
        ("4", "9"),
        7,
        "",
        "no",
    ),
)
PERSONAL_DOMAINS = ("gmail.example", "outlook.example", "yahoo.example", "proton.example")
JOB_TITLES = (
    "Purchasing Manager",
    "Head of Sales",
    "CEO",
    "CFO",
    "Office Manager",
    "Marketing Lead",
    "Buyer",
    "Operations Director",
    "IT Manager",
    "Founder",
    "",
)
COMPANY_WORDS = (
    "Nordic",
    "Blue",
    "Atlas",
    "Vertex",
    "Summit",
    "Harbor",
    "Pioneer",
    "Silver",
    "Green",
    "Polar",
    "Bright",
    "Iron",
    "Crown",
    "Delta",
    "Orbit",
)
COMPANY_KINDS = ("Logistics", "Foods", "Systems", "Trading", "Design", "Energy", "Health", "Labs")


def _ascii(text: str) -> str:
    text = text.lower().translate(str.maketrans({"ø": "o", "æ": "ae", "å": "aa", "ß": "ss"}))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(character for character in text if character.isalnum())


def _valid_prefixes(country: _Country, rng: random.Random) -> tuple[str, ...]:
    """The country's prefixes after which 20 random completions were all valid numbers."""
    import phonenumbers

    valid = []
    for prefix in country.prefixes:
        ok = True
        for _ in range(20):
            national = prefix + "".join(rng.choice("0123456789") for _ in range(country.digits))
            number = phonenumbers.parse(f"+{country.calling_code}{national}", None)
            if not phonenumbers.is_valid_number(number):
                ok = False
                break
        if ok:
            valid.append(prefix)
    if not valid:
        raise SystemExit(f"No valid phone prefix for {country.code}")
    return tuple(valid)


def _phone_text(country: _Country, national: str, style: int) -> str:
    """The number written as people type it: several national and international formats."""
    if country.code == "US":
        area, exchange, line = national[:3], national[3:6], national[6:]
        return (
            f"({area}) {exchange}-{line}",
            f"{area}-{exchange}-{line}",
            f"+1 {area} {exchange} {line}",
            f"001 {area} {exchange} {line}",
        )[style % 4]
    grouped = " ".join(national[index : index + 2] for index in range(0, len(national), 2))
    return (
        f"{country.trunk}{national}",
        f"+{country.calling_code} {grouped}",
        f"00{country.calling_code} {national}",
        f"+{country.calling_code}{national}",
    )[style % 4]


class _Generator:
    def __init__(self, seed: int, organizations: int) -> None:
        from faker import Faker

        self.rng = random.Random(seed)
        self.weights = [country.weight for country in COUNTRIES]
        self.first_names: dict[str, list[str]] = {}
        self.last_names: dict[str, list[str]] = {}
        self.prefixes: dict[str, tuple[str, ...]] = {}
        for index, country in enumerate(COUNTRIES):
            faker = Faker(country.locale)
            faker.seed_instance(seed + index)
            self.first_names[country.code] = sorted({faker.first_name() for _ in range(600)})
            self.last_names[country.code] = sorted({faker.last_name() for _ in range(600)})
            self.prefixes[country.code] = _valid_prefixes(country, self.rng)
        self.organizations = []
        for number in range(organizations):
            country = self.rng.choices(COUNTRIES, self.weights)[0]
            name = f"{self.rng.choice(COMPANY_WORDS)} {self.rng.choice(COMPANY_KINDS)} {number}"
            domain = f"{_ascii(name)}.{country.domain}.example"
            self.organizations.append((name, domain, country))
        self.emails: set[str] = set()

    def _email(self, local: str, domain: str) -> str:
        email = f"{local}@{domain}"
        number = 2
        while email in self.emails:
            email = f"{local}{number}@{domain}"
            number += 1
        self.emails.add(email)
        return email

    def row(self) -> list[str]:
        rng = self.rng
        organization = rng.choice(self.organizations) if rng.random() < 0.7 else None
        country = organization[2] if organization else rng.choices(COUNTRIES, self.weights)[0]
        first = rng.choice(self.first_names[country.code])
        last = rng.choice(self.last_names[country.code])
        local = f"{_ascii(first)}.{_ascii(last)}"
        domain = organization[1] if organization else rng.choice(PERSONAL_DOMAINS)
        email = self._email(local, domain) if rng.random() < 0.95 else ""
        phone = ""
        if rng.random() < 0.85:
            national = rng.choice(self.prefixes[country.code]) + str(
                rng.randrange(10**country.digits)
            ).zfill(country.digits)
            phone = _phone_text(country, national, rng.randrange(4))
        return [
            first,
            last,
            email,
            phone,
            organization[0] if organization else "",
            rng.choice(JOB_TITLES),
            rng.choice(country.cities),
            country.code,
        ]

    def near_duplicate(self, row: list[str]) -> list[str]:
        """The same person again, as another system or colleague recorded them."""
        first, last, email, phone, organization, title, city, country = row
        kind = self.rng.randrange(4)
        if kind == 0 and email:
            email = email.upper() if self.rng.random() < 0.5 else email.capitalize()
        elif kind == 1 and phone:
            digits = "".join(
                character for character in phone if character.isdigit() or character == "+"
            )
            phone = digits if digits.startswith("+") else phone.replace(" ", "")
        elif kind == 2:
            first = unicodedata.normalize("NFKD", first).encode("ascii", "ignore").decode() or first
            last = unicodedata.normalize("NFKD", last).encode("ascii", "ignore").decode() or last
            email = ""
        else:
            email = (
                self._email(f"{_ascii(first)[:1]}{_ascii(last)}", email.split("@")[-1])
                if email
                else ""
            )
            phone = ""
        return [first, last, email, phone, organization, title, city, country]


def dataset_write(
    path: Path, rows: int, *, seed: int = 2026, duplicate_share: float = 0.03
) -> Path:
    """Write ``rows`` contacts (and the header) to ``path`` as CSV; returns ``path``."""
    generator = _Generator(seed, organizations=max(10, rows // 20))
    recent: list[list[str]] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as output:
        writer = csv.writer(output)
        writer.writerow(HEADER)
        for _ in range(rows):
            if recent and generator.rng.random() < duplicate_share:
                row = generator.near_duplicate(generator.rng.choice(recent))
            else:
                row = generator.row()
                if len(recent) < 5000:
                    recent.append(row)
                else:
                    recent[generator.rng.randrange(5000)] = row
            writer.writerow(row)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    dataset_write(args.path, args.rows, seed=args.seed)
    print(f"Wrote {args.rows:,} rows to {args.path}")


if __name__ == "__main__":
    main()
