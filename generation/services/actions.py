"""Next best actions from churn risk x customer value, for a scenario."""

from __future__ import annotations

from typing import Any

from generation.errors import InvalidContext
from generation.interface import SuggestedAction
from generation.services.conversation import ISSUE_LABELS, conversation_read, issue_detect
from generation.services.offers import offer_for_profile
from generation.services.profiles import Profile, profile_resolve

SCENARIOS = ("support_ticket", "marketing_campaign", "sales_opportunity")

ISSUE_ACTIONS = {
    "delivery": ("send_tracking_update", "Check the carrier and send a tracking update"),
    "refund": ("process_refund", "Review and process the refund"),
    "cancel": ("cancel_order", "Cancel the order before it ships, or arrange a free return"),
    "damaged": ("send_replacement", "Send a replacement for the damaged item"),
    "wrong_item": ("send_correct_item", "Send the right item with a prepaid return label"),
    "return": ("issue_return_label", "Send a prepaid return label"),
    "address": ("update_shipping_address", "Update the shipping address before dispatch"),
    "payment": ("review_charge", "Review the charge with billing"),
    "account": ("verify_identity_and_reset", "Verify identity, then fix the account access"),
    "subscription": ("update_email_preferences", "Update the e-mail preferences"),
    "complaint": ("acknowledge_complaint", "Acknowledge the complaint and agree a fix"),
    "contact": ("call_back", "Offer a call back from a person"),
    "general": ("answer_question", "Answer the question"),
}


def actions_suggest(
    *,
    customer_profile: Any = None,
    customer_id: str | None = None,
    scenario: str = "support_ticket",
    context: dict | None = None,
) -> list[SuggestedAction]:
    if scenario not in SCENARIOS:
        raise InvalidContext(f"scenario must be one of {', '.join(SCENARIOS)}.")
    profile = profile_resolve(customer_profile=customer_profile, customer_id=customer_id)
    if context is not None and not isinstance(context, dict):
        raise InvalidContext("context must be an object.")
    builder = {"support_ticket": _support, "marketing_campaign": _marketing, "sales_opportunity": _sales}
    drafts = builder[scenario](profile, context or {})
    drafts += [
        (
            "follow_intelligence_recommendation",
            r.capitalize(),
            50 + i,
            "Recommended by the churn model.",
            None,
        )
        for i, r in enumerate(profile.churn_recommendations[:2])
    ]
    drafts.sort(key=lambda d: d[2])
    return [
        SuggestedAction(action=a, title=t, priority=rank, reason=r, max_offer_value=v)
        for rank, (a, t, _p, r, v) in enumerate(drafts, start=1)
    ]


def _segment(profile: Profile) -> str:
    churn = profile.churn_band
    valuable = profile.ltv_tier in ("high", "vip")
    return f"{'high' if churn == 'high' else 'low' if churn in ('low', 'unknown') else 'medium'}_risk_" + (
        "high_value" if valuable else "low_value"
    )


def _why(profile: Profile) -> str:
    p = profile.churn_probability
    churn = f"churn risk {p:.0%}" if p is not None else "churn risk unknown"
    factor = f" ({profile.churn_factors[0]})" if profile.churn_factors else ""
    orders = f"{profile.order_count} order{'' if profile.order_count == 1 else 's'}"
    return f"{churn}{factor}, value tier {profile.ltv_tier}, {orders}"


def _support_issue(context: dict) -> str:
    """The issue as the draft reads it: a given issue, else the customer's own turns
    (never the agents' replies, whose "log in to your account" once turned a refund
    request into an account problem), else the ticket's other text."""
    given = context.get("issue")
    if isinstance(given, str) and given in ISSUE_LABELS:
        return given
    conversation = context.get("conversation")
    if isinstance(conversation, list):
        # Read like the draft reads it (messages._request), so the two agree on the issue.
        turns = [
            {"role": t.get("role") or "customer", "text": str(t.get("text") or "")[:10_000]}
            for t in conversation[:50]
            if isinstance(t, dict)
        ]
        issue = conversation_read(turns).issue
        if issue != "general":
            return issue
    text = " ".join(
        str(context.get(k) or "") for k in ("subject", "body", "description", "text", "category", "issue")
    )
    return issue_detect(text[:20_000])


def _support(profile: Profile, context: dict) -> list[tuple]:
    issue = _support_issue(context)
    segment, why = _segment(profile), _why(profile)
    action, title = ISSUE_ACTIONS[issue]
    offer = offer_for_profile(profile=profile)
    cap = offer.max_discount_value if offer.offer_type != "none" else None
    drafts: list[tuple] = []
    if segment == "high_risk_high_value":
        if issue in ("delivery", "damaged", "wrong_item"):
            action, title = "expedite_shipping", "Expedite the shipment (or replacement) at our cost"
        drafts += [
            (
                "apologise_personally",
                "Apologise personally and own the fix",
                1,
                f"At-risk valuable customer: {why}.",
                None,
            ),
            (
                action,
                title,
                2,
                f"Resolves {ISSUE_LABELS[issue]}; speed matters most for this customer.",
                None,
            ),
            (
                "offer_goodwill_gesture",
                f"Offer a goodwill gesture: {offer.offer_type.replace('_', ' ')}",
                3,
                f"Capped by the value at stake: {offer.reason}",
                cap,
            ),
            (
                "assign_senior_agent",
                "Keep the ticket with a senior agent until solved",
                4,
                "Losing them costs the most.",
                None,
            ),
        ]
    elif segment.startswith("high_risk") or segment.startswith("medium_risk"):
        drafts += [
            (action, title, 1, f"Resolves {ISSUE_LABELS[issue]}.", None),
            (
                "reply_within_sla",
                "Reply quickly and confirm the next step",
                2,
                f"Risk of leaving: {why}.",
                None,
            ),
        ]
        if cap:
            drafts.append(
                (
                    "offer_goodwill_gesture",
                    "Offer a small goodwill gesture if the fix is slow",
                    3,
                    offer.reason,
                    cap,
                )
            )
    elif segment == "low_risk_high_value":
        drafts += [
            (action, title, 1, f"Resolves {ISSUE_LABELS[issue]}.", None),
            (
                "thank_loyal_customer",
                "Thank them for their loyalty",
                2,
                f"Valuable and engaged: {why}.",
                None,
            ),
        ]
    else:
        drafts += [
            (action, title, 1, f"Resolves {ISSUE_LABELS[issue]}.", None),
            (
                "resolve_efficiently",
                "Resolve with the standard macro; no offer needed",
                2,
                f"Low value and low risk: {why}.",
                None,
            ),
        ]
    if str(context.get("priority") or "").lower() in ("high", "urgent"):
        drafts.append(
            ("prioritise_reply", "Answer this ticket first", 0, "The ticket is marked urgent.", None)
        )
    return drafts


def _marketing(profile: Profile, context: dict) -> list[tuple]:
    segment, why = _segment(profile), _why(profile)
    offer = offer_for_profile(profile=profile)
    cap = offer.max_discount_value if offer.offer_type != "none" else None
    category = profile.top_categories[0] if profile.top_categories else ""
    if profile.order_count <= 1:
        return [
            ("welcome_series", "Enrol in the welcome series", 1, f"New customer: {why}.", None),
            (
                "second_order_nudge",
                "Nudge towards a second order" + (f" in {category}" if category else ""),
                2,
                "The second order is the strongest predictor of retention.",
                cap,
            ),
        ]
    if segment == "high_risk_high_value":
        return [
            (
                "win_back_campaign",
                "Send a personal win-back message with an offer",
                1,
                f"At risk and valuable: {why}.",
                cap,
            ),
            (
                "suppress_promotions",
                "Pause generic promotions for them",
                2,
                "Avoid noise while winning them back.",
                None,
            ),
        ]
    if segment.startswith("high_risk") or segment.startswith("medium_risk"):
        return [
            ("re_engagement_email", "Send a re-engagement e-mail at their best send time", 1, why, cap),
            (
                "cross_sell_email",
                "Recommend products from their favourite categories",
                2,
                f"Top category: {category or 'unknown'}.",
                None,
            ),
        ]
    if segment == "low_risk_high_value":
        return [
            (
                "loyalty_program_invite",
                "Invite to the loyalty programme / early access",
                1,
                f"Engaged and valuable: {why}.",
                None,
            ),
            (
                "review_request",
                "Ask for a review",
                2,
                "Happy, engaged customers write the best reviews.",
                None,
            ),
        ]
    return [
        ("cross_sell_email", "Send category recommendations", 1, f"Stable, modest value: {why}.", None),
        ("newsletter", "Keep in the regular newsletter", 2, "No special treatment needed.", None),
    ]


def _sales(profile: Profile, context: dict) -> list[tuple]:
    segment, why = _segment(profile), _why(profile)
    if profile.order_count <= 1:
        return [
            (
                "nurture_lead",
                "Nurture: helpful content, then a first-order incentive",
                1,
                f"Early stage: {why}.",
                None,
            )
        ]
    if segment.startswith("high_risk"):
        return [
            (
                "retention_call",
                "Call to understand what changed before any upsell",
                1,
                f"At risk: {why}.",
                None,
            ),
            (
                "defer_upsell",
                "Hold upsell until they buy again",
                2,
                "Upselling an unhappy customer backfires.",
                None,
            ),
        ]
    if segment.endswith("high_value"):
        return [
            ("upsell_premium", "Offer premium / bigger bundles", 1, f"High value and engaged: {why}.", None),
            ("account_review_call", "Schedule an account review", 2, "Deepen the relationship.", None),
        ]
    category = profile.top_categories[0] if profile.top_categories else "their usual categories"
    return [("cross_sell", f"Cross-sell in {category}", 1, f"Engaged, room to grow: {why}.", None)]
