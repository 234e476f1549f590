"""Churn factors in words and retention recommendations derived from them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from intelligence.ml.features import FEATURE_AXIS


def _pct(value: float) -> str:
    share = abs(value) * 100
    # One decimal near the ends, so 99.8% is not shown as a certain 100%.
    return f"{share:.1f}%" if 0 < share < 0.5 or 99.5 <= share < 100 else f"{share:.0f}%"


def _days(value: float) -> str:
    return f"{value:.0f} day{'' if round(value) == 1 else 's'}"


def _days_ago(value: float) -> str:
    return f"{_days(value)} ago"


def _money(value: float) -> str:
    return f"{value:,.2f}"  # the shop's own currency; the label does not know which


def _times(value: float) -> str:
    return f"{value:.1f}x"


def _number(value: float) -> str:
    return f"{value:.2f}"


def _hour(value: float) -> str:
    minutes = round(value * 60) % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _counted(one: str, many: str) -> Callable[[float], str]:
    return lambda v: f"{v:.0f} {one if round(v) == 1 else many}"


def _effective(one: str, many: str) -> Callable[[float], str]:
    # Entropy in nats as the number of equally used options it equals (exp(entropy)).
    return lambda v: f"{np.exp(v):.1f} {one if round(np.exp(v), 1) == 1 else many}"


def _change(v: float) -> str:
    return "unchanged" if v == 0 else f"{'down' if v < 0 else 'up'} {_pct(np.expm1(v))}"


def _more_or_less(v: float) -> str:
    return "as often" if v == 0 else ("less often" if v < 0 else "more often")


@dataclass(frozen=True)
class Wording:
    """How one feature's value is said: `says` in a sentence, `amount` alone (for the
    typical customer's value after it); `beside` words the typical value in full when
    "vs <amount> for a typical customer" does not fit (a flag's typical value is a share)."""

    says: Callable[[float], str]
    amount: Callable[[float], str]
    beside: Callable[[float], str] | None = None

    def typical(self, value: float) -> str:
        return self.beside(value) if self.beside else f", vs {self.amount(value)} for a typical customer"


def _words(sentence: str, amount: Callable[[float], str]) -> Wording:
    """A sentence with the amount in place of {}."""
    return Wording(lambda v: sentence.format(amount(v)), amount)


# Every feature a model can explain with, in words an agent reads: no feature names, units
# such as "nats" or "currency", or "NaN". A test holds every catalogue feature to it.
WORDINGS: dict[str, Wording] = {
    # purchase frequency
    "order_count": _words("{} so far", _counted("order", "orders")),
    "purchase_days": _words("bought on {} so far", _counted("day", "days")),
    "orders_per_month": _words("{} orders a month", _number),
    "orders_30d": _words("{} in the last 30 days", _counted("order", "orders")),
    "orders_90d": _words("{} in the last 90 days", _counted("order", "orders")),
    "orders_365d": _words("{} in the last year", _counted("order", "orders")),
    "bgnbd_expected_90d": _words("{} orders expected in 90 days by purchase pattern", _number),
    "bgnbd_expected_365d": _words("{} orders expected in a year by purchase pattern", _number),
    # recency
    "days_since_last_order": _words("last order {}", _days_ago),
    "days_since_previous_order": _words("order before the last one {}", _days_ago),
    "recency_gap_ratio": _words("gap since last order is {} their usual", _times),
    "recency_tenure_ratio": _words("silent for {} of their time as a customer", _pct),
    "bgnbd_p_alive": _words("{} likely still active by purchase pattern", _pct),
    # monetary value
    "total_spend": _words("total spend {}", _money),
    "avg_order_value": _words("average order {}", _money),
    "max_order_value": _words("largest order {}", _money),
    "min_order_value": _words("smallest order {}", _money),
    "order_value_std": _words("order values vary by {}", _money),
    "spend_90d": _words("spent {} in the last 90 days", _money),
    "spend_per_month": _words("spends {} a month", _money),
    "gg_expected_order_value": _words("about {} expected per future order", _money),
    # basket size
    "avg_items_per_order": _words("{} items per order on average", lambda v: f"{v:.1f}"),
    "max_items_per_order": _words("at most {} in one order", _counted("item", "items")),
    "avg_item_price": _words("average item price {}", _money),
    "avg_lines_per_order": _words("{} order lines per order on average", lambda v: f"{v:.1f}"),
    "avg_skus_per_order": _words("{} different products per order on average", lambda v: f"{v:.1f}"),
    # price sensitivity
    "discount_order_share": _words("{} of orders used a discount", _pct),
    "avg_discount_rate": _words("discounts took {} off their orders", _pct),
    "discount_total": _words("received {} in discounts", _money),
    "discounted_line_share": _words("{} of products bought at a discount", _pct),
    "discount_rate_90d": _words("discounts took {} off their orders in the last 90 days", _pct),
    # category breadth
    "category_count": _words("bought from {}", _counted("category", "categories")),
    "sku_count": _words("bought {}", _counted("product", "different products")),
    "category_entropy": _words("spend spread like {}", _effective("category", "equally used categories")),
    "top_category_share": _words("{} of spend in their top category", _pct),
    # tenure / loyalty
    "tenure_days": _words("customer for {}", _days),
    "days_to_second_order": _words("second order came {} after the first", _days),
    "active_month_share": _words("bought in {} of their months as a customer", _pct),
    "is_repeat_customer": Wording(
        lambda v: "has bought again since the first order" if v else "has not bought again yet",
        lambda v: "bought again" if v else "not bought again",
        beside=lambda share: f"; {_pct(share)} of customers have bought again",
    ),
    # regularity
    "mean_gap_days": _words("usually orders every {}", _days),
    "median_gap_days": _words("median gap between orders {}", _days),
    "gap_std_days": _words("gaps between orders vary by {}", _days),
    "gap_cv": _words("gaps between orders vary by {} of their average", _pct),
    "max_gap_days": _words("longest gap between orders {}", _days),
    # momentum
    "spend_trend_90d": _words("spend in the last 90 days {} on the 90 before", _change),
    "frequency_trend_90d": Wording(
        lambda v: (
            "ordered as often in the last 90 days as in the 90 before"
            if v == 0
            else f"ordered {_more_or_less(v)} in the last 90 days than in the 90 before"
        ),
        _more_or_less,
    ),
    "aov_change": _words(
        "last order value {} on their earlier average", lambda v: f"{'down' if v < 0 else 'up'} {_pct(v)}"
    ),
    "last_gap_ratio": _words("latest gap between orders was {} the earlier ones", _times),
    "recent_spend_share": _words("{} of their spend in the last 90 days", _pct),
    # timing
    "weekend_share": _words("{} of orders at weekends", _pct),
    "weekday_entropy": _words("orders spread like {}", _effective("weekday", "equally used weekdays")),
    "mean_order_hour": _words("orders at {} on average", _hour),
    "evening_share": _words("{} of orders in the evening", _pct),
    # channel preference
    "channel_count": _words("bought through {}", _counted("sales channel", "sales channels")),
    "top_channel_share": _words("{} of orders through their main sales channel", _pct),
    "online_share": _words("{} of orders online", _pct),
    "mobile_share": _words("{} of orders on mobile", _pct),
    # returns / refunds
    "refunded_order_share": _words("{} of orders refunded", _pct),
    "refund_value_share": _words("{} of spend refunded", _pct),
    "cancelled_orders": _words("{}", _counted("cancelled order", "cancelled orders")),
    "refunded_total": _words("refunds worth {}", _money),
    # support intensity
    "interaction_count": _words("{}", _counted("support contact", "support contacts")),
    "interactions_90d": _words("{} in the last 90 days", _counted("support contact", "support contacts")),
    "complaint_share": _words("{} of support contacts were complaints", _pct),
    "open_interaction_share": _words("{} of support contacts still open", _pct),
    "high_priority_share": _words("{} of support contacts urgent", _pct),
    "interactions_per_order": _words("{} support contacts per order", _number),
    # engagement
    "event_count": _words("{}", _counted("site or app action", "site or app actions")),
    "events_30d": _words("{} in the last 30 days", _counted("site or app action", "site or app actions")),
    "events_90d": _words("{} in the last 90 days", _counted("site or app action", "site or app actions")),
    "distinct_event_names": _words(
        "{}", _counted("kind of site or app action", "kinds of site or app action")
    ),
    "days_since_last_event": _words("last site or app activity {}", _days_ago),
    "events_per_order": _words("{} site or app actions per order", _number),
    # the label window's BG/NBD answers (panel.WINDOW_FEATURES)
    "bg_p_none_window": _words("{} chance of no order soon by purchase pattern", _pct),
    "bg_expected_window": _words("{} orders expected soon by purchase pattern", _number),
}

# What a feature is about, by its axis, for "no data on ...".
AXIS_TOPICS = {
    "purchase_frequency": "how often they buy",
    "recency": "their last order",
    "monetary_value": "what they spend",
    "basket_size": "their basket sizes",
    "price_sensitivity": "their discounts",
    "category_breadth": "the categories they buy",
    "tenure_loyalty": "their history as a customer",
    "regularity": "the gaps between their orders",
    "momentum": "recent changes in their buying",
    "timing": "when they order",
    "channel_preference": "their sales channels",
    "returns_refunds": "their returns and refunds",
    "support_intensity": "their support contacts",
    "engagement": "their site and app activity",
}

# A customer who has bought on one day only has no gaps between orders, and these features
# are undefined (NaN) or fixed by that one fact (a spread of 0, BG/NBD's p_alive of 1, the
# Gamma-Gamma population mean, recency = tenure). They say nothing of the customer but
# "one purchase so far", so that is how their contributions are told. So is the order count
# when it is 1 (several orders on the one day are a fact of their own: "2 orders so far").
UNDEFINED_WITH_ONE_PURCHASE = frozenset(
    {
        "days_since_previous_order", "days_to_second_order", "mean_gap_days", "median_gap_days",
        "gap_std_days", "gap_cv", "max_gap_days", "recency_gap_ratio", "last_gap_ratio", "aov_change",
        "order_value_std", "weekday_entropy", "recency_tenure_ratio", "bgnbd_p_alive",
        "gg_expected_order_value",
    }
)  # fmt: skip
# With one purchase, tenure is the days since it, and rates per month of tenure are that one
# order spread over those days ("7.50 orders a month" four days after a first order): they
# measure how recent the order is, and are told as that.
TENURE_RATES = frozenset({"tenure_days", "orders_per_month", "spend_per_month", "active_month_share"})
# feature -> the feature whose words carry its contribution for a one-purchase customer
ONE_PURCHASE_FOLD: dict[str, str] = {
    **{name: "is_repeat_customer" for name in UNDEFINED_WITH_ONE_PURCHASE | {"order_count", "purchase_days"}},
    **{name: "days_since_last_order" for name in TENURE_RATES},
}
# Facts not to state about a one-purchase customer (undefined, or a rate over a few days).
NOT_FACTS_WITH_ONE_PURCHASE = UNDEFINED_WITH_ONE_PURCHASE | (TENURE_RATES - {"tenure_days"})

RECOMMENDATIONS = {
    "reminder": "Send a timely reorder reminder around their usual buying interval (no discount needed).",
    "second_order": "Nudge a second purchase with a personalised follow-up on their first order.",
    "basket": "Recommend products matched to past purchases to rebuild order value.",
    "winback": "Run a win-back message with new arrivals in their favourite range.",
    "discount": "Offer a targeted, time-limited discount: this customer responds to price.",
    "support": "Resolve their open support issues before any marketing contact.",
    "returns": "Follow up on their returns to fix fit or quality problems.",
    "engagement": "Re-engage through their preferred channel with relevant content.",
    "keep": "No retention action needed: keep them in regular communications.",
}
FEATURE_ACTION = {
    "recency_gap_ratio": "reminder",
    "last_gap_ratio": "reminder",
    "mean_gap_days": "reminder",
    "median_gap_days": "reminder",
    "days_since_last_order": "winback",
    "days_since_previous_order": "winback",
    "recency_tenure_ratio": "winback",
    "bgnbd_p_alive": "winback",
    "bg_p_none_window": "reminder",
    "bg_expected_window": "reminder",
    "bgnbd_expected_90d": "reminder",
    "bgnbd_expected_365d": "reminder",
    "purchase_days": "second_order",
    "order_count": "second_order",
    "is_repeat_customer": "second_order",
    "orders_per_month": "reminder",
    "orders_90d": "reminder",
    "orders_365d": "reminder",
    "aov_change": "basket",
    "spend_trend_90d": "basket",
    "avg_order_value": "basket",
    "recent_spend_share": "basket",
    "discount_order_share": "discount",
    "avg_discount_rate": "discount",
    "discount_rate_90d": "discount",
    "complaint_share": "support",
    "open_interaction_share": "support",
    "high_priority_share": "support",
    "interactions_90d": "support",
    "refund_value_share": "returns",
    "refunded_order_share": "returns",
    "days_since_last_event": "engagement",
    "events_30d": "engagement",
    "events_90d": "engagement",
}


def wording(feature: str) -> Wording:
    """The feature's wording; a name outside WORDINGS (none the models use) is spelt out."""
    return WORDINGS.get(feature) or _words(f"{feature.replace('_', ' ')}: {{}}", _number)


def no_data_label(feature: str) -> str:
    axis = FEATURE_AXIS.get(feature)
    return f"no data on {AXIS_TOPICS[axis]}" if axis else "no data on their purchase pattern"


def factor_label(feature: str, value: float) -> str:
    return factor_labels(feature, [value])[0]


def factor_labels(feature: str, values, typical: float | None = None) -> list[str]:
    """The words for one feature's values (the wording looked up once for all of them).

    `typical`: the value the model measures contributions from; named beside each value,
    since "lowers the risk" is only true against it (80% chance of no order lowers the risk
    when the typical customer's chance is 95%)."""
    words = wording(feature)
    missing = no_data_label(feature)
    beside = words.typical(typical) if typical is not None else ""
    return [missing if v is None or v != v else words.says(float(v)) + beside for v in values]


def fold_one_purchase(frame: pd.DataFrame, contributions: pd.DataFrame) -> pd.DataFrame:
    """Contributions with, for customers who bought on one day only, each ONE_PURCHASE_FOLD
    feature's part moved to the feature that says what it stands for (the sums are kept)."""
    if "purchase_days" not in frame.columns or contributions.empty:
        return contributions
    rows = frame.reindex(index=contributions.index, columns=["purchase_days", "order_count"])
    one = (rows["purchase_days"] == 1).to_numpy()
    if not one.any():
        return contributions
    one_order = one & (rows["order_count"] == 1).to_numpy()
    out = contributions.copy()
    for source, target in ONE_PURCHASE_FOLD.items():
        if source not in out.columns:
            continue
        if target not in out.columns:
            out[target] = 0.0
        where = one_order if source == "order_count" else one
        out.loc[where, target] += out.loc[where, source].to_numpy()
        out.loc[where, source] = 0.0
    return out


def top_factors(
    frame: pd.DataFrame, contributions: pd.DataFrame, *, k: int = 3, typical: dict[str, float] | None = None
) -> pd.Series:
    """Per customer, the k features with the largest absolute contribution, in words.

    Features the customer has no data for rank after every feature with data: the
    model may learn from missingness, but "no data" is no reason a person can act on.
    A contribution of exactly 0 (a feature folded away by fold_one_purchase) is no factor.
    `typical`: the model's reference value per feature, named in the labels.
    Built column-wise: each feature's labels in one pass, then one small dict per factor.
    """
    if contributions.empty:
        return pd.Series([[] for _ in range(len(frame))], index=frame.index, dtype=object)
    contributions = fold_one_purchase(frame, contributions)
    typical = typical or {}
    names = np.asarray(contributions.columns)
    values = contributions.to_numpy(float)
    all_feature_values = frame.reindex(columns=names).to_numpy(float)
    k = min(k, values.shape[1])
    ranking = np.where(np.isnan(all_feature_values), -1.0, np.abs(values))
    top = np.argsort(-ranking, axis=1, kind="stable")[:, :k]
    rows = np.arange(len(values))[:, None]
    top_contrib = values[rows, top]
    feature_values = all_feature_values[rows, top]
    labels = np.empty(top.shape, dtype=object)
    for j in np.unique(top):
        where = top == j
        name = str(names[j])
        labels[where] = factor_labels(name, feature_values[where].tolist(), typical.get(name))
    rounded = np.round(feature_values, 4)
    shown = np.where(np.isnan(rounded), None, rounded).tolist()
    contribution = np.round(top_contrib, 4).tolist()
    direction = np.where(top_contrib > 0, "raises", "lowers").tolist()
    feature = names[top].astype(str).tolist()
    labels = labels.tolist()
    factors = [
        [
            {"feature": f, "label": lb, "value": v, "contribution": c, "direction": d}
            for f, lb, v, c, d in zip(fs, lbs, vs, cs, ds, strict=True)
            if c != 0
        ]
        for fs, lbs, vs, cs, ds in zip(feature, labels, shown, contribution, direction, strict=True)
    ]
    return pd.Series(factors, index=frame.index, dtype=object)


def recommendations(
    factors: pd.Series, churn_probability, purchase_days=None, *, limit: int = 2
) -> pd.Series:
    """Actions for the risk-raising factors; none needed for low-risk customers.

    `purchase_days` (aligned with `factors`): a customer who bought on one day only has no
    buying interval to be reminded around, so a reminder becomes a nudge to a second order,
    and someone who already bought again is not nudged to a "second" one.
    """
    probability = np.asarray(churn_probability, float)
    if purchase_days is None:
        one_purchase = [None] * len(probability)
    else:
        one_purchase = [None if d != d else bool(d == 1) for d in np.asarray(purchase_days, float)]
    out = []
    for factor_list, p, one in zip(factors, probability, one_purchase, strict=True):
        if p < 0.33:
            out.append([RECOMMENDATIONS["keep"]])
            continue
        actions = []
        for factor in factor_list:
            action = _for_history(FEATURE_ACTION.get(factor["feature"]), one)
            if factor["direction"] == "raises" and action and RECOMMENDATIONS[action] not in actions:
                actions.append(RECOMMENDATIONS[action])
        fallback = _for_history("winback" if p >= 0.66 else "reminder", one)
        out.append(actions[:limit] or [RECOMMENDATIONS[fallback]])
    return pd.Series(out, index=factors.index, dtype=object)


def _for_history(action: str | None, one_purchase: bool | None) -> str | None:
    if one_purchase is True and action == "reminder":
        return "second_order"
    if one_purchase is False and action == "second_order":
        return "reminder"
    return action
