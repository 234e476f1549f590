"""Products and categories for a customer: item-to-item co-purchase (cosine
over customer baskets, computed as one sparse matrix product over all order
lines and cached) blended with the customer's category affinity, excluding
what they bought recently."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.cache import cache

from generation.interface import ContentRecommendation
from generation.services.profiles import profile_resolve

CACHE_KEY = "generation:copurchase:v1"
CACHE_SECONDS = 3600
RECENT_DAYS = 180
LIMIT = 5
CATEGORY_WEIGHT = 0.3


@dataclass
class CoPurchase:
    items: Any  # pandas DataFrame indexed 0..n-1: sku, title, category, price, popularity
    similarity: Any  # scipy.sparse csr (n x n) cosine similarity, zero diagonal
    index: dict[str, int]


def copurchase_matrix(*, refresh: bool = False) -> CoPurchase | None:
    """None when the source has no product data (no SKU on any order line)."""
    if not refresh:
        cached = cache.get(CACHE_KEY)
        if cached is not None:
            return cached or None
    import numpy as np
    from scipy import sparse

    from ingestion import interface as ingestion

    lines = ingestion.order_lines_frame()
    lines = lines[lines["sku"].fillna("").astype(str).str.len() > 0]
    if lines.empty:
        cache.set(CACHE_KEY, False, CACHE_SECONDS)
        return None
    item_codes, skus = lines["sku"].factorize()
    cust_codes, _ = lines["customer_id"].factorize()
    # Customer x item incidence (bought at least once): the basket is the customer's history.
    incidence = sparse.csr_matrix(
        (np.ones(len(lines), dtype=np.float32), (cust_codes, item_codes)),
        shape=(cust_codes.max() + 1, len(skus)),
    )
    incidence.data[:] = 1.0
    incidence.sum_duplicates()
    incidence.data[:] = 1.0
    co = (incidence.T @ incidence).tocsr()
    counts = np.asarray(incidence.sum(axis=0)).ravel()
    norm = np.sqrt(counts)
    co = sparse.diags(1 / norm) @ co @ sparse.diags(1 / norm)
    co.setdiag(0)
    co.eliminate_zeros()
    first = (
        lines.assign(item=item_codes)
        .groupby("item")
        .agg(title=("title", "first"), category=("category", "first"), price=("unit_price", "median"))
    )
    items = first.reindex(range(len(skus)))
    items["sku"] = list(skus)
    items["popularity"] = counts / counts.max()
    result = CoPurchase(items=items, similarity=co.tocsr(), index={s: i for i, s in enumerate(skus)})
    cache.set(CACHE_KEY, result, CACHE_SECONDS)
    return result


def content_recommend(
    *,
    customer_profile: Any = None,
    customer_id: str | None = None,
    objective: str = "cross_sell",
    limit: int = LIMIT,
) -> list[ContentRecommendation]:
    profile = profile_resolve(customer_profile=customer_profile, customer_id=customer_id)
    model = copurchase_matrix()
    if model is None:
        return [
            ContentRecommendation(
                kind="none",
                item_id="",
                title="No product catalogue",
                score=0.0,
                reason="This shop's data has no products (order lines without SKUs), so there is nothing to "
                "recommend by item; use category or value-based messaging instead.",
            )
        ]
    import numpy as np

    history = _history(profile.customer_id)
    owned = [model.index[s] for s in history["sku"] if s in model.index]
    cutoff = datetime.now(UTC) - timedelta(days=RECENT_DAYS)
    if len(history):
        cutoff = max(history["placed_at"].max() - timedelta(days=RECENT_DAYS), history["placed_at"].min())
    recent = {model.index[s] for s in history.loc[history["placed_at"] >= cutoff, "sku"] if s in model.index}
    cats = list(history["category"].value_counts(normalize=True).items()) or [
        (c, 1.0 / (i + 1)) for i, c in enumerate(profile.top_categories)
    ]
    affinity = dict(cats)
    score = np.asarray(model.similarity[owned].sum(axis=0)).ravel() if owned else np.zeros(len(model.items))
    if score.max() > 0:
        score = score / score.max()
    cat_boost = model.items["category"].map(affinity).fillna(0.0).to_numpy()
    score = score + CATEGORY_WEIGHT * cat_boost + 0.05 * model.items["popularity"].to_numpy()
    if objective == "upsell" and len(history):
        score = score * (model.items["price"].fillna(0).to_numpy() >= history["unit_price"].median())
    score[list(recent)] = -1
    top = np.argsort(-score)[:limit]
    recs = []
    for i in top:
        if score[i] <= 0:
            break
        item = model.items.iloc[i]
        why = []
        if owned and model.similarity[owned, i].sum() > 0:
            why.append("often bought by customers who bought what they bought")
        if affinity.get(item["category"]):
            why.append(f"in their favourite category {item['category']}")
        recs.append(
            ContentRecommendation(
                kind="product",
                item_id=str(item["sku"]),
                title=str(item["title"] or item["sku"]),
                score=round(float(score[i]), 4),
                reason="; ".join(why) or "a best-seller",
            )
        )
    recs += _categories(affinity, model, objective, limit=2)
    return recs


def _history(customer_id: str):
    import pandas as pd

    if not customer_id or not customer_id.isdigit():
        return pd.DataFrame(columns=["sku", "category", "placed_at", "unit_price"])
    from ingestion import interface as ingestion

    lines = ingestion.order_lines_frame(customer_ids=[customer_id])
    return lines[lines["sku"].fillna("").astype(str).str.len() > 0]


def _categories(
    affinity: dict, model: CoPurchase, objective: str, *, limit: int
) -> list[ContentRecommendation]:
    ranked = sorted(affinity.items(), key=lambda kv: -kv[1])[:limit]
    return [
        ContentRecommendation(
            kind="category",
            item_id=str(cat),
            title=str(cat),
            score=round(float(share), 4),
            reason=f"{share:.0%} of their purchases are in {cat}",
        )
        for cat, share in ranked
        if cat
    ]
