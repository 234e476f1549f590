"""Behavioural features per customer as of a date, vectorised over whole frames.

Order semantics (REFERENCE.md): cancelled, refunded and zero-value orders are left
out of purchase counts and values; values are net of refunds. Frequency, regularity
and the BTYD features count one transaction per customer-day. A feature whose source
is missing (no order lines, channels, interactions or events) is NaN, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from intelligence.ml import btyd

AXES: tuple[str, ...] = (
    "purchase_frequency",
    "recency",
    "monetary_value",
    "basket_size",
    "price_sensitivity",
    "category_breadth",
    "tenure_loyalty",
    "regularity",
    "momentum",
    "timing",
    "channel_preference",
    "returns_refunds",
    "support_intensity",
    "engagement",
)

EXCLUDED_STATUSES = frozenset({"cancelled", "canceled", "refunded", "voided", "void"})
ONLINE_CHANNELS = frozenset({"web", "online", "ecommerce", "shopify", "app", "mobile", "mobile_app"})
MOBILE_CHANNELS = frozenset({"mobile", "app", "mobile_app", "ios", "android"})
COMPLAINT_KINDS = frozenset({"complaint", "return", "refund", "issue", "problem"})
OPEN_STATUSES = frozenset({"open", "new", "pending", "escalated"})
HIGH_PRIORITIES = frozenset({"high", "urgent", "critical"})


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    axis: str
    definition: str
    unit: str


def _spec(name: str, axis: str, definition: str, unit: str) -> FeatureSpec:
    return FeatureSpec(name, axis, definition, unit)


FEATURE_CATALOGUE: tuple[FeatureSpec, ...] = (
    # purchase frequency
    _spec("order_count", "purchase_frequency", "valid orders placed (not cancelled/refunded/zero)", "orders"),
    _spec("purchase_days", "purchase_frequency", "distinct days with a valid order", "days"),
    _spec("orders_per_month", "purchase_frequency", "purchase days per 30 days of tenure", "orders/month"),
    _spec("orders_30d", "purchase_frequency", "purchase days in the last 30 days", "orders"),
    _spec("orders_90d", "purchase_frequency", "purchase days in the last 90 days", "orders"),
    _spec("orders_365d", "purchase_frequency", "purchase days in the last 365 days", "orders"),
    _spec(
        "bgnbd_expected_90d", "purchase_frequency", "BG/NBD expected purchases in the next 90 days", "orders"
    ),
    _spec(
        "bgnbd_expected_365d",
        "purchase_frequency",
        "BG/NBD expected purchases in the next 365 days",
        "orders",
    ),
    # recency
    _spec("days_since_last_order", "recency", "days from the last valid order to as_of", "days"),
    _spec("days_since_previous_order", "recency", "days from the second-last purchase day to as_of", "days"),
    _spec("recency_gap_ratio", "recency", "days since last order / the customer's mean gap", "ratio"),
    _spec("recency_tenure_ratio", "recency", "days since last order / tenure", "ratio"),
    _spec("bgnbd_p_alive", "recency", "BG/NBD probability the customer is still active", "probability"),
    # monetary value
    _spec("total_spend", "monetary_value", "net value of valid orders (after refunds)", "currency"),
    _spec("avg_order_value", "monetary_value", "mean net value per purchase day", "currency"),
    _spec("max_order_value", "monetary_value", "largest purchase-day value", "currency"),
    _spec("min_order_value", "monetary_value", "smallest purchase-day value", "currency"),
    _spec("order_value_std", "monetary_value", "standard deviation of purchase-day values", "currency"),
    _spec("spend_90d", "monetary_value", "net spend in the last 90 days", "currency"),
    _spec("spend_per_month", "monetary_value", "net spend per 30 days of tenure", "currency/month"),
    _spec(
        "gg_expected_order_value", "monetary_value", "Gamma-Gamma expected value per future order", "currency"
    ),
    # basket size
    _spec("avg_items_per_order", "basket_size", "mean items per valid order", "items"),
    _spec("max_items_per_order", "basket_size", "largest item count in one order", "items"),
    _spec("avg_item_price", "basket_size", "net value per item", "currency"),
    _spec("avg_lines_per_order", "basket_size", "mean order lines per order", "lines"),
    _spec("avg_skus_per_order", "basket_size", "mean distinct SKUs per order", "skus"),
    # price sensitivity
    _spec("discount_order_share", "price_sensitivity", "share of orders with a discount", "share"),
    _spec("avg_discount_rate", "price_sensitivity", "total discount / subtotal", "share"),
    _spec("discount_total", "price_sensitivity", "total discount received", "currency"),
    _spec("discounted_line_share", "price_sensitivity", "share of order lines with a discount", "share"),
    _spec("discount_rate_90d", "price_sensitivity", "discount / subtotal in the last 90 days", "share"),
    # category breadth
    _spec("category_count", "category_breadth", "distinct categories bought", "categories"),
    _spec("sku_count", "category_breadth", "distinct SKUs bought", "skus"),
    _spec("category_entropy", "category_breadth", "Shannon entropy of spend over categories", "nats"),
    _spec("top_category_share", "category_breadth", "share of spend in the top category", "share"),
    # tenure / loyalty
    _spec("tenure_days", "tenure_loyalty", "days from the first valid order to as_of", "days"),
    _spec("days_to_second_order", "tenure_loyalty", "days between the first and second purchase day", "days"),
    _spec("active_month_share", "tenure_loyalty", "share of tenure months with a purchase", "share"),
    _spec("is_repeat_customer", "tenure_loyalty", "1 if the customer bought on more than one day", "flag"),
    # regularity
    _spec("mean_gap_days", "regularity", "mean days between purchase days", "days"),
    _spec("median_gap_days", "regularity", "median days between purchase days", "days"),
    _spec("gap_std_days", "regularity", "standard deviation of the gaps", "days"),
    _spec("gap_cv", "regularity", "gap standard deviation / mean gap", "ratio"),
    _spec("max_gap_days", "regularity", "longest gap between purchase days", "days"),
    # momentum
    _spec(
        "spend_trend_90d",
        "momentum",
        "spend last 90 days / spend the 90 days before (log ratio)",
        "log ratio",
    ),
    _spec(
        "frequency_trend_90d",
        "momentum",
        "purchase days last 90 days vs the 90 before (log ratio)",
        "log ratio",
    ),
    _spec("aov_change", "momentum", "last order value / mean earlier order value - 1", "ratio"),
    _spec("last_gap_ratio", "momentum", "latest gap / mean earlier gap", "ratio"),
    _spec("recent_spend_share", "momentum", "share of total spend in the last 90 days", "share"),
    # timing
    _spec("weekend_share", "timing", "share of orders placed on Saturday or Sunday", "share"),
    _spec("weekday_entropy", "timing", "entropy of orders over weekdays", "nats"),
    _spec("mean_order_hour", "timing", "mean hour of day of orders (NaN when times are unknown)", "hour"),
    _spec(
        "evening_share", "timing", "share of orders placed 18:00-23:59 (NaN when times are unknown)", "share"
    ),
    # channel preference
    _spec("channel_count", "channel_preference", "distinct sales channels used", "channels"),
    _spec("top_channel_share", "channel_preference", "share of orders in the most used channel", "share"),
    _spec("online_share", "channel_preference", "share of orders in online channels", "share"),
    _spec("mobile_share", "channel_preference", "share of orders in mobile channels", "share"),
    # returns / refunds
    _spec("refunded_order_share", "returns_refunds", "share of placed orders with any refund", "share"),
    _spec("refund_value_share", "returns_refunds", "refunded value / gross value", "share"),
    _spec("cancelled_orders", "returns_refunds", "orders cancelled", "orders"),
    _spec("refunded_total", "returns_refunds", "total refunded value", "currency"),
    # support intensity
    _spec("interaction_count", "support_intensity", "support interactions", "interactions"),
    _spec(
        "interactions_90d", "support_intensity", "support interactions in the last 90 days", "interactions"
    ),
    _spec(
        "complaint_share", "support_intensity", "share of interactions that are complaints/returns", "share"
    ),
    _spec("open_interaction_share", "support_intensity", "share of interactions still open", "share"),
    _spec("high_priority_share", "support_intensity", "share of high/urgent interactions", "share"),
    _spec("interactions_per_order", "support_intensity", "interactions per valid order", "ratio"),
    # engagement
    _spec("event_count", "engagement", "tracked events", "events"),
    _spec("events_30d", "engagement", "events in the last 30 days", "events"),
    _spec("events_90d", "engagement", "events in the last 90 days", "events"),
    _spec("distinct_event_names", "engagement", "distinct event names", "names"),
    _spec("days_since_last_event", "engagement", "days from the last event to as_of", "days"),
    _spec("events_per_order", "engagement", "events per valid order", "ratio"),
)

FEATURE_NAMES: tuple[str, ...] = tuple(spec.name for spec in FEATURE_CATALOGUE)
FEATURE_AXIS: dict[str, str] = {spec.name: spec.axis for spec in FEATURE_CATALOGUE}
FEATURES_BY_NAME: dict[str, FeatureSpec] = {spec.name: spec for spec in FEATURE_CATALOGUE}

ORDER_COLUMNS = (
    "order_id", "customer_id", "source", "placed_at", "total", "subtotal", "discount_total",
    "refunded_total", "item_count", "status", "channel", "currency",
)  # fmt: skip
LINE_COLUMNS = (
    "order_id", "customer_id", "placed_at", "sku", "title", "category", "quantity", "unit_price", "discount",
)  # fmt: skip
INTERACTION_COLUMNS = (
    "customer_id", "source", "external_id", "channel", "kind", "status", "priority", "occurred_at",
)  # fmt: skip
EVENT_COLUMNS = ("customer_id", "source", "name", "occurred_at")


def empty_frame(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})


def _utc(series: pd.Series) -> pd.Series:
    series = pd.to_datetime(series, utc=True)
    return series


def _as_timestamp(as_of) -> pd.Timestamp:
    ts = pd.Timestamp(as_of)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _lower(series: pd.Series) -> pd.Series:
    """Stripped lower-case text ("" for missing). Codes such as status or channel take few
    values, so the string work runs on the distinct values only, not on every row."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    cleaned = pd.Index(uniques).astype("string").str.strip().str.lower().fillna("").to_numpy(object)
    values = np.append(cleaned, "")[codes]  # code -1 (missing) picks the trailing ""
    return pd.Series(values, index=series.index, dtype=object)


def _counts(keys: pd.Series, values: pd.Series) -> pd.DataFrame:
    """Rows per (key, value): one row per key, one column per value seen (a crosstab)."""
    return values.groupby([keys, values], observed=True, sort=False).size().unstack(fill_value=0)


def _entropy(counts: pd.DataFrame) -> pd.Series:
    """Shannon entropy per row of a non-negative count table."""
    totals = counts.sum(axis=1)
    shares = counts.div(totals.where(totals > 0), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = -(shares * np.log(shares)).fillna(0.0)
    return terms.sum(axis=1).where(totals > 0)


def _safe_div(num, den):
    num = pd.Series(num, dtype=float) if not isinstance(num, pd.Series) else num.astype(float)
    den = den.astype(float)
    return num / den.where(den != 0)


def prepare_orders(orders: pd.DataFrame, *, as_of: pd.Timestamp) -> pd.DataFrame:
    """Orders before as_of with `value` (net of refunds) and a `valid` flag."""
    frame = orders.loc[:, [c for c in ORDER_COLUMNS if c in orders.columns]].copy()
    for column in ORDER_COLUMNS:
        if column not in frame.columns:
            frame[column] = np.nan
    frame["customer_id"] = frame["customer_id"].astype(str)
    frame["placed_at"] = _utc(frame["placed_at"])
    frame = frame.loc[frame["placed_at"] < as_of]
    for column in ("total", "subtotal", "discount_total", "refunded_total", "item_count"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    refunded = frame["refunded_total"].fillna(0.0)
    frame["value"] = frame["total"].fillna(0.0) - refunded
    status = _lower(frame["status"])
    frame["cancelled"] = status.isin({"cancelled", "canceled", "voided", "void"})
    frame["valid_status"] = ~status.isin(EXCLUDED_STATUSES)
    frame["valid"] = frame["valid_status"] & (frame["value"] > 0)
    frame["day"] = frame["placed_at"].dt.floor("D")
    return frame


def _codes(series: pd.Series) -> np.ndarray:
    """Integer codes of a column's values (-1 for missing), to group on instead of strings."""
    return pd.factorize(series)[0]


def _source_shows(source: pd.Series, evidence: pd.Series) -> pd.Series:
    """Per row: does any row of the same source (integer codes) show `evidence`?"""
    codes = source.to_numpy()
    shown = np.bincount(codes, weights=evidence.to_numpy(dtype=float), minlength=1) > 0
    return pd.Series(shown[codes], index=evidence.index)


def _mask_unrecorded(prepared: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """Discount and refund columns set to NaN on orders whose source does not record them.

    Stored orders carry the database default 0 for discounts and refunds whatever their
    source recorded, so a source that never shows a discount (or a refund) on any order,
    like CDNOW's totals-only file, says nothing about them: its zeros become unknown.
    """
    discounted = prepared["subtotal"].notna() | (prepared["discount_total"] > 0)
    if len(lines):
        line_discount = pd.to_numeric(lines["discount"], errors="coerce")
        discounted |= prepared["order_id"].isin(lines.loc[line_discount > 0, "order_id"])
    returned = (prepared["refunded_total"] > 0) | ~prepared["valid_status"]
    prepared = prepared.assign(
        discount_known=_source_shows(prepared["source"], discounted),
        returns_known=_source_shows(prepared["source"], returned),
    )
    for column in ("subtotal", "discount_total"):
        prepared[column] = prepared[column].where(prepared["discount_known"])
    prepared["refunded_total"] = prepared["refunded_total"].where(prepared["returns_known"])
    return prepared


def build_features(
    orders: pd.DataFrame,
    lines: pd.DataFrame | None,
    interactions: pd.DataFrame | None,
    events: pd.DataFrame | None,
    *,
    as_of,
    btyd_params: btyd.BGNBDParams | None = None,
    gg_params: btyd.GammaGammaParams | None = None,
) -> pd.DataFrame:
    """One row per customer with at least one order, interaction or event before as_of.

    BTYD parameters are fitted on these orders when not given.
    """
    as_of = _as_timestamp(as_of)
    return features_from_prepared(
        prepare_orders(orders, as_of=as_of),
        lines,
        interactions,
        events,
        as_of=as_of,
        btyd_params=btyd_params,
        gg_params=gg_params,
    )


def features_from_prepared(
    prepared: pd.DataFrame,
    lines: pd.DataFrame | None,
    interactions: pd.DataFrame | None,
    events: pd.DataFrame | None,
    *,
    as_of: pd.Timestamp,
    btyd_params: btyd.BGNBDParams | None = None,
    gg_params: btyd.GammaGammaParams | None = None,
    summary: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """build_features on orders already through prepare_orders (and their rfm_summary, when the
    caller has it), so a caller that needs them too computes them once."""
    lines = empty_frame(LINE_COLUMNS) if lines is None else lines
    interactions = empty_frame(INTERACTION_COLUMNS) if interactions is None else interactions
    events = empty_frame(EVENT_COLUMNS) if events is None else events
    interactions = (
        interactions.loc[_utc(interactions["occurred_at"]) < as_of] if len(interactions) else interactions
    )
    events = events.loc[_utc(events["occurred_at"]) < as_of] if len(events) else events
    if summary is None and prepared["valid"].any():
        summary = btyd.rfm_summary(prepared.loc[prepared["valid"]], as_of=as_of)

    ids = pd.Index(
        pd.concat(
            [
                prepared["customer_id"],
                interactions["customer_id"].astype(str),
                events["customer_id"].astype(str),
            ]
        ).unique(),
        name="customer_id",
    ).sort_values()
    # From here on a customer is its position in `ids`: grouping a million rows on
    # integers is several times faster than on strings, and the joins below align on it.
    prepared = prepared.assign(
        customer_id=ids.get_indexer(prepared["customer_id"]), source=_codes(prepared["source"].fillna(""))
    )
    prepared = _mask_unrecorded(prepared, lines)
    valid = prepared.loc[prepared["valid"]]
    interactions = interactions.assign(customer_id=ids.get_indexer(interactions["customer_id"].astype(str)))
    events = events.assign(customer_id=ids.get_indexer(events["customer_id"].astype(str)))
    if summary is not None:
        summary = summary.set_axis(ids.get_indexer(summary.index.astype(str)))
    out = pd.DataFrame(index=pd.RangeIndex(len(ids)))

    days = _purchase_days(valid)
    out = out.join(_frequency_recency_monetary(days, valid, as_of=as_of))
    out = out.join(_btyd_features(valid, summary, btyd_params=btyd_params, gg_params=gg_params))
    valid_lines = _valid_lines(lines, valid, ids)
    out = out.join(_basket_price(valid, valid_lines, as_of=as_of))
    out = out.join(_categories(valid_lines))
    out = out.join(_regularity_momentum(days, as_of=as_of))
    out = out.join(_timing_channel(valid))
    out = out.join(_returns(prepared))
    out = out.join(_support(interactions, as_of=as_of))
    out = out.join(_engagement(events, as_of=as_of))
    out["interactions_per_order"] = _safe_div(out["interaction_count"], out["order_count"])
    out["events_per_order"] = _safe_div(out["event_count"], out["order_count"])
    out["recency_gap_ratio"] = _safe_div(out["days_since_last_order"], out["mean_gap_days"])
    out = out.reindex(columns=list(FEATURE_NAMES)).astype(float)
    out.index = ids.astype(str)
    out.index.name = "customer_id"
    return out


def _purchase_days(valid: pd.DataFrame) -> pd.DataFrame:
    days = valid.groupby(["customer_id", "day"], observed=True)["value"].sum().reset_index()
    days = days.sort_values(["customer_id", "day"], kind="mergesort").reset_index(drop=True)
    days["prev_day"] = days.groupby("customer_id")["day"].shift(1)
    days["gap"] = (days["day"] - days["prev_day"]).dt.total_seconds() / 86400.0
    days["rank_from_end"] = days.groupby("customer_id").cumcount(ascending=False)
    return days


def _frequency_recency_monetary(days: pd.DataFrame, valid: pd.DataFrame, *, as_of) -> pd.DataFrame:
    age = (as_of - days["day"]).dt.total_seconds() / 86400.0
    g = days.groupby("customer_id")
    first, last = g["day"].min(), g["day"].max()
    out = pd.DataFrame(
        {
            "order_count": valid.groupby("customer_id").size().astype(float),
            "purchase_days": g.size().astype(float),
            "orders_30d": (age <= 30).groupby(days["customer_id"]).sum().astype(float),
            "orders_90d": (age <= 90).groupby(days["customer_id"]).sum().astype(float),
            "orders_365d": (age <= 365).groupby(days["customer_id"]).sum().astype(float),
            "days_since_last_order": (as_of - last).dt.total_seconds() / 86400.0,
            "tenure_days": (as_of - first).dt.total_seconds() / 86400.0,
            "total_spend": g["value"].sum(),
            "avg_order_value": g["value"].mean(),
            "max_order_value": g["value"].max(),
            "min_order_value": g["value"].min(),
            "order_value_std": g["value"].std(ddof=0),
            "spend_90d": days["value"].where(age <= 90, 0.0).groupby(days["customer_id"]).sum(),
        }
    )
    tenure_months = np.maximum(out["tenure_days"], 1.0) / 30.0
    out["orders_per_month"] = out["purchase_days"] / tenure_months
    out["spend_per_month"] = out["total_spend"] / tenure_months
    second_last = days.loc[days["rank_from_end"] == 1].set_index("customer_id")["day"]
    out["days_since_previous_order"] = (as_of - second_last).dt.total_seconds() / 86400.0
    out["recency_tenure_ratio"] = out["days_since_last_order"] / np.maximum(out["tenure_days"], 1.0)
    out["is_repeat_customer"] = (out["purchase_days"] > 1).astype(float)
    second = days.dropna(subset=["gap"]).groupby("customer_id")["gap"].first()
    out["days_to_second_order"] = second
    month = days["day"].dt.year * 12 + days["day"].dt.month  # integer months group in C
    active_months = month.groupby(days["customer_id"]).nunique()
    out["active_month_share"] = np.minimum(active_months / np.ceil(tenure_months), 1.0)
    return out


def _btyd_features(valid, summary, *, btyd_params, gg_params) -> pd.DataFrame:
    columns = ["bgnbd_expected_90d", "bgnbd_expected_365d", "bgnbd_p_alive", "gg_expected_order_value"]
    if valid.empty:
        return pd.DataFrame(columns=columns, dtype=float)
    params = btyd_params or btyd.bgnbd_fit(summary)
    gg = gg_params or btyd.gamma_gamma_fit(summary)
    x, t_x, T = summary["x"], summary["t_x"], summary["T"]
    return pd.DataFrame(
        {
            "bgnbd_expected_90d": btyd.bgnbd_expected_transactions(
                params, 90 / btyd.DAYS_PER_UNIT, x, t_x, T
            ),
            "bgnbd_expected_365d": btyd.bgnbd_expected_transactions(
                params, 365 / btyd.DAYS_PER_UNIT, x, t_x, T
            ),
            "bgnbd_p_alive": btyd.bgnbd_p_alive(params, x, t_x, T),
            "gg_expected_order_value": btyd.gamma_gamma_expected_spend(gg, x, summary["m_x"]),
        },
        index=summary.index,
    )


def _valid_lines(lines: pd.DataFrame, valid: pd.DataFrame, ids: pd.Index) -> pd.DataFrame:
    """Lines of valid orders: the customer's position in `ids`, SKU and category as integer
    codes (-1 for none; an empty category is none), numeric columns and `spend`."""
    columns = ["order_id", "sku", "category", "quantity", "unit_price", "discount"]
    # The customer comes from the line's order (integer keys), not from hashing its id text again.
    order_at = pd.Index(valid["order_id"]).get_indexer(lines["order_id"])
    lf = lines.loc[order_at >= 0, columns]
    customer = valid["customer_id"].to_numpy()[order_at[order_at >= 0]]
    quantity = pd.to_numeric(lf["quantity"], errors="coerce")
    unit_price = pd.to_numeric(lf["unit_price"], errors="coerce")
    discount = pd.to_numeric(lf["discount"], errors="coerce")
    category, names = pd.factorize(lf["category"])
    category[np.isin(category, np.flatnonzero(np.asarray(names, dtype=object) == ""))] = -1
    # Lines of orders whose source records no discounts: their 0 is the default, not a fact.
    known = valid["order_id"].loc[valid["discount_known"]]
    return pd.DataFrame(
        {
            "order_id": lf["order_id"],
            "customer_id": customer,
            "sku": _codes(lf["sku"]),
            "category": category,
            "discount": discount.where(lf["order_id"].isin(known)),
            "spend": quantity.fillna(1) * unit_price.fillna(0) - discount.fillna(0),
        },
        index=lf.index,
    )


def _basket_price(valid: pd.DataFrame, lf: pd.DataFrame, *, as_of) -> pd.DataFrame:
    items = valid["item_count"].where(valid["item_count"] > 0)
    subtotal = valid["subtotal"].where(valid["subtotal"] > 0)
    discount = valid["discount_total"]
    recent = (as_of - valid["placed_at"]).dt.total_seconds() / 86400.0 <= 90
    columns = pd.DataFrame(
        {
            "items": items,
            "value": valid["value"],
            "subtotal": subtotal,
            "discount": discount,
            "discounted": (discount > 0).astype(float).where(discount.notna()),
            "discount_90d": discount.where(recent),
            "subtotal_90d": subtotal.where(recent),
        }
    )
    g = columns.groupby(valid["customer_id"])  # one grouping for every aggregate below
    sums = g.sum(min_count=1)
    means = g[["items", "discounted"]].mean()
    value = g["value"].sum()  # 0 rather than NaN for a customer without values, as before
    out = pd.DataFrame(
        {
            "avg_items_per_order": means["items"],
            "max_items_per_order": g["items"].max(),
            "avg_item_price": _safe_div(value, sums["items"]),
            "discount_order_share": means["discounted"],
            "avg_discount_rate": _safe_div(sums["discount"], sums["subtotal"]),
            "discount_total": sums["discount"],
            "discount_rate_90d": _safe_div(sums["discount_90d"], sums["subtotal_90d"]),
        }
    )
    if len(lf):
        # Per order (grouped on the integer order id), then the customer's mean over orders.
        by_order = lf.groupby("order_id", sort=False)
        per_order = pd.DataFrame({"customer_id": by_order["customer_id"].first(), "n_lines": by_order.size()})
        distinct = lf.loc[lf["sku"] >= 0].drop_duplicates(["order_id", "sku"])
        per_order["n_skus"] = distinct.groupby("order_id").size().reindex(per_order.index, fill_value=0)
        per_customer = per_order.groupby("customer_id")[["n_lines", "n_skus"]].mean()
        out["avg_lines_per_order"] = per_customer["n_lines"]
        out["avg_skus_per_order"] = per_customer["n_skus"]
        discounted = (lf["discount"] > 0).astype(float).where(lf["discount"].notna())
        out["discounted_line_share"] = discounted.groupby(lf["customer_id"]).mean()
    return out


def _categories(lf: pd.DataFrame) -> pd.DataFrame:
    columns = ["category_count", "sku_count", "category_entropy", "top_category_share"]
    if not len(lf):
        return pd.DataFrame(columns=columns, dtype=float)
    cat = lf.loc[lf["category"] >= 0]
    pairs = lf.loc[lf["sku"] >= 0, ["customer_id", "sku"]].drop_duplicates()
    skus = pairs.groupby("customer_id").size().reindex(pd.unique(lf["customer_id"]), fill_value=0)
    out = pd.DataFrame({"sku_count": skus.astype(float)})
    if len(cat):
        table = cat.groupby(["customer_id", "category"], observed=True, sort=False)["spend"].sum()
        table = table.unstack(fill_value=0.0).clip(lower=0.0)
        totals = table.sum(axis=1)
        out["category_count"] = (table > 0).sum(axis=1).astype(float)
        out["category_entropy"] = _entropy(table)
        out["top_category_share"] = _safe_div(table.max(axis=1), totals)
    return out.reindex(columns=columns)


def _regularity_momentum(days: pd.DataFrame, *, as_of) -> pd.DataFrame:
    gaps = days.dropna(subset=["gap"])
    g = gaps.groupby("customer_id")["gap"]
    out = pd.DataFrame(
        {
            "mean_gap_days": g.mean(),
            "median_gap_days": g.median(),
            "gap_std_days": g.std(ddof=0),
            "max_gap_days": g.max(),
        }
    )
    out["gap_cv"] = _safe_div(out["gap_std_days"], out["mean_gap_days"])
    age = (as_of - days["day"]).dt.total_seconds() / 86400.0
    cid = days["customer_id"]
    spend_recent = days["value"].where(age <= 90, 0.0).groupby(cid).sum()
    spend_before = days["value"].where((age > 90) & (age <= 180), 0.0).groupby(cid).sum()
    n_recent = (age <= 90).groupby(cid).sum()
    n_before = ((age > 90) & (age <= 180)).groupby(cid).sum()
    tenure = (as_of - days.groupby("customer_id")["day"].min()).dt.total_seconds() / 86400.0
    # Trends need a full previous window; younger customers have no trend yet.
    mature = tenure > 180
    out = out.reindex(spend_recent.index)
    out["spend_trend_90d"] = (np.log1p(spend_recent) - np.log1p(spend_before)).where(mature)
    out["frequency_trend_90d"] = (np.log1p(n_recent) - np.log1p(n_before)).where(mature)
    last = days.loc[days["rank_from_end"] == 0].set_index("customer_id")
    earlier = days.loc[days["rank_from_end"] > 0].groupby("customer_id")
    out["aov_change"] = last["value"] / earlier["value"].mean() - 1.0
    earlier_gaps = (
        days.loc[days["rank_from_end"] > 0].dropna(subset=["gap"]).groupby("customer_id")["gap"].mean()
    )
    out["last_gap_ratio"] = _safe_div(last["gap"], earlier_gaps)
    total = days.groupby("customer_id")["value"].sum()
    out["recent_spend_share"] = _safe_div(spend_recent, total)
    return out


def _timing_channel(valid: pd.DataFrame) -> pd.DataFrame:
    if valid.empty:
        return pd.DataFrame()
    cid = valid["customer_id"]
    weekday = valid["placed_at"].dt.day_of_week
    counts = _counts(cid, weekday)
    out = pd.DataFrame(
        {
            "weekend_share": (weekday >= 5).groupby(cid).mean(),
            "weekday_entropy": _entropy(counts),
        }
    )
    # A source whose orders all sit at midnight carries dates only: hours are unknown.
    hour = valid["placed_at"].dt.hour + valid["placed_at"].dt.minute / 60.0
    has_time = _source_shows(valid["source"], valid["placed_at"] != valid["day"])
    hour = hour.where(has_time)
    out["mean_order_hour"] = hour.groupby(cid).mean()
    out["evening_share"] = (hour >= 18).where(hour.notna()).groupby(cid).mean()
    channel = _lower(valid["channel"])
    known = channel != ""
    if known.any():
        ch = valid.loc[known].assign(channel=channel[known])
        table = _counts(ch["customer_id"], ch["channel"])
        out["channel_count"] = (table > 0).sum(axis=1).astype(float)
        out["top_channel_share"] = table.max(axis=1) / table.sum(axis=1)
        out["online_share"] = ch["channel"].isin(ONLINE_CHANNELS).groupby(ch["customer_id"]).mean()
        out["mobile_share"] = ch["channel"].isin(MOBILE_CHANNELS).groupby(ch["customer_id"]).mean()
    return out


def _returns(prepared: pd.DataFrame) -> pd.DataFrame:
    cid = prepared["customer_id"]
    refunded = prepared["refunded_total"]
    gross = prepared["total"].where(prepared["total"] > 0)
    has_refund_data = refunded.notna().groupby(cid).any()
    out = pd.DataFrame(
        {
            "refunded_order_share": (refunded.fillna(0) > 0).groupby(cid).mean().where(has_refund_data),
            "refund_value_share": _safe_div(refunded.groupby(cid).sum(), gross.groupby(cid).sum()).where(
                has_refund_data
            ),
            "cancelled_orders": prepared["cancelled"].groupby(cid).sum().astype(float),
            "refunded_total": refunded.groupby(cid).sum(min_count=1),
        }
    )
    # No status at all, or a source that never records a cancellation or refund (e.g. CDNOW):
    # cancellations are unknown, not zero.
    has_status = (prepared["status"].notna() & prepared["returns_known"]).groupby(cid).any()
    out["cancelled_orders"] = out["cancelled_orders"].where(has_status)
    return out


def _support(interactions: pd.DataFrame, *, as_of) -> pd.DataFrame:
    columns = ["interaction_count", "interactions_90d", "complaint_share", "open_interaction_share",
               "high_priority_share"]  # fmt: skip
    if not len(interactions):
        return pd.DataFrame(columns=columns, dtype=float)
    frame = interactions
    cid = frame["customer_id"]
    age = (as_of - _utc(frame["occurred_at"])).dt.total_seconds() / 86400.0
    return pd.DataFrame(
        {
            "interaction_count": cid.groupby(cid).size().astype(float),
            "interactions_90d": (age <= 90).groupby(cid).sum().astype(float),
            "complaint_share": _lower(frame["kind"]).isin(COMPLAINT_KINDS).groupby(cid).mean(),
            "open_interaction_share": _lower(frame["status"]).isin(OPEN_STATUSES).groupby(cid).mean(),
            "high_priority_share": _lower(frame["priority"]).isin(HIGH_PRIORITIES).groupby(cid).mean(),
        }
    )


def _engagement(events: pd.DataFrame, *, as_of) -> pd.DataFrame:
    columns = ["event_count", "events_30d", "events_90d", "distinct_event_names", "days_since_last_event"]
    if not len(events):
        return pd.DataFrame(columns=columns, dtype=float)
    frame = events.assign(occurred_at=_utc(events["occurred_at"]))
    cid = frame["customer_id"]
    age = (as_of - frame["occurred_at"]).dt.total_seconds() / 86400.0
    return pd.DataFrame(
        {
            "event_count": cid.groupby(cid).size().astype(float),
            "events_30d": (age <= 30).groupby(cid).sum().astype(float),
            "events_90d": (age <= 90).groupby(cid).sum().astype(float),
            "distinct_event_names": frame["name"].groupby(cid).nunique().astype(float),
            "days_since_last_event": age.groupby(cid).min(),
        }
    )
