"""Rows written directly, for arranging tests; the code under test goes through the services."""

from decimal import Decimal

import factory
from django.utils import timezone

from clientela.identity.tests.factories import UserFactory
from clientela.sales.choices import CloseOutcome, DealStatus, StageOutcome
from clientela.sales.models import (
    CloseReason,
    Deal,
    DealLineItem,
    Lead,
    Pipeline,
    Stage,
    StageVisit,
    WebForm,
)


class PipelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pipeline
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Pipeline {n}")
    position = factory.Sequence(lambda n: n)

    @factory.post_generation
    def stages(self, create, extracted, **kwargs):
        """``PipelineFactory(stages=[("Qualify", 10), ("Won", 100, "won"), ...])``; by default four
        open stages, a won and a lost one."""
        if not create:
            return
        specs = extracted
        if specs is None:
            specs = [
                ("Qualify", 10),
                ("Meet", 25),
                ("Propose", 50),
                ("Negotiate", 75),
                ("Won", 100, StageOutcome.WON),
                ("Lost", 0, StageOutcome.LOST),
            ]
        for position, spec in enumerate(specs):
            name, probability, *rest = spec
            Stage.objects.create(
                pipeline=self,
                name=name,
                position=position,
                probability=probability,
                outcome=rest[0] if rest else StageOutcome.OPEN,
            )


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    pipeline = factory.SubFactory(PipelineFactory, stages=[])
    name = factory.Sequence(lambda n: f"Stage {n}")
    position = factory.Sequence(lambda n: n)
    probability = 20


class CloseReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CloseReason

    outcome = CloseOutcome.LOST
    name = factory.Sequence(lambda n: f"Reason {n}")


class DealFactory(factory.django.DjangoModelFactory):
    """A deal at the first stage of a new pipeline unless told otherwise, with its one stage visit."""

    class Meta:
        model = Deal
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Deal {n}")
    owner = factory.SubFactory(UserFactory)
    team = factory.LazyAttribute(lambda o: o.owner.teams.first())
    pipeline = factory.LazyAttribute(lambda o: o.stage.pipeline if o.stage else PipelineFactory())
    stage = None
    amount = Decimal("1000.00")
    currency = "EUR"
    stage_entered_at = factory.LazyFunction(timezone.now)
    search_text = factory.LazyAttribute(lambda o: o.title.lower())

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        if kwargs.get("stage") is None:
            kwargs["stage"] = kwargs["pipeline"].stages.order_by("position", "id").first()
        return super()._create(model_class, *args, **kwargs)

    @factory.lazy_attribute
    def status(self):
        stage = self.stage
        if stage is None:
            return DealStatus.OPEN
        return {StageOutcome.WON: DealStatus.WON, StageOutcome.LOST: DealStatus.LOST}.get(
            stage.outcome, DealStatus.OPEN
        )

    @factory.post_generation
    def visit(self, create, extracted, **kwargs):
        if create and extracted is not False:
            StageVisit.objects.create(deal=self, stage=self.stage, entered_at=self.stage_entered_at)


class DealLineItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DealLineItem

    deal = factory.SubFactory(DealFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    quantity = Decimal("1")
    unit_price = Decimal("100.00")


class WebFormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebForm

    name = factory.Sequence(lambda n: f"Form {n}")
    slug = factory.Sequence(lambda n: f"form-{n}")
    fields = factory.LazyFunction(
        lambda: [
            {"field": "first_name", "required": False},
            {"field": "last_name", "required": True},
            {"field": "email", "required": True},
            {"field": "message", "required": False},
        ]
    )
    default_owner = factory.SubFactory(UserFactory)


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    first_name = factory.Sequence(lambda n: f"Lead{n}")
    last_name = "Person"
    email = factory.LazyAttribute(lambda o: f"{o.first_name.lower()}@example.com")
    owner = factory.SubFactory(UserFactory)
    team = factory.LazyAttribute(lambda o: o.owner.teams.first())
    search_text = factory.LazyAttribute(lambda o: f"{o.first_name} {o.last_name} {o.email}".lower())
