"""factory_boy factories for the domain model; tests build only what they need."""

from __future__ import annotations

import factory

from governance import models


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Source

    name = factory.Sequence(lambda n: f"Source {n}")
    kind = models.Source.Kind.MANUAL


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Document

    source = factory.SubFactory(SourceFactory)
    title = factory.Sequence(lambda n: f"Document {n}")
    text = factory.Sequence(lambda n: f"Document number {n}. Li Qiang said something about AI.")
    language = "en"


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Person

    name = factory.Sequence(lambda n: f"Person {n}")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    kind = models.Organization.Kind.GOVERNMENT


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Event

    name = factory.Sequence(lambda n: f"Summit {n}")


class ProposalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Proposal

    title = factory.Sequence(lambda n: f"Proposal {n}")
    kind = models.Proposal.Kind.DECLARATION


class StatementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Statement

    speaker = factory.SubFactory(PersonFactory)
    kind = models.Statement.Kind.DIRECT_QUOTE
    text = factory.Sequence(lambda n: f"Statement text {n}.")
