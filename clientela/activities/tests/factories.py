"""Rows written directly, for arranging tests; the code under test goes through the services."""

import factory
from django.utils import timezone

from clientela.activities.choices import ActivityKind
from clientela.activities.models import Activity, Task
from clientela.identity.tests.factories import UserFactory


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    kind = ActivityKind.NOTE
    subject = factory.Sequence(lambda n: f"Activity {n}")
    owner = factory.SubFactory(UserFactory)
    team = factory.LazyAttribute(lambda o: o.owner.teams.first())
    occurred_at = factory.LazyFunction(timezone.now)


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    title = factory.Sequence(lambda n: f"Task {n}")
    owner = factory.SubFactory(UserFactory)
    team = factory.LazyAttribute(lambda o: o.owner.teams.first())
    created_by = factory.LazyAttribute(lambda o: o.owner)
