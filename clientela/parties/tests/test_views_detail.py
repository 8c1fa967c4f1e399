import datetime

from django.urls import reverse

from clientela.core.models import Event
from clientela.core.services import custom_field_definition_create
from clientela.parties.services import (
    contact_create,
    contact_update,
    organization_create,
    organization_update,
)
from clientela.parties.tests.factories import (
    AffiliationFactory,
    ContactFactory,
    OrganizationFactory,
)


def _timeline(response):
    html = response.content.decode()
    return html[html.index('<div id="timeline"') :]


def test_contact_detail_shows_its_fields_emails_phones_and_organizations(client, rep):
    acme = organization_create(actor=rep, name="Acme")
    contact = contact_create(
        actor=rep,
        first_name="Ana",
        last_name="Ruiz",
        job_title="CTO",
        country="DK",
        emails=["ana@acme.example", {"email": "ana@home.example", "kind": "personal"}],
        phones=["+45 32 12 34 56"],
        organizations=[{"organization": acme, "role": "Founder"}],
        tags=["VIP"],
    )
    client.force_login(rep)

    response = client.get(reverse("parties:contact_detail", args=[contact.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<dd data-testid="job-title">CTO</dd>' in html
    assert '<a href="tel:+4532123456">+45 32 12 34 56</a>' in html
    assert (
        '<a href="mailto:ana@acme.example">ana@acme.example</a> <small class="muted">Work · primary</small>'
        in html
    )
    assert (
        '<a href="mailto:ana@home.example">ana@home.example</a> <small class="muted">Personal</small>'
        in html
    )
    assert (
        f'<a href="/organizations/{acme.pk}/">Acme</a> <small class="muted">Founder</small>' in html
    )
    assert '<span class="tag">VIP</span>' in html
    assert "Denmark" in html


def test_contact_detail_shows_custom_field_values(client, admin_user, rep):
    definition = custom_field_definition_create(
        actor=admin_user,
        record_type="parties.contact",
        key="shoe_size",
        label="Shoe size",
        field_type="number",
    )
    contact = contact_create(
        actor=rep, first_name="Ana", last_name="Ruiz", custom_fields={"shoe_size": "38"}
    )
    client.force_login(rep)

    html = client.get(reverse("parties:contact_detail", args=[contact.pk])).content.decode()

    assert f"<dt>{definition.label}</dt>\n      <dd>38</dd>" in html


def test_contact_timeline_shows_each_change_old_and_new_with_the_actor(client, rep, rep_a2):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz", job_title="Engineer")
    contact_update(actor=rep_a2, contact=contact, job_title="CTO", lifecycle_stage="customer")
    client.force_login(rep)

    timeline = _timeline(client.get(reverse("parties:contact_detail", args=[contact.pk])))

    assert "<strong>Changed</strong>" in timeline
    assert "· Rep2</span>" in timeline
    assert (
        '<span class="field-label">Job title:</span>\n                <del>Engineer</del>\n                →\n                <ins>CTO</ins>'
        in timeline
    )
    assert (
        '<span class="field-label">Lifecycle stage:</span>\n                <del>Lead</del>\n                →\n                <ins>Customer</ins>'
        in timeline
    )
    assert timeline.index("<strong>Changed</strong>") < timeline.index("<strong>Created</strong>")


def test_contact_timeline_names_phones_organizations_and_custom_fields(client, admin_user, rep):
    custom_field_definition_create(
        actor=admin_user,
        record_type="parties.contact",
        key="tier",
        label="Tier",
        field_type="choice",
        choices=["Gold", "Silver"],
    )
    acme = organization_create(actor=rep, name="Acme")
    contact = contact_create(
        actor=rep, first_name="Ana", last_name="Ruiz", custom_fields={"tier": "Silver"}
    )
    contact_update(
        actor=rep,
        contact=contact,
        phones=["(415) 555-0100"],
        organizations=[{"organization": acme, "role": "CTO"}],
        custom_fields={"tier": "Gold"},
    )
    client.force_login(rep)

    timeline = _timeline(client.get(reverse("parties:contact_detail", args=[contact.pk])))

    assert (
        'Phone numbers:</span>\n                <span class="muted">(empty)</span>\n                →\n                <ins>+1 415-555-0100</ins>'
        in timeline
    )
    assert (
        'Organizations:</span>\n                <span class="muted">(empty)</span>\n                →\n                <ins>Acme (CTO)</ins>'
        in timeline
    )
    assert (
        "Tier:</span>\n                <del>Silver</del>\n                →\n                <ins>Gold</ins>"
        in timeline
    )


def test_timeline_times_are_shown_in_the_persons_time_zone(client, rep):
    rep.time_zone = "Europe/Copenhagen"
    rep.save()
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    Event.objects.filter(record_id=contact.pk).update(
        occurred_at=datetime.datetime(2026, 1, 15, 12, 0, tzinfo=datetime.UTC)
    )
    client.force_login(rep)

    timeline = _timeline(client.get(reverse("parties:contact_detail", args=[contact.pk])))

    assert '<time datetime="2026-01-15T13:00:00+01:00">01/15/2026 1 p.m.</time>' in timeline


def test_timeline_shows_the_latest_fifty_events_and_more_on_request(client, rep):
    contact = contact_create(actor=rep, first_name="Ana", last_name="Ruiz")
    for number in range(60):
        contact_update(actor=rep, contact=contact, job_title=f"Title {number}")
    client.force_login(rep)
    url = reverse("parties:contact_detail", args=[contact.pk])

    first = _timeline(client.get(url))
    more = client.get(
        url, {"events": "100"}, headers={"HX-Request": "true", "HX-Target": "timeline"}
    )

    assert first.count("<strong>Changed</strong>") == 50
    assert "<ins>Title 59</ins>" in first
    assert "<ins>Title 9</ins>" not in first
    assert f'hx-get="{url}?events=100"' in first
    more_html = more.content.decode()
    assert more_html.lstrip().startswith('<div id="timeline"')
    assert more_html.count("<strong>Changed</strong>") == 60
    assert "<strong>Created</strong>" in more_html
    assert 'data-testid="timeline-more"' not in more_html


def test_organization_detail_shows_money_people_with_roles_and_its_timeline(client, rep):
    organization = organization_create(
        actor=rep, name="Acme", annual_revenue="2500000", currency="DKK", phone="+45 32 12 34 56"
    )
    organization_update(actor=rep, organization=organization, industry="software")
    contact_create(
        actor=rep,
        first_name="Ana",
        last_name="Ruiz",
        organizations=[{"organization": organization, "role": "CEO"}],
    )
    client.force_login(rep)

    response = client.get(reverse("parties:organization_detail", args=[organization.pk]))

    html = response.content.decode()
    assert '<dd data-testid="revenue">DKK2,500,000.00</dd>' in html
    assert "<td>CEO</td>" in html
    assert ">1 person</h2>" in html
    assert (
        '<span class="field-label">Industry:</span>\n                <span class="muted">(empty)</span>\n                →\n                <ins>Software</ins>'
        in html
    )


def test_organization_detail_caps_its_people_and_links_to_the_filtered_contact_list(client, rep):
    organization = OrganizationFactory(owner=rep)
    for _number in range(25):
        AffiliationFactory(contact=ContactFactory(owner=rep), organization=organization)
    client.force_login(rep)

    response = client.get(reverse("parties:organization_detail", args=[organization.pk]))

    html = response.content.decode()
    assert len(response.context["people"]) == 20
    assert ">25 people</h2>" in html
    assert (
        f'<a href="/contacts/?organization={organization.pk}">Show all 25 people in the contact list</a>'
        in html
    )


def test_organization_detail_lists_only_the_people_the_reader_may_see(client, rep, rep_b):
    organization = OrganizationFactory(owner=rep, is_shared_with_team=True)
    AffiliationFactory(
        contact=ContactFactory(first_name="Seen", last_name="Person", owner=rep),
        organization=organization,
    )
    AffiliationFactory(
        contact=ContactFactory(first_name="Hidden", last_name="Person", owner=rep_b),
        organization=organization,
    )
    client.force_login(rep)

    html = client.get(
        reverse("parties:organization_detail", args=[organization.pk])
    ).content.decode()

    assert "Seen Person" in html
    assert "Hidden Person" not in html


def test_detail_pages_hide_buttons_the_reader_cannot_use(client, rep, analyst, manager):
    contact = ContactFactory(owner=rep)
    url = reverse("parties:contact_detail", args=[contact.pk])
    edit = f'href="/contacts/{contact.pk}/edit/"'
    delete = f'href="/contacts/{contact.pk}/delete/"'

    pages = {}
    for user in (rep, analyst, manager):
        client.force_login(user)
        pages[user.role] = client.get(url).content.decode()

    assert (edit in pages["representative"], delete in pages["representative"]) == (True, False)
    assert (edit in pages["analyst"], delete in pages["analyst"]) == (False, False)
    assert (edit in pages["manager"], delete in pages["manager"]) == (True, True)
