"""The search engine (core.search): normalization, query terms, and the index on the database in use.

The database tests run on SQLite (FTS5) and on PostgreSQL (pg_trgm and tsvector) alike: run the file
with and without DATABASE_URL.
"""

import pytest
from django.db import connection

from clientela.core import search
from clientela.core.search import (
    MAX_QUERY_LENGTH,
    SearchTerm,
    search_best,
    search_filter,
    search_normalize,
    search_terms,
)
from clientela.parties.models import Contact, Organization
from clientela.parties.services import (
    contact_create,
    contact_delete,
    contact_update,
    organization_create,
    organization_delete,
    organization_update,
)
from clientela.parties.tests.factories import ContactFactory, OrganizationFactory

# -- normalization -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("José Ødegård", "jose odegard"),
        ("MÜLLER", "muller"),
        ("Straße", "strasse"),
        ("Łukasz Żółć", "lukasz zolc"),
        ("Ærø", "aero"),
        ("Ελένη", "ελενη"),
        ("Ёлка Йошкар-Ола", "елка иошкар-ола"),
        ("ﬁnn", "finn"),
        ("  Ana \t Ruiz\n", "ana ruiz"),
        ("Ana\u00a0Ruiz", "ana ruiz"),
        ("ana\x00ruiz", "ana ruiz"),
        ("Ana\x00Ruíz", "ana ruiz"),
        ("so\u00adphie", "sophie"),
        ("ana.ruiz+crm@Example.COM", "ana.ruiz+crm@example.com"),
        ("", ""),
    ],
)
def test_search_normalize_folds_case_and_accents(text, expected):
    assert search_normalize(text) == expected


@pytest.mark.parametrize("name", ["प्रिया शर्मा", "क्षत्रिय", "राजेश कुमार", "अंकित"])
def test_search_normalize_keeps_devanagari_vowel_signs_and_viramas(name):
    assert search_normalize(name) == name


def test_search_normalize_leaves_out_zero_width_joiners():
    assert search_normalize("क्\u200dष") == "क्ष"


def test_search_normalize_recomposes_hangul_syllables():
    assert search_normalize("한국") == "한국"


# -- query terms ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "digits"),
    [
        ("4155550100", "4155550100"),
        ("415-555-0100", "4155550100"),
        ("(415) 555-0100", "4155550100"),
        ("+1 415 555 0100", "14155550100"),
        ("+1 (415) 555-0100", "14155550100"),
        ("001 415 555 0100", "14155550100"),
        ("415.555.0100", "4155550100"),
        ("20 12 34 56", "20123456"),
        ("+45 20123456", "4520123456"),
        ("0045 20 12 34 56", "4520123456"),
        ("020 7946 0958", "2079460958"),
        ("+44 (0)20 7946 0958", "442079460958"),
        ("४१५५५५०१००", "4155550100"),
        ("+45", "45"),
    ],
)
def test_a_phone_number_in_any_format_is_one_term_of_digits(query, digits):
    assert search_terms(query) == [SearchTerm(digits)]


@pytest.mark.parametrize(
    ("query", "terms"),
    [
        ("Ana  Ruiz", ["ana", "ruiz"]),
        ("José", ["jose"]),
        ("hansen, (acme)", ["hansen", "acme"]),
        ("jo jose", ["jose"]),
        ("li wu", ["li", "wu"]),
        ("ana ana", ["ana"]),
        ("ana & bo", ["ana", "bo"]),
        ('"hansen"', ["hansen"]),
        ("jo*", ["jo"]),
        ("hansen@", ["hansen@"]),
        ("50%", ["50%"]),
        ("a_b", ["a_b"]),
        ("---", ["---"]),
        ("प्रि", ["प्रि"]),
        ("jose 415-555-0100", ["jose", "4155550100"]),
        ("ana (415) 555-0100", ["ana", "415", "5550100"]),
        ("ana +45 20 12", ["ana", "45", "20", "12"]),
    ],
)
def test_search_terms_are_the_normalized_words(query, terms):
    assert [term.text for term in search_terms(query)] == terms


@pytest.mark.parametrize("query", ["", "   ", "\t\n", '"', "'", "&", "&&", "()", "* *", "-", None])
def test_a_query_without_letters_or_digits_has_no_terms(query):
    assert search_terms(query) == []


def test_short_terms_match_word_prefixes_and_longer_ones_substrings():
    assert [(term.text, term.is_substring) for term in search_terms("Li Ana")] == [
        ("li", False),
        ("ana", True),
    ]


def test_only_the_first_characters_of_a_long_query_count():
    terms = search_terms("x" * 5000)

    assert terms == [SearchTerm("x" * MAX_QUERY_LENGTH)]


# -- the index, on the database in use -----------------------------------------------------------


def _contact_names(text, queryset=None):
    queryset = Contact.objects.all() if queryset is None else queryset
    return sorted(contact.full_name for contact in search_filter(queryset, text))


@pytest.fixture
def people(rep):
    """A few contacts from around the world, written by the services like any others."""
    acme = organization_create(actor=rep, name="Acme Widgets", website="https://acme.example")
    contact_create(
        actor=rep,
        first_name="José",
        last_name="Ruiz",
        emails=["jose.ruiz@example.com"],
        phones=["+1 415-555-0100"],
        organizations=[acme],
    )
    contact_create(actor=rep, first_name="Kari", last_name="Ødegård", phones=["+45 20 12 34 56"])
    contact_create(actor=rep, first_name="Jürgen", last_name="Müller", country="DE")
    contact_create(
        actor=rep,
        first_name="Erik",
        last_name="Hansen",
        emails=["erik.hansen@firma.example"],
        phones=["+44 20 7946 0958"],
    )
    contact_create(actor=rep, first_name="प्रिया", last_name="शर्मा")
    contact_create(actor=rep, first_name="Li", last_name="Wu", emails=["li.wu@example.org"])
    contact_create(actor=rep, first_name="Olivia", last_name="Blimp")
    contact_create(actor=rep, first_name="Ana", last_name="Lopez")
    contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    return acme


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("jose", ["José Ruiz"]),
        ("JOSÉ", ["José Ruiz"]),
        ("ODEGARD", ["Kari Ødegård"]),
        ("ødegård", ["Kari Ødegård"]),
        ("muller", ["Jürgen Müller"]),
        ("jurgen mul", ["Jürgen Müller"]),
        ("प्रिया", ["प्रिया शर्मा"]),
        ("प्रि", ["प्रिया शर्मा"]),
        ("शर्मा", ["प्रिया शर्मा"]),
        ("ans", ["Erik Hansen"]),
        ("hansen@", ["Erik Hansen"]),
        ("firma.example", ["Erik Hansen"]),
        ("example.com", ["José Ruiz"]),
        ("acme", ["José Ruiz"]),
        ("widgets jose", ["José Ruiz"]),
        ("jose 415-555-0100", ["José Ruiz"]),
        ("ruiz (415) 555-0100", ["José Ruiz"]),
        ("li", ["Li Wu"]),
        ("Wu", ["Li Wu"]),
        ("ana ruiz", ["Ana Ruiz"]),
        ("ana lopez", ["Ana Lopez"]),
        ("ana", ["Ana Lopez", "Ana Ruiz"]),
        ("ruiz", ["Ana Ruiz", "José Ruiz"]),
        ("nobody", []),
    ],
)
@pytest.mark.django_db
def test_search_finds_any_part_of_a_name_email_or_organization(people, query, names):
    assert _contact_names(query) == names


@pytest.mark.parametrize(
    "query",
    [
        "4155550100",
        "415-555-0100",
        "(415) 555-0100",
        "+1 415 555 0100",
        "001 415 555 0100",
        "+1-415-555-0100",
    ],
)
@pytest.mark.django_db
def test_a_us_number_is_found_in_any_format(people, query):
    assert _contact_names(query) == ["José Ruiz"]


@pytest.mark.parametrize("query", ["20 12 34 56", "+45 20123456", "0045 20 12 34 56", "20123456"])
@pytest.mark.django_db
def test_a_danish_number_is_found_in_any_format(people, query):
    assert _contact_names(query) == ["Kari Ødegård"]


@pytest.mark.parametrize("query", ["020 7946 0958", "+44 20 7946 0958", "07946 0958"])
@pytest.mark.django_db
def test_a_uk_number_is_found_in_any_format(people, query):
    assert _contact_names(query) == ["Erik Hansen"]


@pytest.mark.django_db
def test_a_short_term_matches_the_start_of_a_word_only(people):
    # "li" is inside "Olivia" and "Blimp", but starts no word of theirs.
    assert _contact_names("li") == ["Li Wu"]
    assert _contact_names("bl") == ["Olivia Blimp"]


@pytest.mark.django_db
def test_organizations_are_found_by_name_domain_and_phone(rep):
    organization_create(actor=rep, name="Ørsted Energi", phone="+45 99 55 11 00", country="DK")
    organization_create(actor=rep, name="Acme", website="https://www.acme.example")

    def names(query):
        return sorted(org.name for org in search_filter(Organization.objects.all(), query))

    assert names("orsted") == ["Ørsted Energi"]
    assert names("99 55 11 00") == ["Ørsted Energi"]
    assert names("acme.example") == ["Acme"]
    assert names("ac") == ["Acme"]


@pytest.mark.django_db
def test_an_empty_query_leaves_the_queryset_as_it_is(people):
    assert search_filter(Contact.objects.all(), "  ").count() == Contact.objects.count()


@pytest.mark.django_db
def test_search_filter_narrows_a_queryset_that_is_already_filtered(people, rep):
    queryset = Contact.objects.filter(first_name="Ana")

    assert _contact_names("ruiz", queryset) == ["Ana Ruiz"]


@pytest.mark.django_db
def test_a_searched_queryset_works_as_a_subquery(people):
    # As bulk actions and exports use it: under an alias, not the table's own name.
    found = search_filter(Contact.objects.all(), "ruiz li")
    found_short = search_filter(Contact.objects.all(), "wu")

    assert list(Contact.objects.filter(pk__in=found.values("pk"))) == []
    assert [c.full_name for c in Contact.objects.filter(pk__in=found_short.values("pk"))] == [
        "Li Wu"
    ]
    assert (
        Organization.objects.filter(
            contacts__in=search_filter(Contact.objects.all(), "jose").values("pk")
        ).count()
        == 1
    )


# -- kept current by the services, in the same transaction ---------------------------------------


@pytest.mark.django_db
def test_a_renamed_contact_is_found_by_the_new_name_at_once(people, rep):
    contact = Contact.objects.get(last_name="Lopez")

    contact_update(actor=rep, contact=contact, last_name="Márquez")

    assert _contact_names("marquez") == ["Ana Márquez"]
    assert _contact_names("lopez") == []


@pytest.mark.django_db
def test_a_changed_email_is_found_and_the_old_one_no_longer(people, rep):
    contact = Contact.objects.get(last_name="Hansen")

    contact_update(actor=rep, contact=contact, emails=["erik@newfirm.example"])

    assert _contact_names("newfirm") == ["Erik Hansen"]
    assert _contact_names("firma.example") == []


@pytest.mark.django_db
def test_people_are_found_by_the_new_name_of_their_organization(people, rep):
    organization_update(actor=rep, organization=people, name="Globex Tools")

    assert _contact_names("globex") == ["José Ruiz"]
    assert _contact_names("widgets") == []
    assert [org.name for org in search_filter(Organization.objects.all(), "globex")] == [
        "Globex Tools"
    ]


@pytest.mark.django_db
def test_people_are_no_longer_found_by_a_deleted_organization(people, admin_user):
    organization_delete(actor=admin_user, organization=people)

    assert _contact_names("acme") == []
    assert _contact_names("jose") == ["José Ruiz"]


@pytest.mark.django_db
def test_a_deleted_contact_leaves_the_index(people, admin_user):
    contact = Contact.objects.get(last_name="Wu")

    contact_delete(actor=admin_user, contact=contact)

    assert _contact_names("wu") == []
    assert _contact_names("li.wu") == []


# -- nasty input ---------------------------------------------------------------------------------

NASTY_QUERIES = [
    '"',
    "'",
    '""',
    "''",
    '"unterminated',
    "o'brien",
    "O'Brien's",
    "%",
    "%%",
    "50%",
    "_",
    "a_b",
    "%_%",
    "\\",
    "a\\",
    "\\%",
    "*",
    "jo*",
    "**",
    "(",
    ")",
    "()",
    "(ana",
    "ana)",
    "[a]",
    "{a b}",
    "AND",
    "OR",
    "NOT",
    "NEAR",
    "ana AND ruiz",
    "ana OR ruiz",
    "NOT ruiz",
    "NEAR(ana ruiz)",
    "NEAR(ana ruiz, 2)",
    "ana NEAR/2 ruiz",
    "^ana",
    "ana^",
    "-ana",
    "ana -ruiz",
    "+ana",
    "search_text:ana",
    "{search_text}: ana",
    "ana:*",
    "'ana':*",
    "ana & ruiz",
    "ana | ruiz",
    "!ana",
    "ana <-> ruiz",
    "ana <2> ruiz",
    "a:b",
    "a:",
    ":",
    ":*",
    "&",
    "|",
    "!",
    "<->",
    "@@",
    "'; DROP TABLE parties_contact; --",
    '" OR 1=1 --',
    "ana\x00ruiz",
    "\x00",
    "\x1b[31m",
    "\u200b",
    "\ud800",
    "😀",
    "a😀",
    "ana\u0301",
    "\u0301",
    "्",
    "x" * 1000,
    "a " * 300,
    "+",
    "++",
    "+()-",
    "0",
    "00",
    "000",
    "1",
    "$$",
    "$1",
    "?",
    "%s",
    "%(name)s",
    "{}",
]


@pytest.mark.parametrize("query", NASTY_QUERIES)
@pytest.mark.django_db
def test_no_query_causes_an_error(people, query):
    contacts = list(search_filter(Contact.objects.all(), query))
    organizations = list(search_filter(Organization.objects.all(), query))
    best_contacts = search_best(Contact.objects.all(), query, limit=8)
    best_organizations = search_best(Organization.objects.all(), query, limit=8)

    assert len(best_contacts) <= min(len(contacts), 8)
    assert len(best_organizations) <= min(len(organizations), 8)


@pytest.mark.django_db
def test_query_syntax_is_searched_as_text_not_obeyed(people, rep):
    contact_create(actor=rep, first_name="Dana", last_name="O'Brien", emails=["dana+crm@x.example"])

    assert _contact_names("ana OR ruiz") == []
    assert _contact_names("o'brien") == ["Dana O'Brien"]
    assert _contact_names("dana+crm") == ["Dana O'Brien"]
    # Wildcards of LIKE are characters like any other ("n r" and "ana ruiz" would match them).
    assert _contact_names("n_r") == []
    assert _contact_names("a%z") == []


# -- ranking ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_names_that_start_with_the_query_come_first_then_the_others_by_name(rep):
    contact_create(actor=rep, first_name="Bo", last_name="Andersen", emails=["bo@jose.example"])
    contact_create(actor=rep, first_name="Ana", last_name="Josefsson")
    contact_create(actor=rep, first_name="Joseph", last_name="Zapata")
    contact_create(actor=rep, first_name="José", last_name="Ruiz")
    contact_create(actor=rep, first_name="Cy", last_name="Ajose")

    found = search_best(Contact.objects.all(), "jose", limit=8)

    assert [contact.full_name for contact in found] == [
        "José Ruiz",
        "Joseph Zapata",
        "Cy Ajose",
        "Bo Andersen",
        "Ana Josefsson",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("sort_cap", [2000, 3])
def test_the_best_matches_are_limited_and_name_starts_fill_them_first(rep, monkeypatch, sort_cap):
    # PostgreSQL sorts up to SEARCH_SORT_CAP matches by key and walks the name order past it: both
    # give the same answer.
    monkeypatch.setattr(search, "SEARCH_SORT_CAP", sort_cap)
    for index in range(5):
        contact_create(actor=rep, first_name="Aaron", last_name=f"Hans{index}")
        contact_create(actor=rep, first_name="Hans", last_name=f"Zeta{index}")

    found = search_best(Contact.objects.all(), "hans", limit=7)

    assert [contact.full_name for contact in found] == [
        *(f"Hans Zeta{index}" for index in range(5)),
        "Aaron Hans0",
        "Aaron Hans1",
    ]


@pytest.mark.django_db
def test_organizations_that_start_with_the_query_come_first(rep):
    organization_create(actor=rep, name="Big Acme")
    organization_create(actor=rep, name="Acme Zeta")
    organization_create(actor=rep, name="Acme Alpha")
    organization_create(actor=rep, name="Nacme")

    found = search_best(Organization.objects.all(), "acme", limit=8)

    assert [org.name for org in found] == ["Acme Alpha", "Acme Zeta", "Big Acme", "Nacme"]


@pytest.mark.django_db
def test_the_best_matches_of_a_query_without_terms_are_none(people):
    assert search_best(Contact.objects.all(), "  ", limit=8) == []


@pytest.mark.django_db
def test_the_best_matches_keep_an_explicit_order(people):
    found = search_best(Contact.objects.order_by("-first_name"), "ruiz", limit=8)

    assert [contact.full_name for contact in found] == ["José Ruiz", "Ana Ruiz"]


@pytest.mark.django_db
def test_the_best_matches_take_a_fixed_number_of_queries(rep, django_assert_num_queries):
    for index in range(12):
        contact_create(actor=rep, first_name="Ana", last_name=f"Hansen{index}")
        contact_create(actor=rep, first_name="Bo", last_name=f"Hansen{index}")

    with django_assert_num_queries(1 if connection.vendor == "sqlite" else 2):
        found = search_best(Contact.objects.all(), "hansen", limit=8)

    assert len(found) == 8


# -- the query plans -------------------------------------------------------------------------------


def _plan(queryset):
    # Unordered: with a handful of rows, walking the name index in order would be cheaper anyway.
    return queryset.order_by().explain()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 tables")
@pytest.mark.django_db
def test_on_sqlite_search_reads_the_fts5_tables():
    substring_plan = _plan(search_filter(Contact.objects.all(), "hansen"))
    prefix_plan = _plan(search_filter(Contact.objects.all(), "li"))

    assert "parties_contact_fts VIRTUAL TABLE INDEX" in substring_plan
    assert "parties_contact_words VIRTUAL TABLE INDEX" in prefix_plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's GIN indexes")
@pytest.mark.django_db
def test_on_postgresql_search_can_use_the_gin_indexes():
    ContactFactory.create_batch(3)
    OrganizationFactory.create_batch(3)
    with connection.cursor() as cursor:
        # A handful of rows would be read sequentially: this asks whether the index can serve.
        cursor.execute("SET LOCAL enable_seqscan = off")

    substring_plan = _plan(search_filter(Contact.objects.all(), "hansen"))
    prefix_plan = _plan(search_filter(Contact.objects.all(), "li"))
    organization_plan = _plan(search_filter(Organization.objects.all(), "acme"))

    assert "parties_contact_search_trgm" in substring_plan
    assert "parties_contact_search_words" in prefix_plan
    assert "parties_organization_search_trgm" in organization_plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's B-tree prefix index")
@pytest.mark.django_db
def test_on_postgresql_starts_with_can_use_the_prefix_index():
    ContactFactory.create_batch(3)
    OrganizationFactory.create_batch(3)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")

    contact_plan = _plan(Contact.objects.filter(search_text__startswith="hans"))
    organization_plan = _plan(Organization.objects.filter(search_text__startswith="acme"))

    assert "parties_contact_search_prefix" in contact_plan
    assert "parties_organization_search_prefix" in organization_plan
