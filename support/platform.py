"""How the support app reaches the platform: in-process (default) or over HTTP.

Both implementations return the platform's own frozen dataclasses, and both
answer `None` (or an empty list) instead of raising when the platform is slow
or down, so every page and endpoint keeps working and says "intelligence
unavailable". Chosen by settings: QUIMBI_PLATFORM_URL set -> HTTP.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import types
import typing
from datetime import date, datetime
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from generation.interface import GeneratedMessage, SuggestedAction
from intelligence.interface import CustomerIntelligence, CustomerScore

logger = logging.getLogger("quimbi.support.platform")

CACHE_SECONDS = 15 * 60
SOURCE = "support"


@dataclasses.dataclass(frozen=True)
class RecentOrder:
    order_id: str
    placed_at: datetime | None
    total: float
    status: str


class PlatformClient(Protocol):
    def customer_intelligence(self, *, customer_id: str) -> CustomerIntelligence | None: ...
    def customer_score(self, *, customer_id: str, context: dict[str, Any]) -> CustomerScore | None: ...
    def recent_orders(self, *, customer_id: str, limit: int = 5) -> list[RecentOrder] | None: ...
    def message_draft(
        self, *, profile: dict[str, Any], context: dict[str, Any]
    ) -> GeneratedMessage | None: ...
    def actions_suggest(
        self, *, profile: dict[str, Any], context: dict[str, Any]
    ) -> list[SuggestedAction] | None: ...
    def interactions_report(self, *, records: list[dict[str, Any]]) -> bool: ...


def _safely(what: str, fn, *args, **kwargs):
    # The platform is a dependency: any failure degrades to "intelligence unavailable".
    # The savepoint keeps a failed in-process query from aborting the caller's transaction.
    try:
        with transaction.atomic():
            return fn(*args, **kwargs)
    except Exception as exc:
        logger.warning("platform %s unavailable: %s: %s", what, type(exc).__name__, exc)
        return None


class InProcessPlatformClient:
    """Calls the platform interfaces in this process."""

    def customer_intelligence(self, *, customer_id: str) -> CustomerIntelligence | None:
        from intelligence import interface

        return _safely("analyze", interface.analyze_customer, customer_id=customer_id)

    def customer_score(self, *, customer_id: str, context: dict[str, Any]) -> CustomerScore | None:
        from intelligence import interface

        return _safely("score", interface.score_customer, customer_id=customer_id, scoring_context=context)

    def recent_orders(self, *, customer_id: str, limit: int = 5) -> list[RecentOrder] | None:
        return _safely("orders", self._recent_orders, customer_id, limit)

    @staticmethod
    def _recent_orders(customer_id: str, limit: int) -> list[RecentOrder]:
        from ingestion import interface

        return [
            RecentOrder(order_id=o.order_id, placed_at=o.placed_at, total=o.total, status=o.status)
            for o in interface.orders_recent(customer_id=customer_id, limit=limit)
        ]

    def message_draft(self, *, profile: dict[str, Any], context: dict[str, Any]) -> GeneratedMessage | None:
        from generation import interface

        return _safely("message", interface.generate_message, customer_profile=profile, context=context)

    def actions_suggest(
        self, *, profile: dict[str, Any], context: dict[str, Any]
    ) -> list[SuggestedAction] | None:
        from generation import interface

        return _safely(
            "actions",
            interface.suggest_actions,
            customer_profile=profile,
            scenario="support_ticket",
            context=context,
        )

    def interactions_report(self, *, records: list[dict[str, Any]]) -> bool:
        return _safely("ingest", self._report, records) is not None

    @staticmethod
    def _report(records: list[dict[str, Any]]):
        from ingestion import interface

        return interface.ingest_interactions(source=SOURCE, records=records) if records else None


# --- HTTP -------------------------------------------------------------------------------------------


def _build(tp: Any, value: Any) -> Any:
    """Rebuild a (nested) frozen dataclass from its JSON form."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _build(args[0], value) if len(args) == 1 else value
    if origin is typing.Literal:
        return value
    if origin is tuple:
        (inner, *_) = typing.get_args(tp) or (Any,)
        return tuple(_build(inner, v) for v in value)
    if origin is list:
        (inner,) = typing.get_args(tp) or (Any,)
        return [_build(inner, v) for v in value]
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        return tp(**{k: _build(hints[k], v) for k, v in value.items() if k in names})
    if tp is datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    if tp is date:
        return date.fromisoformat(value[:10])
    if tp is float and isinstance(value, int | float):
        return float(value)
    return value


class HttpPlatformClient:
    """The platform over HTTP (httpx, X-API-Key, timeouts); reads cached 15 minutes."""

    def __init__(self, *, base_url: str, api_key: str, timeout: float = 3.0, transport=None):
        import httpx

        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"X-API-Key": api_key, "Accept": "application/json"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 1.0)),
            transport=transport,
        )

    def _call(self, method: str, path: str, payload: dict | None = None, *, cached: bool = True) -> Any:
        key = (
            "support:platform:"
            + hashlib.sha256(
                json.dumps([method, path, payload], sort_keys=True, default=str).encode()
            ).hexdigest()
        )
        if cached and (hit := cache.get(key)) is not None:
            return hit
        response = self._client.request(method, path, json=payload)
        response.raise_for_status()
        data = response.json()
        if cached:
            cache.set(key, data, CACHE_SECONDS)
        return data

    def customer_intelligence(self, *, customer_id: str) -> CustomerIntelligence | None:
        data = _safely(
            "analyze", self._call, "POST", "/api/intelligence/analyze", {"customer_id": customer_id}
        )
        return _safely("analyze-decode", _build, CustomerIntelligence, data) if data else None

    def customer_score(self, *, customer_id: str, context: dict[str, Any]) -> CustomerScore | None:
        data = _safely(
            "score",
            self._call,
            "POST",
            "/api/intelligence/score",
            {"customer_id": customer_id, "scoring_context": context},
        )
        return _safely("score-decode", _build, CustomerScore, data) if data else None

    def recent_orders(self, *, customer_id: str, limit: int = 5) -> list[RecentOrder] | None:
        data = _safely("orders", self._call, "GET", f"/api/intelligence/customers/{customer_id}")
        if not isinstance(data, dict) or "recent_orders" not in data:
            return None
        return _safely("orders-decode", _build, list[RecentOrder], data["recent_orders"][:limit])

    def message_draft(self, *, profile: dict[str, Any], context: dict[str, Any]) -> GeneratedMessage | None:
        data = _safely(
            "message",
            self._call,
            "POST",
            "/api/generation/message",
            {"customer_profile": profile, "context": context},
            cached=False,
        )
        return _safely("message-decode", _build, GeneratedMessage, data) if data else None

    def actions_suggest(
        self, *, profile: dict[str, Any], context: dict[str, Any]
    ) -> list[SuggestedAction] | None:
        data = _safely(
            "actions",
            self._call,
            "POST",
            "/api/generation/actions",
            {"customer_profile": profile, "scenario": "support_ticket", "context": context},
        )
        items = data.get("actions", data.get("results")) if isinstance(data, dict) else data
        return _safely("actions-decode", _build, list[SuggestedAction], items) if items is not None else None

    def interactions_report(self, *, records: list[dict[str, Any]]) -> bool:
        data = _safely(
            "ingest",
            self._call,
            "POST",
            "/api/data/interactions",
            {"source": SOURCE, "records": records},
            cached=False,
        )
        return data is not None


def get_client() -> PlatformClient:
    """In-process unless settings.QUIMBI_PLATFORM_URL is set (one pooled HTTP client per config)."""
    url = getattr(settings, "QUIMBI_PLATFORM_URL", "")
    if url:
        return _http_client(
            url,
            getattr(settings, "QUIMBI_PLATFORM_API_KEY", ""),
            float(getattr(settings, "QUIMBI_PLATFORM_TIMEOUT_SECONDS", 3.0)),
        )
    return InProcessPlatformClient()


@functools.lru_cache(maxsize=4)
def _http_client(url: str, api_key: str, timeout: float) -> HttpPlatformClient:
    return HttpPlatformClient(base_url=url, api_key=api_key, timeout=timeout)
