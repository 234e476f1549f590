"""Every ingestion admin screen loads for staff."""

import pytest
from django.urls import reverse

from ingestion.models import (
    CustomerMerge,
    IngestionBatch,
    OrderLine,
    WebhookDelivery,
)
from ingestion.tests.factories import EventFactory, ExternalRefFactory, InteractionFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows():
    line = OrderLineFactory()
    ref = ExternalRefFactory(customer=line.order.customer)
    InteractionFactory(customer=ref.customer)
    EventFactory(customer=ref.customer)
    CustomerMerge.objects.create(merged_customer_id=999, into=ref.customer, reason="test", moved={"order": 1})
    WebhookDelivery.objects.create(source="shopify", delivery_id="d1", topic="orders/create", payload={})
    IngestionBatch.objects.create(source="shop", kind="orders", via="api", accepted=1)
    return line


@pytest.mark.parametrize(
    "model",
    [
        "customer",
        "externalref",
        "customermerge",
        "order",
        "orderline",
        "interaction",
        "event",
        "webhookdelivery",
        "ingestionbatch",
    ],
)
def test_admin_changelist_search_and_change_pages(staff_client, staff_user, rows, model):
    from django.contrib.auth.models import Permission

    staff_user.user_permissions.set(Permission.objects.filter(content_type__app_label="ingestion"))
    url = reverse(f"admin:ingestion_{model}_changelist")
    assert staff_client.get(url).status_code == 200
    assert staff_client.get(url, {"q": "1"}).status_code == 200
    from django.apps import apps

    obj = apps.get_model("ingestion", model).objects.first()
    assert staff_client.get(reverse(f"admin:ingestion_{model}_change", args=[obj.pk])).status_code == 200


def test_staff_user_needs_rights(client, django_user_model):
    user = django_user_model.objects.create_user(username="u", password="p-123456789")
    client.force_login(user)
    assert client.get(reverse("admin:ingestion_order_changelist")).status_code == 302
    assert OrderLine.objects.count() == 0


def test_deleting_a_customer_in_the_admin_goes_through_the_identity_service(
    staff_client, staff_user, monkeypatch
):
    """It first waits for the ingestion writers in flight (a record may name a customer by its
    platform id). A customer with ingested rows cannot be deleted there: those rows are read-only."""
    from django.contrib.auth.models import Permission

    from ingestion.models import Customer
    from ingestion.services import identity
    from ingestion.tests.factories import CustomerFactory

    deleted, real_delete = [], identity.customer_delete
    monkeypatch.setattr(identity, "customer_delete", lambda c: (deleted.append(c.pk), real_delete(c)))
    staff_user.user_permissions.set(Permission.objects.filter(content_type__app_label="ingestion"))
    bare, busy = CustomerFactory(), OrderLineFactory().order.customer
    delete = "admin:ingestion_customer_delete"
    assert staff_client.post(reverse(delete, args=[bare.pk]), {"post": "yes"}).status_code == 302
    assert deleted == [bare.pk] and not Customer.objects.filter(pk=bare.pk).exists()
    assert staff_client.post(reverse(delete, args=[busy.pk]), {"post": "yes"}).status_code == 403
    assert deleted == [bare.pk] and Customer.objects.filter(pk=busy.pk).exists()
