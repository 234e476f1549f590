"""The bad-input matrix: every /api/data/ endpoint answers hostile bodies with a
4xx and the error envelope, never a 5xx, and stores nothing."""

import json

import pytest
from django.apps import apps

from ingestion.models import Customer, Event, ExternalRef, Interaction, Order, OrderLine, WebhookDelivery
from ingestion.tests.api_data import cdnow_events, cdnow_orders, ticket_interactions
from ingestion.tests.shopify_data import load, sign

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
HUGE = 2**70


def _valid(endpoint: str) -> dict:
    return {
        "orders": lambda: cdnow_orders(1)[0],
        "interactions": lambda: ticket_interactions(1)[0],
        "events": lambda: cdnow_events(1)[0],
        "customers": lambda: {"customer_id": "207119551", "email": "bob.norman@hostmail.com", "name": "Bob"},
        "webhook": lambda: load("order.json"),
    }[endpoint]()


def _wrap(endpoint: str, record) -> dict:
    if endpoint == "webhook":
        return record
    if endpoint == "customers":
        return {"source": "bad-input", "customer": record}
    return {"source": "bad-input", "records": [record]}


def _body(endpoint: str, record) -> bytes:
    return json.dumps(_wrap(endpoint, record)).encode()


# Per endpoint: fields that must be rejected when given the wrong type or a huge number.
WRONG_TYPES = {
    "orders": {"total": "twelve", "placed_at": 19970101, "lines": "CD", "currency": 840},
    "interactions": {"occurred_at": [2026, 1, 1], "kind": {"ticket": True}, "metadata": "intent=cancel"},
    "events": {"occurred_at": True, "name": ["Placed Order"], "properties": [1, 2]},
    "customers": {"customer_id": {"id": 1}, "email": ["bob@example.com"]},
}
HUGE_NUMBERS = {
    "orders": {"total": HUGE},
    "interactions": {"occurred_at": HUGE},
    "events": {"occurred_at": HUGE},
    "customers": {"email": HUGE},
}
LONG_FIELD = {
    "orders": "external_id",
    "interactions": "external_id",
    "events": "message_id",
    "customers": "name",
}
BLOB_FIELD = {"interactions": "metadata", "events": "properties"}
TIME_FIELD = {
    "orders": "placed_at",
    "interactions": "occurred_at",
    "events": "occurred_at",
    "customers": "updated_at",
    "webhook": "created_at",
}


def _case_malformed(endpoint):
    return _body(endpoint, _valid(endpoint))[:-7], "application/json"


def _case_not_json(endpoint):
    return b"source=bad-input&records=1", "application/json"


def _case_wrong_content_type(endpoint):
    return _body(endpoint, _valid(endpoint)), "text/plain"


def _case_form_content_type(endpoint):
    return b"source=bad-input&records=1", "application/x-www-form-urlencoded"


def _case_top_level_list(endpoint):
    return json.dumps([_wrap(endpoint, _valid(endpoint))]).encode(), "application/json"


def _case_wrong_types(endpoint):
    if endpoint == "webhook":  # a Shopify body must be an object
        return b'"orders/create"', "application/json"
    return _body(endpoint, {**_valid(endpoint), **WRONG_TYPES[endpoint]}), "application/json"


def _case_nan(endpoint):
    text = _body(endpoint, {**_valid(endpoint), "nan_here": 1}).decode()
    return text.replace('"nan_here": 1', '"total": NaN').encode(), "application/json"


def _case_infinity(endpoint):
    text = _body(endpoint, {**_valid(endpoint), "inf_here": 1}).decode()
    return text.replace('"inf_here": 1', '"total": -Infinity').encode(), "application/json"


def _case_overflowing_float(endpoint):
    # 1e400 parses to float("inf") without any NaN/Infinity literal.
    record = _valid(endpoint)
    field = {"orders": "total", "customers": "email"}.get(endpoint) or BLOB_FIELD.get(endpoint)
    if field is None:  # webhook: the order total
        field = "total_price"
    record[field] = "PLACEHOLDER" if field not in BLOB_FIELD.values() else {"x": "PLACEHOLDER"}
    return _body(endpoint, record).replace(b'"PLACEHOLDER"', b"1e400"), "application/json"


def _case_huge_numbers(endpoint):
    if endpoint == "webhook":
        return _body(endpoint, {**_valid(endpoint), "id": HUGE, "total_price": HUGE}), "application/json"
    return _body(endpoint, {**_valid(endpoint), **HUGE_NUMBERS[endpoint]}), "application/json"


def _case_time_offset_past_calendar(endpoint):
    # Valid ISO 8601 whose UTC time has no datetime: year 1 at +14:00 (and 9999 at -12:00 for the
    # version, read by another path). Once an OverflowError, a 500.
    record = {**_valid(endpoint), TIME_FIELD[endpoint]: "0001-01-01T00:00:00+14:00"}
    if endpoint == "orders":
        record["updated_at"] = "9999-12-31T23:59:59-12:00"
    return _body(endpoint, record), "application/json"


def _case_nul_escape(endpoint):
    record = _valid(endpoint)
    key = "email" if endpoint in ("customers", "webhook") else LONG_FIELD[endpoint]
    record[key] = "bob\u0000@example.com"
    return _body(endpoint, record), "application/json"


def _case_raw_nul_byte(endpoint):
    return _body(endpoint, _valid(endpoint)).replace(b'"', b'"\x00', 1), "application/json"


def _case_invalid_utf8(endpoint):
    record = {**_valid(endpoint), "title": "PLACEHOLDER"}
    return _body(endpoint, record).replace(b"PLACEHOLDER", b"caf\xe9 \xff\xfe"), "application/json"


def _case_lone_surrogate(endpoint):
    record = {**_valid(endpoint), "title": "PLACEHOLDER"}
    return _body(endpoint, record).replace(b"PLACEHOLDER", b"\\ud800 alone"), "application/json"


def _case_deep_nesting(endpoint):
    deep = b"[" * 10_000 + b"]" * 10_000
    return _body(endpoint, {**_valid(endpoint), "deep": "PLACEHOLDER"}).replace(
        b'"PLACEHOLDER"', deep
    ), "application/json"


def _case_deep_nesting_envelope(endpoint):
    return b'{"source": "bad-input", "records": ' + b'{"a": ' * 10_000 + b"1" + b"}" * 10_000 + b"}", (
        "application/json"
    )


def _case_megabyte_string(endpoint):
    if endpoint == "webhook":
        return b'{"id": "' + b"9" * MB + b'"', "application/json"  # also unterminated: never stored
    return _body(endpoint, {**_valid(endpoint), LONG_FIELD[endpoint]: "x" * MB}), "application/json"


def _case_megabyte_blob(endpoint):
    field = BLOB_FIELD.get(endpoint)
    if field is None:
        return _case_megabyte_string(endpoint)
    return _body(endpoint, {**_valid(endpoint), field: {"text": "y" * MB}}), "application/json"


def _case_too_many_records(endpoint):
    if endpoint in ("customers", "webhook"):
        return _case_body_too_large(endpoint)
    return json.dumps(
        {"source": "bad-input", "records": [_valid(endpoint)] * 5_001}
    ).encode(), "application/json"


def _case_body_too_large(endpoint):
    record = {**_valid(endpoint), "padding": "z" * (5 * MB)}
    return _body(endpoint, record), "application/json"


CASES = {
    "malformed_json": (_case_malformed, 400),
    "not_json": (_case_not_json, 400),
    "wrong_content_type": (_case_wrong_content_type, 415),
    "form_content_type": (_case_form_content_type, 415),
    "top_level_list": (_case_top_level_list, 400),
    "wrong_types": (_case_wrong_types, 400),
    "nan": (_case_nan, 400),
    "infinity": (_case_infinity, 400),
    "overflowing_float": (_case_overflowing_float, 400),
    "huge_numbers": (_case_huge_numbers, 400),
    "time_offset_past_calendar": (_case_time_offset_past_calendar, 400),
    "nul_escape": (_case_nul_escape, 400),
    "raw_nul_byte": (_case_raw_nul_byte, 400),
    "invalid_utf8": (_case_invalid_utf8, 400),
    "lone_surrogate": (_case_lone_surrogate, 400),
    "deep_nesting_10k": (_case_deep_nesting, 400),
    "deep_nesting_10k_envelope": (_case_deep_nesting_envelope, 400),
    "megabyte_string": (_case_megabyte_string, 400),
    "megabyte_blob": (_case_megabyte_blob, 400),
    "too_many_records": (_case_too_many_records, 413),
    "body_over_5mb": (_case_body_too_large, 413),
}
ENDPOINTS = ["orders", "interactions", "events", "customers", "webhook"]
# A webhook body is stored as Shopify sent it (it is signed): a huge id or total, or a time
# outside the calendar, is rejected when the order is processed, and the delivery is marked
# failed instead.
WEBHOOK_STORES = {"huge_numbers", "time_offset_past_calendar"}


def _stored_counts() -> dict:
    # Idempotency records belong to the site layer, which this app must not import.
    idempotency_record = apps.get_model("quimbi_site", "IdempotencyRecord")
    models = (
        Customer,
        ExternalRef,
        Order,
        OrderLine,
        Interaction,
        Event,
        WebhookDelivery,
        idempotency_record,
    )
    return {model.__name__: model.objects.count() for model in models}


@pytest.mark.parametrize(
    ("endpoint", "case"),
    [(e, c) for e in ENDPOINTS for c in CASES if not (e == "webhook" and c in WEBHOOK_STORES)],
)
def test_bad_input_is_a_4xx_envelope_and_stores_nothing(
    api_client, endpoint, case, django_capture_on_commit_callbacks
):
    build, expected = CASES[case]
    body, content_type = build(endpoint)
    before = _stored_counts()
    if endpoint == "webhook":
        path = "/api/data/webhooks/shopify/orders/create"
        headers = {"HTTP_X_SHOPIFY_HMAC_SHA256": sign(body), "HTTP_X_SHOPIFY_WEBHOOK_ID": f"bad-{case}"}
    else:
        path = f"/api/data/{endpoint}"
        headers = {"HTTP_IDEMPOTENCY_KEY": f"bad-{case}"}

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.generic("POST", path, body, content_type=content_type, **headers)

    assert response.status_code == expected, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict | list)
    assert _stored_counts() == before


def _order_webhook_processed(api_client, capture, order: dict) -> WebhookDelivery:
    """Deliver a signed orders/create webhook and run its task; the stored delivery."""
    body = json.dumps(order).encode()
    with capture(execute=True):
        response = api_client.generic(
            "POST",
            "/api/data/webhooks/shopify/orders/create",
            body,
            content_type="application/json",
            HTTP_X_SHOPIFY_HMAC_SHA256=sign(body),
        )
    assert response.status_code == 200  # acknowledged: the payload's problem is the task's
    return WebhookDelivery.objects.get()


def test_webhook_with_huge_numbers_fails_processing_and_stores_no_order(
    api_client, django_capture_on_commit_callbacks
):
    order = {**load("order.json"), "total_price": HUGE}
    delivery = _order_webhook_processed(api_client, django_capture_on_commit_callbacks, order)
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert Order.objects.count() == 0


def test_webhook_with_a_time_outside_the_calendar_fails_processing_with_the_reason(
    api_client, django_capture_on_commit_callbacks
):
    when = "0001-01-01T00:00:00+14:00"
    order = {**load("order.json"), "processed_at": when, "created_at": when}
    delivery = _order_webhook_processed(api_client, django_capture_on_commit_callbacks, order)
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "placed_at" in str(delivery.result)  # the record's error, not an OverflowError
    assert Order.objects.count() == 0


@pytest.mark.parametrize("endpoint", ["interactions", "events"])
def test_huge_numbers_inside_json_blobs_round_trip_or_are_rejected(api_client, endpoint):
    field = BLOB_FIELD[endpoint]
    record = {**_valid(endpoint), field: {"big": HUGE, "nested": {"list": [HUGE, -HUGE]}}}
    response = api_client.post(f"/api/data/{endpoint}", _wrap(endpoint, record), format="json")

    assert response.status_code < 500
    if response.status_code == 200:
        model = Interaction if endpoint == "interactions" else Event
        assert getattr(model.objects.get(), field)["nested"]["list"] == [HUGE, -HUGE]
    else:
        assert response.json()["error"]["code"]
