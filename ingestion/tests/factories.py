"""factory-boy factories for the ingestion models."""

import datetime as dt
from decimal import Decimal

import factory

from ingestion.models import Customer, Event, ExternalRef, Interaction, Order, OrderLine


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    name = factory.Faker("name")


class ExternalRefFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExternalRef

    source = "shop"
    external_id = factory.Sequence(lambda n: f"c{n}")
    customer = factory.SubFactory(CustomerFactory)


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    source = "shop"
    external_id = factory.Sequence(lambda n: f"o{n}")
    customer = factory.SubFactory(CustomerFactory)
    placed_at = factory.Sequence(lambda n: dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=n))
    total = Decimal("25.00")


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n}")
    title = "Album"
    quantity = 1
    unit_price = Decimal("25.00")


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    source = "helpdesk"
    external_id = factory.Sequence(lambda n: f"t{n}")
    customer = factory.SubFactory(CustomerFactory)
    kind = "ticket"
    channel = "email"
    occurred_at = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    source = "web"
    message_id = factory.Sequence(lambda n: f"m{n}")
    customer = factory.SubFactory(CustomerFactory)
    name = "Product Viewed"
    occurred_at = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
