"""Every admin screen answers in a bounded number of queries, and ingested/scored data stays read-only.

Several rows per model with their foreign keys set, so an N+1 in a changelist (a related
object printed per row) pushes the count over the bound.
"""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from generation.tests.factories import GenerationLogFactory, TokenUsageFactory
from ingestion.models import CustomerMerge, IngestionBatch, WebhookDelivery
from ingestion.tests.factories import EventFactory, ExternalRefFactory, InteractionFactory, OrderLineFactory
from intelligence.tests.factories import ArchetypeFactory, CustomerIntelligenceFactory, ModelVersionFactory
from marketing.tests.factories import (
    ABTestFactory,
    JourneyEnrollmentFactory,
    JourneyStepFactory,
    OutboxMessageFactory,
    SegmentSnapshotFactory,
    SuppressionFactory,
    VariantFactory,
)
from quimbi_site.audit_models import AuditEvent
from quimbi_site.models import ClientApiKey, IdempotencyRecord
from support.models import AssignmentLog, Message, SLAEvent, SLATimer, TicketEvent
from support.tests.factories import (
    AgentFactory,
    CalendarFactory,
    MacroFactory,
    PolicyFactory,
    TeamFactory,
    TicketFactory,
)

pytestmark = pytest.mark.django_db

ROWS = 4
CHANGELIST_MAX_QUERIES = 12
CHANGE_PAGE_MAX_QUERIES = 20


def _support_rows() -> None:
    now = timezone.now()
    policy = PolicyFactory(calendar=CalendarFactory())
    agents = AgentFactory.create_batch(2)
    for i in range(ROWS):
        team = TeamFactory(lead=agents[0].user)
        MacroFactory(team=team)
        ticket = TicketFactory(team=team, assignee=agents[0])
        Message.objects.create(
            ticket=ticket, author_kind="agent", author_agent=agents[0], body=f"reply {i}", created_at=now
        )
        TicketEvent.objects.create(ticket=ticket, kind="created", actor=agents[0].user, created_at=now)
        timer = SLATimer.objects.create(
            ticket=ticket, metric="first_response", policy=policy, target_minutes=60, started_at=now
        )
        SLAEvent.objects.create(ticket=ticket, timer=timer, metric=timer.metric, kind="start", at=now)
        AssignmentLog.objects.create(
            ticket=ticket, agent=agents[0], previous_agent=agents[1], reason="manual", created_at=now
        )


def _platform_rows() -> None:
    version = ModelVersionFactory()
    for i in range(ROWS):
        line = OrderLineFactory()
        ref = ExternalRefFactory(customer=line.order.customer)
        InteractionFactory(customer=ref.customer)
        EventFactory(customer=ref.customer)
        CustomerMerge.objects.create(merged_customer_id=900 + i, into=ref.customer, reason="test", moved={})
        WebhookDelivery.objects.create(
            source="shopify", delivery_id=f"d{i}", topic="orders/create", payload={}
        )
        IngestionBatch.objects.create(source="shop", kind="orders", via="api", accepted=1)
        ArchetypeFactory(model_version=version)
        CustomerIntelligenceFactory(model_version=version)
        GenerationLogFactory()
        TokenUsageFactory(day=timezone.localdate() - timedelta(days=i))


def _marketing_rows() -> None:
    for _ in range(ROWS):
        variant = VariantFactory()
        step = JourneyStepFactory(journey__campaign=variant.campaign, kind="send", variant=variant)
        SegmentSnapshotFactory(segment=variant.campaign.segment, members=("1", "2"))
        OutboxMessageFactory(campaign=variant.campaign, variant=variant)
        ABTestFactory(campaign=variant.campaign, winner=variant)
        JourneyEnrollmentFactory(journey=step.journey)
        SuppressionFactory(campaign=variant.campaign)


def _site_rows() -> None:
    from django.contrib.auth.models import Group

    for i in range(ROWS):
        Group.objects.create(name=f"group-{i}")
        ClientApiKey.objects.create_key(name=f"client-{i}")
        IdempotencyRecord.objects.create(owner="key:x", key=f"k{i}", request_fingerprint="f", path="/api/x")
        AuditEvent.objects.create(actor="system", action="test", target=f"thing:{i}")


@pytest.fixture
def rows():
    _support_rows()
    _platform_rows()
    _marketing_rows()
    _site_rows()


MODELS = sorted(admin.site._registry, key=lambda model: model._meta.label)


@pytest.mark.parametrize("model", MODELS, ids=[model._meta.label for model in MODELS])
def test_changelist_search_and_change_page_stay_within_a_query_budget(
    admin_client, django_assert_max_num_queries, rows, model
):
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    with django_assert_max_num_queries(CHANGELIST_MAX_QUERIES):
        assert admin_client.get(changelist).status_code == 200
    with django_assert_max_num_queries(CHANGELIST_MAX_QUERIES):
        assert admin_client.get(changelist, {"q": "1"}).status_code == 200
    obj = model._default_manager.order_by("-pk").first()
    assert obj is not None, f"no {opts.label} row to open"
    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    with django_assert_max_num_queries(CHANGE_PAGE_MAX_QUERIES):
        assert admin_client.get(change).status_code == 200


READ_ONLY = [
    "ingestion.ExternalRef",
    "ingestion.CustomerMerge",
    "ingestion.Order",
    "ingestion.OrderLine",
    "ingestion.Interaction",
    "ingestion.Event",
    "ingestion.WebhookDelivery",
    "ingestion.IngestionBatch",
    "intelligence.Archetype",
    "intelligence.CustomerIntelligence",
    "generation.GenerationLog",
    "generation.TokenUsage",
    "support.TicketEvent",
    "support.SLAEvent",
    "support.AssignmentLog",
    "marketing.OutboxMessage",
    "quimbi_site.IdempotencyRecord",
    "quimbi_site.AuditEvent",
]


@pytest.mark.parametrize("label", READ_ONLY)
def test_ingested_scored_and_logged_rows_cannot_be_added_edited_or_deleted(rf, admin_user, label):
    model_admin = next(ma for model, ma in admin.site._registry.items() if model._meta.label == label)
    request = rf.get("/")
    request.user = admin_user
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert "delete_selected" not in model_admin.get_actions(request)


def test_no_bulk_delete_of_customers_or_of_the_active_model_version(rf, admin_user):
    from ingestion.models import Customer
    from intelligence.models import ModelVersion

    request = rf.get("/")
    request.user = admin_user
    assert "delete_selected" not in admin.site._registry[Customer].get_actions(request)
    versions = admin.site._registry[ModelVersion]
    assert "delete_selected" not in versions.get_actions(request)
    assert not versions.has_delete_permission(request, ModelVersionFactory(active=True))
