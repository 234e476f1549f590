"""Shopify's own REST fixtures (../shared/data/shopify) and webhook signing for tests."""

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from django.conf import settings

SHOPIFY_DATA = Path(settings.BASE_DIR).parent / "shared" / "data" / "shopify"


def load(name: str) -> dict:
    """The inner object of a fixture file (`order.json` -> the order)."""
    path = SHOPIFY_DATA / name
    if not path.exists():
        pytest.skip(f"Shopify fixtures not found at {SHOPIFY_DATA}")
    data = json.loads(path.read_text())
    return next(iter(data.values())) if isinstance(data, dict) and len(data) == 1 else data


def sign(body: bytes, secret: str | None = None) -> str:
    secret = settings.SHOPIFY_WEBHOOK_SECRET if secret is None else secret
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
