"""The data API: batches of orders, interactions and events, and customer sync."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from ingestion.models import Customer, Event, ExternalRef, IngestionBatch, Interaction, Order, OrderLine
from ingestion.tests.api_data import cdnow_events, cdnow_orders, ticket_interactions

pytestmark = pytest.mark.django_db


def post(client, path, body):
    return client.post(f"/api/data/{path}", body, format="json")


def test_order_batch_is_stored_and_counted(api_client):
    records = cdnow_orders(40)
    response = post(api_client, "orders", {"source": "cdnow", "records": records})

    assert response.status_code == 200
    assert response.json() == {
        "source": "cdnow",
        "received": 40,
        "accepted": 40,
        "duplicates": 0,
        "updated": 0,
        "rejected": 0,
        "errors": [],
    }
    assert Order.objects.filter(source="cdnow").count() == 40
    assert OrderLine.objects.count() == 40
    first = Order.objects.get(source="cdnow", external_id=records[0]["external_id"])
    assert (first.total, first.item_count, first.placed_at.date().isoformat()) == (
        Decimal("29.33"),
        2,
        "1997-01-01",
    )
    assert ExternalRef.objects.get(source="cdnow", external_id="00004").customer_id == first.customer_id


def test_resending_a_batch_is_all_duplicates_and_writes_nothing(api_client):
    body = {"source": "cdnow", "records": cdnow_orders(25)}
    post(api_client, "orders", body)
    customers = Customer.objects.count()

    response = post(api_client, "orders", body)

    assert response.json()["duplicates"] == 25
    assert response.json()["accepted"] == 0
    assert Order.objects.count() == 25
    assert OrderLine.objects.count() == 25
    assert Customer.objects.count() == customers


def test_newer_version_updates_and_older_is_ignored(api_client):
    record = {**cdnow_orders(1)[0], "updated_at": "2026-01-02T00:00:00Z"}
    post(api_client, "orders", {"source": "cdnow", "records": [record]})

    newer = {**record, "total": "31.00", "status": "refunded", "updated_at": "2026-01-03T00:00:00Z"}
    assert post(api_client, "orders", {"source": "cdnow", "records": [newer]}).json()["updated"] == 1
    older = {**record, "total": "99.00", "updated_at": "2026-01-01T00:00:00Z"}
    response = post(api_client, "orders", {"source": "cdnow", "records": [older]})

    assert response.status_code == 200
    assert response.json()["updated"] == 0
    order = Order.objects.get()
    assert (order.total, order.status) == (Decimal("31.00"), "refunded")


def test_invalid_records_are_reported_by_index_and_the_rest_stored(api_client):
    records = cdnow_orders(5)
    records[1] = {**records[1], "total": "twelve"}
    records[3] = {**records[3], "placed_at": "yesterday", "customer_id": None}
    response = post(api_client, "orders", {"source": "cdnow", "records": records})

    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (3, 2)
    assert [e["index"] for e in body["errors"]] == [1, 3]
    assert body["errors"][0]["external_id"] == records[1]["external_id"]
    assert set(body["errors"][0]["errors"]) == {"total"}
    assert {"placed_at", "customer_id"} <= set(body["errors"][1]["errors"])
    stored = set(Order.objects.values_list("external_id", flat=True))
    assert stored == {records[i]["external_id"] for i in (0, 2, 4)}


def test_records_that_are_not_objects_are_reported_and_the_rest_stored(api_client):
    records = [*cdnow_orders(2), "not an object", 5, None, ["a", "list"]]
    response = post(api_client, "orders", {"source": "cdnow", "records": records})

    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 4)
    assert [e["index"] for e in body["errors"]] == [2, 3, 4, 5]
    assert body["errors"][0]["errors"] == {"non_field_errors": ["Each record must be an object."]}
    assert Order.objects.count() == 2

    response = post(api_client, "events", {"source": "web", "records": [1, "two"]})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["rejected"] == 2
    assert Event.objects.count() == 0


def test_batch_where_every_record_is_rejected_is_a_400_with_the_counts(api_client):
    records = [{**r, "total": -1} for r in cdnow_orders(3)]
    response = post(api_client, "orders", {"source": "cdnow", "records": records})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"]["rejected"] == 3
    assert [e["index"] for e in error["details"]["errors"]] == [0, 1, 2]
    assert Order.objects.count() == 0
    assert Customer.objects.count() == 0


def test_empty_batch_is_accepted(api_client):
    response = post(api_client, "orders", {"source": "cdnow", "records": []})
    assert response.status_code == 200
    assert response.json()["received"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"records": []}, "source"),
        ({"source": "has spaces", "records": []}, "source"),
        ({"source": "x" * 65, "records": []}, "source"),
        ({"source": "cdnow"}, "records"),
        ({"source": "cdnow", "records": {"external_id": "1"}}, "records"),
    ],
)
def test_invalid_envelope_is_a_400_with_field_errors(api_client, body, field):
    response = post(api_client, "orders", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert field in response.json()["error"]["details"]


def test_interactions_batch(api_client):
    records = ticket_interactions(30)
    response = post(api_client, "interactions", {"source": "bitext", "records": records})

    assert response.status_code == 200
    assert response.json()["accepted"] == 30
    assert Interaction.objects.count() == 30
    stored = Interaction.objects.get(external_id="bitext-0")
    assert stored.kind == "ticket"
    assert stored.metadata["intent"] == "cancel_order"
    assert Customer.objects.count() == 7  # seven distinct e-mails
    assert (
        post(api_client, "interactions", {"source": "bitext", "records": records}).json()["duplicates"] == 30
    )


def test_events_are_deduplicated_on_message_id_within_and_across_batches(api_client):
    records = cdnow_events(10)
    response = post(api_client, "events", {"source": "cdnow", "records": [*records, records[0]]})
    assert response.status_code == 200
    assert (response.json()["accepted"], response.json()["duplicates"]) == (10, 1)

    again = post(api_client, "events", {"source": "cdnow", "records": records[:5]})
    assert again.json()["duplicates"] == 5
    assert Event.objects.count() == 10


def test_too_many_records_is_a_413_and_nothing_is_stored(api_client, settings):
    settings.QUIMBI_MAX_BATCH_RECORDS = 20
    response = post(api_client, "orders", {"source": "cdnow", "records": cdnow_orders(21)})

    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert error["details"] == {"max_records": 20, "received": 21}
    assert Order.objects.count() == 0


def test_default_limit_is_5000_records(api_client):
    records = cdnow_orders(1) * 5001
    response = post(api_client, "orders", {"source": "cdnow", "records": records})
    assert response.status_code == 413
    assert Order.objects.count() == 0


def test_a_batch_costs_a_bounded_number_of_queries(api_client, django_assert_max_num_queries):
    records = cdnow_orders(300)
    with django_assert_max_num_queries(40):
        response = post(api_client, "orders", {"source": "cdnow", "records": records})
    assert response.json()["accepted"] == 300
    with django_assert_max_num_queries(40):
        assert post(api_client, "orders", {"source": "cdnow", "records": records}).json()["duplicates"] == 300


def test_every_batch_leaves_an_audit_row(api_client):
    post(api_client, "orders", {"source": "cdnow", "records": cdnow_orders(3)})
    batch = IngestionBatch.objects.get()
    assert (batch.source, batch.kind, batch.accepted) == ("cdnow", "orders", 3)


def test_customer_sync_creates_then_updates(api_client):
    body = {"source": "shopify", "customer": {"customer_id": "207119551", "email": "bob.norman@hostmail.com"}}
    first = post(api_client, "customers", body)
    assert first.status_code == 200
    assert first.json()["created"] is True

    body["customer"]["name"] = "Bob Norman"
    second = post(api_client, "customers", body)
    assert second.json() == {"customer_id": first.json()["customer_id"], "created": False, "merged_from": []}
    assert Customer.objects.get().name == "Bob Norman"


def test_customer_sync_keeps_the_newest_details(api_client):
    def sync(**customer):
        body = {"source": "crm", "customer": {"customer_id": "C-7", **customer}}
        response = post(api_client, "customers", body)
        assert response.status_code == 200
        return response.json()

    first = sync(name="Ana Lima", email="ana@new.example", updated_at="2026-03-01T10:00:00Z")
    sync(name="Ana L.", email="ana@old.example", updated_at="2026-02-01T10:00:00Z")  # older
    customer = Customer.objects.get(pk=first["customer_id"])
    assert (customer.name, customer.email) == ("Ana Lima", "ana@new.example")
    # Its identities still count: the e-mail now names the same person.
    assert ExternalRef.objects.get(source="email", external_id="ana@old.example").customer_id == customer.pk

    sync(name="Ana Lima Souza", updated_at="2026-04-01T10:00:00Z")
    sync(phone="+55 11 5555-0000")  # no version: the source says it is current
    customer.refresh_from_db()
    assert (customer.name, customer.phone) == ("Ana Lima Souza", "+55 11 5555-0000")
    assert customer.profile_updated_at.isoformat() == "2026-04-01T10:00:00+00:00"

    bad = post(
        api_client, "customers", {"source": "crm", "customer": {"customer_id": "C-7", "updated_at": "soon"}}
    )
    assert bad.status_code == 400
    assert "updated_at" in bad.json()["error"]["details"]


def test_customer_sync_merges_two_known_customers(api_client):
    a = post(api_client, "customers", {"source": "shop", "customer": {"customer_id": "A-1"}}).json()
    b = post(api_client, "customers", {"source": "shop", "customer": {"email": "ann@example.com"}}).json()
    merged = post(
        api_client,
        "customers",
        {"source": "shop", "customer": {"customer_id": "A-1", "email": "ann@example.com"}},
    ).json()

    assert {merged["customer_id"], *merged["merged_from"]} == {a["customer_id"], b["customer_id"]}
    assert Customer.objects.filter(merged_into__isnull=True).count() == 1


def test_customer_sync_rejects_an_unidentifiable_customer(api_client):
    response = post(
        api_client, "customers", {"source": "shop", "customer": {"name": "Nobody", "email": "not-mail"}}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert "email" in response.json()["error"]["details"]
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("path", ["orders", "interactions", "events", "customers"])
def test_data_endpoints_need_a_key(anon_client, path):
    response = post(anon_client, path, {"source": "x", "records": []})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_key_without_the_data_scope_is_forbidden(anon_client):
    out = StringIO()
    call_command("create_api_key", "support-only", "--scopes", "support", stdout=out)
    anon_client.credentials(HTTP_X_API_KEY=out.getvalue().strip())
    response = post(anon_client, "orders", {"source": "x", "records": []})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_staff_session_can_post_with_a_csrf_token(staff_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    no_token = client.post(
        "/api/data/orders", json.dumps({"source": "x", "records": []}), content_type="application/json"
    )
    assert no_token.status_code == 403

    client.get("/admin/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/data/orders",
        json.dumps({"source": "cdnow", "records": cdnow_orders(2)}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200
    assert response.json()["accepted"] == 2


def test_get_is_not_allowed(api_client):
    response = api_client.get("/api/data/orders")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
