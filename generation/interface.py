"""The generation app's public Python API: the only module other apps import.

Each function takes a `customer_profile` (a CustomerIntelligence from
intelligence.interface, or a plain dict of the same shape) or a `customer_id`,
and returns a frozen dataclass that carries the reasoning behind it and which
backend produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Goal = Literal[
    "resolve_support_issue", "nurture_lead", "upsell", "win_back", "welcome", "review_request", "retention"
]
Channel = Literal["email", "sms", "chat"]
Tone = Literal["empathetic", "friendly", "formal", "concise"]


@dataclass(frozen=True)
class GeneratedMessage:
    subject: str  # empty for sms and chat
    body: str
    notes: str  # for the agent, never sent to the customer
    goal: str
    channel: str
    tone: str
    backend: str  # "offline" or "anthropic"
    model: str
    fallback_reason: str = ""
    reasoning: tuple[str, ...] = ()


@dataclass(frozen=True)
class SuggestedAction:
    action: str  # machine name, e.g. "expedite_shipping"
    title: str
    priority: int  # 1 = do first
    reason: str
    max_offer_value: float | None = None


@dataclass(frozen=True)
class ContentRecommendation:
    kind: Literal["product", "category", "none"]
    item_id: str
    title: str
    score: float
    reason: str


@dataclass(frozen=True)
class SendTimeRecommendation:
    weekday: int  # 0 = Monday
    weekday_name: str
    hour: int  # 0-23, UTC
    next_send_at: datetime
    confidence: Literal["low", "medium", "high"]
    reason: str


@dataclass(frozen=True)
class OfferRecommendation:
    offer_type: Literal[
        "none", "free_shipping", "percent_discount", "fixed_discount", "loyalty_points", "bundle"
    ]
    discount_percent: float
    max_discount_value: float
    applies_to: tuple[str, ...]
    reason: str


def generate_message(
    *,
    customer_profile: Any = None,
    customer_id: str | None = None,
    context: dict[str, Any] | None = None,
    requester: str = "in-process",
) -> GeneratedMessage:
    """`context`: conversation [{role, text}], goal, channel, constraints {tone, length},
    optional customer_name (for the greeting).

    `requester` names who pays for remote tokens (the API passes "key:<id>"); the
    daily token budget is counted per requester."""
    from generation.services import messages

    return messages.message_generate(
        customer_profile=customer_profile, customer_id=customer_id, context=context, requester=requester
    )


def suggest_actions(
    *,
    customer_profile: Any = None,
    customer_id: str | None = None,
    scenario: str = "support_ticket",
    context: dict[str, Any] | None = None,
) -> list[SuggestedAction]:
    from generation.services import actions

    return actions.actions_suggest(
        customer_profile=customer_profile, customer_id=customer_id, scenario=scenario, context=context
    )


def recommend_content(
    *, customer_profile: Any = None, customer_id: str | None = None, objective: str = "cross_sell"
) -> list[ContentRecommendation]:
    from generation.services import content

    return content.content_recommend(
        customer_profile=customer_profile, customer_id=customer_id, objective=objective
    )


def optimize_timing(
    *, customer_profile: Any = None, customer_id: str | None = None, message_type: str = "email"
) -> SendTimeRecommendation:
    from generation.services import timing

    return timing.timing_optimize(
        customer_profile=customer_profile, customer_id=customer_id, message_type=message_type
    )


def personalize_offer(
    *,
    customer_profile: Any = None,
    customer_id: str | None = None,
    products: list[dict[str, Any]] | None = None,
) -> OfferRecommendation:
    from generation.services import offers

    return offers.offer_personalize(
        customer_profile=customer_profile, customer_id=customer_id, products=products
    )
