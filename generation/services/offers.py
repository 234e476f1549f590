"""Offers bounded by what is at stake: never give away more than the expected
value we would lose if the customer left (P(churn) x predicted value)."""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings

from generation.errors import InvalidContext
from generation.interface import OfferRecommendation
from generation.services.profiles import Profile, profile_resolve

# Share of the value at stake we are willing to spend, and the deepest discount
# per price sensitivity (a deal hunter responds to discounts; a premium buyer
# to service, so we give them shipping or bundles instead of margin).
SPEND_SHARE = 0.5
MAX_PERCENT = {"high": 25.0, "medium": 15.0, "low": 10.0}
# The smallest amount (shop currency) worth offering as credit or money off; a
# gesture of a dollar or two feels token. Settings: GENERATION_MIN_OFFER_VALUE (at least 1).
MIN_GESTURE = 5.0
HIGH_SENSITIVITY_WORDS = ("deal", "sensitive", "discount", "bargain", "promo", "coupon", "saver")
LOW_SENSITIVITY_WORDS = ("premium", "full_price", "full-price", "insensitive", "indifferent", "luxury")


def offer_personalize(
    *, customer_profile: Any = None, customer_id: str | None = None, products: list[dict] | None = None
) -> OfferRecommendation:
    profile = profile_resolve(customer_profile=customer_profile, customer_id=customer_id)
    return offer_for_profile(profile=profile, products=products)


def price_sensitivity(profile: Profile) -> str:
    label, _strength = profile.axis("price_sensitivity")
    label = label.lower()
    if any(word in label for word in HIGH_SENSITIVITY_WORDS):
        return "high"
    if any(word in label for word in LOW_SENSITIVITY_WORDS):
        return "low"
    share = profile.features.get("discount_order_share") or profile.features.get("discount_share")
    if isinstance(share, (int, float)) and share == share:
        return "high" if share >= 0.5 else "low" if share <= 0.1 else "medium"
    return "medium"


def offer_for_profile(*, profile: Profile, products: list[dict] | None = None) -> OfferRecommendation:
    skus, basket = _basket(products or [])
    if basket <= 0:
        basket = profile.average_order_value or 0.0
    sensitivity = price_sensitivity(profile)
    churn = profile.churn_probability or 0.0
    at_stake = profile.value_at_stake
    budget = round(min(at_stake * SPEND_SHARE, basket * MAX_PERCENT[sensitivity] / 100), 2)
    shipping = float(getattr(settings, "GENERATION_SHIPPING_COST", 6.0))
    min_gesture = max(float(getattr(settings, "GENERATION_MIN_OFFER_VALUE", MIN_GESTURE)), 1.0)
    facts = (
        f"churn risk {churn:.0%}, predicted value {_money(profile.predicted_ltv or 0.0)}, "
        f"value at stake {_money(at_stake)}, price sensitivity {sensitivity}"
    )
    if churn < 0.33 and sensitivity != "high":
        return OfferRecommendation("none", 0.0, 0.0, skus, f"No offer: likely to buy anyway ({facts}).")
    if budget < min_gesture and budget < shipping * 0.8:
        # "$1.19 in loyalty credit" reads as an insult, not a thank-you: below the
        # minimum only free shipping (a service, not an amount) is still worth offering.
        reason = (
            f"No offer: at most {_money(budget)} to spend, below the {_money(min_gesture)} "
            f"a gesture needs to feel like one ({facts})."
        )
        return OfferRecommendation("none", 0.0, 0.0, skus, reason)
    if sensitivity == "low" or budget < min_gesture:
        if budget >= shipping * 0.8:
            cap = round(min(shipping, budget), 2)
            return OfferRecommendation(
                "free_shipping",
                0.0,
                cap,
                skus,
                f"Free shipping (worth up to {_money(cap)}) rather than margin ({facts}).",
            )
        points = float(math.floor(budget))  # whole currency units; budget >= min_gesture here
        return OfferRecommendation(
            "loyalty_points",
            0.0,
            points,
            skus,
            f"Loyalty credit worth {_money(points)} on a later order ({facts}).",
        )
    percent = min(MAX_PERCENT[sensitivity], math.floor(budget / basket * 100 / 5) * 5) if basket else 0.0
    if percent < 5:
        fixed = float(math.floor(budget))
        return OfferRecommendation(
            "fixed_discount",
            0.0,
            fixed,
            skus,
            f"{_money(fixed)} off, capped by the value at stake ({facts}).",
        )
    cap = round(min(budget, basket * percent / 100), 2)
    kind = "bundle" if len(skus) >= 2 and sensitivity == "medium" else "percent_discount"
    what = "on the bundle" if kind == "bundle" else "off"
    return OfferRecommendation(
        kind, float(percent), cap, skus, f"{percent:.0f}% {what}, at most {_money(cap)} ({facts})."
    )


def offer_phrase(offer: OfferRecommendation) -> str:
    """The offer in words a customer reads, or "" for none."""
    if offer.offer_type == "free_shipping":
        return "free shipping on your next order"
    if offer.offer_type == "loyalty_points":
        return f"{_money(offer.max_discount_value)} in loyalty credit for your next order"
    if offer.offer_type == "fixed_discount":
        return f"{_money(offer.max_discount_value)} off your next order"
    if offer.offer_type in ("percent_discount", "bundle"):
        return f"{offer.discount_percent:.0f}% off your next order"
    return ""


def _basket(products: list[dict]) -> tuple[tuple[str, ...], float]:
    skus: list[str] = []
    total = 0.0
    for product in products:
        if not isinstance(product, dict):
            raise InvalidContext("Each product must be an object with sku and price.")
        try:
            price = float(product.get("price") or 0)
            quantity = int(product.get("quantity") or 1)
        except (TypeError, ValueError) as exc:
            raise InvalidContext("Product price and quantity must be numbers.") from exc
        if price < 0 or quantity < 1 or price != price or math.isinf(price):
            raise InvalidContext("Product price must be >= 0 and quantity >= 1.")
        skus.append(str(product.get("sku") or product.get("id") or "")[:128])
        total += price * quantity
    return tuple(s for s in skus if s), round(total, 2)


def _money(value: float) -> str:
    return f"${value:,.2f}"
