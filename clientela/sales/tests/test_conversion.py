"""Converting a lead: reusing contacts and organizations, the optional deal, one transaction."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from clientela.core.models import Event
from clientela.parties.models import Affiliation, Contact, Organization
from clientela.parties.services import contact_create, organization_create
from clientela.parties.tests.factories import ContactFactory
from clientela.sales.choices import LeadStatus
from clientela.sales.leads import lead_convert, lead_create
from clientela.sales.models import Deal, Lead, StageVisit
from clientela.sales.tests.factories import PipelineFactory, WebFormFactory

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _lead(actor, **fields):
    values = {
        "first_name": "Ana",
        "last_name": "Ruiz",
        "email": "ana@acme.dk",
        "phone": "+45 32 12 34 56",
        "company_name": "Acme",
        "job_title": "CTO",
        "country": "DK",
        "source": "website",
    }
    return lead_create(actor=actor, **{**values, **fields})


def test_convert_creates_a_contact_and_an_organization_from_the_lead(rep):
    lead = _lead(rep)

    conversion = lead_convert(actor=rep, lead=lead, now=NOON)

    contact, organization = conversion.contact, conversion.organization
    assert (conversion.is_contact_new, conversion.is_organization_new) == (True, True)
    assert (contact.first_name, contact.last_name, contact.job_title) == ("Ana", "Ruiz", "CTO")
    assert [email.email for email in contact.emails.all()] == ["ana@acme.dk"]
    assert [phone.number for phone in contact.phones.all()] == ["+4532123456"]
    assert (organization.name, organization.country, organization.owner) == ("Acme", "DK", rep)
    affiliation = Affiliation.objects.get(contact=contact)
    assert (affiliation.organization, affiliation.role) == (organization, "CTO")
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED
    assert lead.converted_at == NOON
    assert (lead.converted_contact, lead.converted_organization, lead.converted_deal) == (
        contact,
        organization,
        None,
    )
    event = Event.objects.get(record_id=lead.pk, kind="lead.converted")
    assert event.data["contact"] == {"id": contact.pk, "label": "Ana Ruiz"}
    assert event.data["organization"] == {"id": organization.pk, "label": "Acme"}
    assert event.data["deal"] is None


def test_convert_never_duplicates_a_contact_with_the_same_email_in_any_case(rep):
    existing = contact_create(
        actor=rep, first_name="Ana", last_name="Ruiz-Old", emails=["Ana@ACME.dk"]
    )
    lead = _lead(rep, email="ANA@acme.DK", company_name="")

    conversion = lead_convert(actor=rep, lead=lead)

    assert conversion.contact == existing
    assert conversion.is_contact_new is False
    assert Contact.objects.count() == 1
    assert Contact.objects.get().last_name == "Ruiz-Old"


def test_convert_links_the_existing_contact_to_the_existing_organization_once(rep):
    acme = organization_create(actor=rep, name="ACME")
    existing = contact_create(actor=rep, last_name="Ruiz", emails=["ana@acme.dk"])
    lead = _lead(rep)

    conversion = lead_convert(actor=rep, lead=lead)

    assert (conversion.contact, conversion.organization) == (existing, acme)
    assert Organization.objects.count() == 1
    assert list(Affiliation.objects.values_list("contact_id", "organization_id", "is_primary")) == [
        (existing.pk, acme.pk, True)
    ]


def test_convert_does_not_link_twice_when_already_affiliated(rep):
    acme = organization_create(actor=rep, name="Acme")
    existing = contact_create(
        actor=rep, last_name="Ruiz", emails=["ana@acme.dk"], organizations=[acme]
    )

    lead_convert(actor=rep, lead=_lead(rep))

    assert Affiliation.objects.filter(contact=existing).count() == 1


def test_convert_finds_the_organization_by_the_email_domain(rep):
    acme = organization_create(actor=rep, name="Acme Holding", website="https://www.acme.dk")

    conversion = lead_convert(actor=rep, lead=_lead(rep, company_name=""))

    assert conversion.organization == acme
    assert conversion.is_organization_new is False


def test_convert_ignores_free_mail_domains(rep):
    organization_create(actor=rep, name="Google", website="https://gmail.com")

    conversion = lead_convert(actor=rep, lead=_lead(rep, email="ana@gmail.com", company_name=""))

    assert conversion.organization is None


def test_convert_uses_the_contact_and_organization_chosen(rep):
    chosen = ContactFactory(owner=rep, first_name="Chosen", last_name="One")
    acme = organization_create(actor=rep, name="Other Name")

    conversion = lead_convert(actor=rep, lead=_lead(rep), contact=chosen, organization=acme)

    assert (conversion.contact, conversion.organization) == (chosen, acme)
    assert Contact.objects.count() == 1
    assert Affiliation.objects.filter(contact=chosen, organization=acme).count() == 1


def test_convert_ignores_contacts_the_actor_cannot_see(rep, rep_b):
    hidden = contact_create(actor=rep_b, last_name="Hidden", emails=["ana@acme.dk"])

    conversion = lead_convert(actor=rep, lead=_lead(rep))

    assert conversion.contact != hidden
    assert Contact.objects.count() == 2


def test_convert_refuses_a_chosen_contact_outside_the_actors_scope(rep, rep_b):
    hidden = ContactFactory(owner=rep_b)
    lead = _lead(rep)

    with pytest.raises(ValidationError):
        lead_convert(actor=rep, lead=lead, contact=hidden)

    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


def test_convert_with_a_deal_opens_it_at_the_first_stage(rep):
    PipelineFactory(name="Main", position=0)
    pipeline = PipelineFactory(name="Partners", position=1)

    conversion = lead_convert(
        actor=rep,
        lead=_lead(rep),
        create_deal=True,
        deal_title="Acme rollout",
        pipeline=pipeline,
        amount="12500.50",
        now=NOON,
    )

    deal = conversion.deal
    assert (deal.title, deal.pipeline, deal.stage.name) == ("Acme rollout", pipeline, "Qualify")
    assert (deal.amount, deal.currency, deal.owner) == (Decimal("12500.50"), "EUR", rep)
    assert deal.organization == conversion.organization
    assert list(deal.contacts.all()) == [conversion.contact]
    visit = StageVisit.objects.get(deal=deal)
    assert (visit.stage, visit.entered_at, visit.left_at) == (deal.stage, NOON, None)
    assert Event.objects.filter(record_id=deal.pk, kind="deal.created").count() == 1
    lead = Lead.objects.get()
    assert lead.converted_deal == deal


def test_convert_puts_the_deal_in_the_web_forms_pipeline_by_default(rep):
    PipelineFactory(name="Main", position=0)
    partners = PipelineFactory(name="Partners", position=1)
    form = WebFormFactory(default_owner=rep, pipeline=partners)
    lead = lead_create(actor=None, web_form=form, last_name="Sent", email="s@example.com")

    conversion = lead_convert(actor=rep, lead=lead, create_deal=True)

    assert conversion.deal.pipeline == partners
    assert conversion.deal.title == "Sent"


def test_convert_without_a_pipeline_changes_nothing(rep):
    lead = _lead(rep)

    with pytest.raises(ValidationError) as caught:
        lead_convert(actor=rep, lead=lead, create_deal=True)

    assert caught.value.message_dict == {
        "pipeline": ["There is no active pipeline to put the deal in."]
    }
    assert (Contact.objects.count(), Organization.objects.count(), Deal.objects.count()) == (
        0,
        0,
        0,
    )
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW


def test_converting_twice_is_refused_with_a_clear_message(rep):
    lead = _lead(rep)
    lead_convert(actor=rep, lead=lead, now=NOON)

    with pytest.raises(ValidationError) as caught:
        lead_convert(actor=rep, lead=lead)

    assert caught.value.message_dict == {
        "status": ["This lead was already converted on 2026-03-02; it cannot be converted again."]
    }
    assert Contact.objects.count() == 1


def test_an_analyst_cannot_convert(analyst, rep):
    lead = _lead(rep)

    with pytest.raises(PermissionDenied):
        lead_convert(actor=analyst, lead=lead)

    assert Contact.objects.count() == 0


def test_convert_page_suggests_matches_and_converts(client, rep):
    existing = contact_create(actor=rep, last_name="Ruiz", emails=["ana@acme.dk"])
    acme = organization_create(actor=rep, name="Acme")
    PipelineFactory(name="Main")
    lead = _lead(rep)
    client.force_login(rep)

    page = client.get(reverse("sales:lead_convert", args=[lead.pk]))
    response = client.post(
        reverse("sales:lead_convert", args=[lead.pk]),
        {
            "contact": str(existing.pk),
            "organization": str(acme.pk),
            "create_deal": "on",
            "deal_title": "Acme deal",
            "amount": "100",
        },
    )

    assert page.status_code == 200
    assert 'data-testid="contact-matches"' in page.content.decode()
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.converted_contact, lead.converted_organization) == (existing, acme)
    assert lead.converted_deal.title == "Acme deal"
    assert Contact.objects.count() == 1
