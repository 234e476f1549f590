"""Interaction, event and customer records, checked field by field."""

from __future__ import annotations

from typing import Any

from ingestion.services.validation.fields import (
    MAX_METADATA_BYTES,
    MAX_PROPERTIES_BYTES,
    Checker,
    not_a_dict,
)


def interaction_clean(record: Any) -> tuple[dict | None, dict[str, list[str]]]:
    if (bad := not_a_dict(record)) is not None:
        return None, bad
    c = Checker(record)
    cid, email, platform_pk = c.identity()
    clean = {
        "external_id": c.text("external_id", 255, required=True),
        "customer_id": cid,
        "email": email,
        "platform_customer_id": platform_pk,
        "occurred_at": c.when("occurred_at", required=True),
        "channel": c.text("channel", 32),
        "kind": c.text("kind", 32, required=True),
        "status": c.text("status", 32),
        "priority": c.text("priority", 16),
        "metadata": c.json_dict("metadata", MAX_METADATA_BYTES),
        "updated_at": c.when("updated_at"),
    }
    return (None, c.errors) if c.errors else (clean, c.errors)


def event_clean(record: Any) -> tuple[dict | None, dict[str, list[str]]]:
    if (bad := not_a_dict(record)) is not None:
        return None, bad
    c = Checker(record)
    cid, email, platform_pk = c.identity()
    clean = {
        "external_id": c.text("message_id", 255, required=True),
        "customer_id": cid,
        "email": email,
        "platform_customer_id": platform_pk,
        "name": c.text("name", 128, required=True),
        "occurred_at": c.when("occurred_at", required=True),
        "properties": c.json_dict("properties", MAX_PROPERTIES_BYTES),
    }
    return (None, c.errors) if c.errors else (clean, c.errors)


def customer_clean(data: Any) -> tuple[dict | None, dict[str, list[str]]]:
    if (bad := not_a_dict(data)) is not None:
        return None, bad
    c = Checker(data)
    cid, email, platform_pk = c.identity()
    clean = {
        "customer_id": cid,
        "email": email,
        "platform_customer_id": platform_pk,
        "name": c.text("name", 200),
        "phone": c.text("phone", 40),
        "updated_at": c.when("updated_at"),
    }
    return (None, c.errors) if c.errors else (clean, c.errors)
