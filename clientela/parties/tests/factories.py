import factory

from clientela.identity.tests.factories import UserFactory
from clientela.parties.models import Affiliation, Contact, ContactEmail, ContactPhone, Organization
from clientela.parties.search import contact_search_text_refresh, organization_search_text


class OrganizationFactory(factory.django.DjangoModelFactory):
    """Rows written directly, for arranging tests; the code under test goes through the services."""

    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    owner = factory.SubFactory(UserFactory)
    team = factory.LazyAttribute(lambda o: o.owner.teams.first())
    country = "DK"
    # What the services would index, so that search finds factory rows too.
    search_text = factory.LazyAttribute(
        lambda o: organization_search_text(
            name=o.name, domain=getattr(o, "domain", ""), phone=getattr(o, "phone", "")
        )
    )


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact
        skip_postgeneration_save = True

    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")
    owner = factory.SubFactory(UserFactory)
    team = factory.LazyAttribute(lambda o: o.owner.teams.first())
    primary_email = factory.LazyAttribute(
        lambda o: f"{o.first_name}.{o.last_name}@example.com".lower()
    )
    primary_phone = ""

    @factory.post_generation
    def with_children(self, create, extracted, **kwargs):
        if not create:
            return
        if self.primary_email:
            ContactEmail.objects.create(contact=self, email=self.primary_email, is_primary=True)
        if self.primary_phone:
            ContactPhone.objects.create(contact=self, number=self.primary_phone, is_primary=True)
        contact_search_text_refresh([self.pk])
        self.refresh_from_db(fields=["search_text"])


class AffiliationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Affiliation
        skip_postgeneration_save = True

    contact = factory.SubFactory(ContactFactory)
    organization = factory.SubFactory(OrganizationFactory)

    @factory.post_generation
    def index(self, create, extracted, **kwargs):
        if create:
            contact_search_text_refresh([self.contact_id])
