"""One internal view of a customer, whatever the caller passed.

Callers give a CustomerIntelligence (intelligence.interface), a dict of the same
shape (as the API receives it, or flat keys such as `churn_probability`), or a
`customer_id`, in which case the intelligence app is asked.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from generation.errors import InvalidProfile, ProfileRequired

LTV_TIERS = ((1000.0, "vip"), (300.0, "high"), (75.0, "medium"), (0.0, "low"))


@dataclass(frozen=True)
class Profile:
    customer_id: str = ""
    first_name: str = ""
    archetype: str = ""
    axes: tuple[tuple[str, str, float], ...] = ()  # (axis, label, strength)
    churn_probability: float | None = None
    risk_band: str = "unknown"
    churn_factors: tuple[str, ...] = ()  # labels of factors raising the risk
    churn_recommendations: tuple[str, ...] = ()
    predicted_ltv: float | None = None
    historic_value: float = 0.0
    order_count: int = 0
    average_order_value: float | None = None
    average_days_between_orders: float | None = None
    last_order_at: datetime | None = None
    days_since_last_order: int | None = None
    top_categories: tuple[str, ...] = ()
    currency: str = "USD"
    features: dict[str, Any] = dataclasses.field(default_factory=dict)

    def axis(self, name: str) -> tuple[str, float]:
        for axis, label, strength in self.axes:
            if axis == name:
                return label, strength
        return "unknown", 0.0

    @property
    def ltv_tier(self) -> str:
        value = max(self.predicted_ltv or 0.0, 0.0) + 0.25 * max(self.historic_value, 0.0)
        return next(tier for floor, tier in LTV_TIERS if value >= floor)

    @property
    def churn_band(self) -> str:
        if self.risk_band in ("low", "medium", "high"):
            return self.risk_band
        p = self.churn_probability
        if p is None:
            return "unknown"
        return "high" if p >= 0.66 else "medium" if p >= 0.33 else "low"

    @property
    def value_at_stake(self) -> float:
        """Expected value lost if the customer churns: P(churn) x predicted value."""
        return round((self.churn_probability or 0.0) * max(self.predicted_ltv or 0.0, 0.0), 2)


def profile_resolve(*, customer_profile: Any = None, customer_id: str | None = None) -> Profile:
    if customer_profile is None and not customer_id:
        raise ProfileRequired()
    looked_up = customer_profile is None
    if looked_up:
        from intelligence import interface as intelligence

        customer_profile = intelligence.analyze_customer(customer_id=str(customer_id))
    if isinstance(customer_profile, Profile):
        return customer_profile
    if dataclasses.is_dataclass(customer_profile):
        customer_profile = _as_dict(customer_profile)
    if not isinstance(customer_profile, dict):
        raise InvalidProfile("customer_profile must be an object.")
    try:
        profile = _profile_from_dict(customer_profile, customer_id=customer_id)
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvalidProfile(f"customer_profile could not be read: {exc}") from exc
    if looked_up and not profile.first_name:
        profile = dataclasses.replace(profile, first_name=_first_name(customer_id=profile.customer_id))
    return profile


def _first_name(*, customer_id: str) -> str:
    """The stored customer's first name, for the greeting (never sent anywhere else)."""
    from ingestion import interface as ingestion

    try:
        name = ingestion.customer_get(customer_id=customer_id).name
    except Exception as exc:
        if getattr(exc, "code", None) == "not_found":
            return ""
        raise
    return clean_name(name)


def clean_name(name: Any) -> str:
    first = str(name or "").strip().split(" ")[0][:40]
    return first if first.replace("-", "").replace("'", "").isalpha() else ""


def _profile_from_dict(data: dict[str, Any], *, customer_id: str | None) -> Profile:
    dna = data.get("dna") or {}
    churn = data.get("churn") or data.get("churn_prediction") or {}
    ltv = data.get("ltv") or data.get("ltv_forecast") or {}
    historic = data.get("historic") or {}
    features = data.get("features") or {}
    axes_raw = dna.get("axes") or data.get("axes") or ()
    if isinstance(axes_raw, dict):  # {"axis": {"label":..., "strength":...}} or {"axis": "label"}
        axes_raw = [{"axis": k, **(v if isinstance(v, dict) else {"label": v})} for k, v in axes_raw.items()]
    axes = tuple(
        (str(a.get("axis", "")), str(a.get("label", "unknown")), float(a.get("strength") or 0.0))
        for a in axes_raw
        if isinstance(a, dict)
    )
    factors = churn.get("top_factors") or data.get("churn_factors") or ()
    factor_labels = tuple(
        str(f.get("label") or f.get("feature")) if isinstance(f, dict) else str(f)
        for f in factors
        if not isinstance(f, dict) or f.get("direction", "raises") == "raises"
    )
    return Profile(
        customer_id=str(data.get("customer_id") or customer_id or ""),
        first_name=clean_name(data.get("first_name") or data.get("name")),
        archetype=str(dna.get("archetype") or data.get("archetype") or ""),
        axes=axes,
        churn_probability=_float(churn.get("probability", data.get("churn_probability"))),
        risk_band=str(churn.get("risk_band") or data.get("risk_band") or "unknown"),
        churn_factors=factor_labels[:5],
        churn_recommendations=tuple(str(r) for r in churn.get("recommendations") or ())[:5],
        predicted_ltv=_float(ltv.get("predicted_spend", data.get("predicted_ltv"))),
        historic_value=_float(ltv.get("historic_value", historic.get("total_spent", data.get("total_spent"))))
        or 0.0,
        order_count=int(historic.get("order_count", data.get("order_count")) or 0),
        average_order_value=_float(historic.get("average_order_value", data.get("average_order_value"))),
        average_days_between_orders=_float(
            historic.get("average_days_between_orders", data.get("average_days_between_orders"))
        ),
        last_order_at=_datetime(historic.get("last_order_at", data.get("last_order_at"))),
        days_since_last_order=_int(historic.get("days_since_last_order", data.get("days_since_last_order"))),
        top_categories=_categories(historic.get("top_categories") or data.get("top_categories")),
        currency=str(ltv.get("currency") or data.get("currency") or "USD")[:3],
        features=dict(features) if isinstance(features, dict) else {},
    )


# A category name as shops write them ("Men's Shoes & Boots", "sports_outdoors", "Jazz").
# Anything else (markup, links, control or bidi characters) is not a label and is dropped:
# categories are copied into customer-facing text, so they must not carry content of their own.
_CATEGORY_LABEL = re.compile(r"[\w][\w &'\u2019.,/()+-]{0,63}")


def _categories(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    labels = (
        unicodedata.normalize("NFC", str(c)).strip()
        for c in value or ()
        if c and isinstance(c, (str, int)) and not isinstance(c, bool)
    )
    return tuple(c for c in labels if _CATEGORY_LABEL.fullmatch(c))[:5]


def _as_dict(value: Any) -> Any:
    """dataclasses.asdict without its deep copies (the profile is only read)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _as_dict(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_as_dict(v) for v in value]
    return value


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    result = float(value)
    return None if result != result else result  # NaN -> None


def _int(value: Any) -> int | None:
    f = _float(value)
    return None if f is None else int(f)


def _datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
