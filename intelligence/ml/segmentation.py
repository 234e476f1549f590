"""Behavioural DNA: per-axis K-Means clusters labelled in words, and archetypes.

Per axis: the axis's features (those with data) are log-compressed when skewed,
median-imputed and standardised; K-Means with k in 2..6 picked by silhouette (fixed
seed, silhouette on a sample when large). Clusters are ordered by the centroid of the
axis's key feature and named with the axis's words; a customer takes the word of their own
key value (the nearest centroid along that feature), so no word contradicts the value it
describes. A customer with no data on an axis gets "unknown". Membership strength =
softmax over negative squared distances (along the key feature when the customer has it).
Archetype = the labels on the headline axes (first three axes with data in
HEADLINE_AXES), e.g. "Premium Deal-Hunter Long-Term".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from intelligence.ml.features import AXES, FEATURE_AXIS

SEED = 7
K_RANGE = range(2, 7)
SILHOUETTE_SAMPLE = 3000
UNKNOWN = "unknown"

# axis -> (key feature, words from low to high key value)
AXIS_WORDS: dict[str, tuple[str, tuple[str, str, str]]] = {
    "purchase_frequency": ("purchase_days", ("occasional", "regular", "frequent")),
    "recency": ("days_since_last_order", ("active", "lapsing", "lapsed")),
    "monetary_value": ("avg_order_value", ("budget", "mid_value", "premium")),
    "basket_size": ("avg_items_per_order", ("small_basket", "medium_basket", "large_basket")),
    "price_sensitivity": ("discount_order_share", ("full_price", "occasional_discount", "deal_hunter")),
    "category_breadth": ("category_count", ("specialist", "explorer", "generalist")),
    "tenure_loyalty": ("tenure_days", ("new", "established", "long_term")),
    "regularity": ("gap_cv", ("clockwork", "steady", "erratic")),
    "momentum": ("spend_trend_90d", ("declining", "stable", "growing")),
    "timing": ("weekend_share", ("weekday", "mixed_days", "weekend")),
    "channel_preference": ("online_share", ("offline", "omnichannel", "online")),
    "returns_refunds": ("refund_value_share", ("keeper", "occasional_returner", "serial_returner")),
    "support_intensity": ("interaction_count", ("self_sufficient", "occasional_contact", "high_touch")),
    "engagement": ("event_count", ("passive", "engaged", "highly_engaged")),
}
HEADLINE_AXES = (
    "monetary_value", "price_sensitivity", "tenure_loyalty", "purchase_frequency", "recency",
    "category_breadth", "momentum",
)  # fmt: skip


@dataclass
class AxisModel:
    axis: str
    features: list[str]
    medians: np.ndarray
    means: np.ndarray
    scales: np.ndarray
    log_columns: list[bool]
    centroids: np.ndarray  # standardised space, ordered by the key feature
    labels: list[str]
    sizes: list[int]
    silhouette: float


@dataclass
class Segmentation:
    axes: dict[str, AxisModel] = field(default_factory=dict)
    headline: tuple[str, ...] = ()
    archetypes: list[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)


def _words(axis: str, k: int) -> list[str]:
    low, mid, high = AXIS_WORDS[axis][1]
    if k == 2:
        return [low, high]
    positions = np.linspace(0.0, 1.0, k)
    base = [low if p < 1 / 3 else (mid if p <= 2 / 3 else high) for p in positions]
    labels = []
    for i, word in enumerate(base):
        duplicates = [j for j, w in enumerate(base) if w == word]
        if len(duplicates) > 1 and word != mid:
            extreme = i == duplicates[0] if word == low else i == duplicates[-1]
            word = f"very_{word}" if extreme else word
        elif len(duplicates) > 1:
            word = f"{word}_{'low' if i == duplicates[0] else 'high'}"
        labels.append(word)
    return labels


def _transform(frame: pd.DataFrame, model: AxisModel) -> tuple[np.ndarray, np.ndarray]:
    """(standardised matrix, mask of rows with any data on the axis)."""
    values = frame.reindex(columns=model.features).to_numpy(float)
    known = ~np.isnan(values).all(axis=1)
    logged = np.where(model.log_columns, np.sign(values) * np.log1p(np.abs(values)), values)
    filled = np.where(np.isnan(logged), model.medians, logged)
    return (filled - model.means) / model.scales, known


def _fit_axis(frame: pd.DataFrame, axis: str) -> AxisModel | None:
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    columns = [
        c for c, a in FEATURE_AXIS.items() if a == axis and c in frame.columns and frame[c].notna().any()
    ]
    if not columns:
        return None
    values = frame[columns].to_numpy(float)
    known = ~np.isnan(values).all(axis=1)
    if known.sum() < 10:
        return None
    values = values[known]
    skew = pd.DataFrame(values).skew().abs().fillna(0).to_numpy()
    log_columns = list((skew > 1.0) & (np.nanmin(values, axis=0) >= 0))
    logged = np.where(log_columns, np.sign(values) * np.log1p(np.abs(values)), values)
    medians = np.nanmedian(logged, axis=0)
    filled = np.where(np.isnan(logged), medians, logged)
    means, scales = filled.mean(axis=0), filled.std(axis=0)
    scales = np.where(scales > 0, scales, 1.0)
    X = (filled - means) / scales
    n_distinct = len(np.unique(X.round(6), axis=0))
    rng = np.random.default_rng(SEED)
    sample = X[rng.choice(len(X), size=min(len(X), SILHOUETTE_SAMPLE), replace=False)]
    best = None
    with threadpool_limits(limits=1):
        # k is chosen on a sample; the chosen k is then fitted on everyone.
        for k in K_RANGE:
            if k >= n_distinct:
                break
            labels = KMeans(n_clusters=k, n_init=2, random_state=SEED).fit_predict(sample)
            if len(np.unique(labels)) < 2:
                continue
            score = float(silhouette_score(sample, labels))
            if best is None or score > best[0]:
                best = (score, k)
        if best is None:
            return None
        score, k = best
        km = KMeans(n_clusters=k, n_init=2, random_state=SEED).fit(X)
    key = AXIS_WORDS[axis][0]
    key_index = columns.index(key) if key in columns else 0  # as _order_index
    order = np.argsort(km.cluster_centers_[:, key_index])
    sizes = np.bincount(km.labels_, minlength=km.n_clusters)[order]
    return AxisModel(
        axis=axis,
        features=columns,
        medians=medians,
        means=means,
        scales=scales,
        log_columns=log_columns,
        centroids=km.cluster_centers_[order],
        labels=_words(axis, km.n_clusters),
        sizes=[int(s) for s in sizes],
        silhouette=score,
    )


def _order_index(model: AxisModel) -> int:
    """Position of the feature the clusters are ordered (and their words chosen) by."""
    key = AXIS_WORDS[model.axis][0]
    return model.features.index(key) if key in model.features else 0


def _assign_axis(frame: pd.DataFrame, model: AxisModel) -> tuple[np.ndarray, np.ndarray]:
    X, known = _transform(frame, model)
    distances = ((X[:, None, :] - model.centroids[None, :, :]) ** 2).sum(axis=2)
    # The words describe the key feature ("active": few days since the last order), so a
    # customer with a key value is placed by it alone, among the centroids ordered by it: a
    # word's rank never falls as the value rises. The nearest centroid over all the axis's
    # features can contradict the value (every one-time buyer has recency_tenure_ratio 1 and
    # BG/NBD p_alive 1: buyers last seen 15 months ago came out "active"). The clusters are
    # still found on all the features, and place a customer who has no key value.
    key = _order_index(model)
    name = model.features[key]
    has_key = frame.reindex(columns=[name])[name].notna().to_numpy()
    along_key = (X[:, None, key] - model.centroids[None, :, key]) ** 2
    distances = np.where(has_key[:, None], along_key, distances)
    logits = -distances
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    weights /= weights.sum(axis=1, keepdims=True)
    cluster = distances.argmin(axis=1)
    labels = np.where(known, np.asarray(model.labels, dtype=object)[cluster], UNKNOWN)
    strength = np.where(known, weights[np.arange(len(X)), cluster], np.nan)
    return labels, strength


def _title(label: str) -> str:
    return "-".join(part.capitalize() for part in label.split("_"))


def archetype_id(labels: tuple[str, ...]) -> str:
    return "arch_" + hashlib.sha1("|".join(labels).encode()).hexdigest()[:10]  # noqa: S324 (an id, not security)


def segmentation_fit(frame: pd.DataFrame, *, learn_from: pd.Series | None = None) -> Segmentation:
    """Each axis's clusters, found on the rows `learn_from` marks (every row when None); the
    archetypes (names, sizes, centroids) of every row, so each customer's is defined."""
    population = frame if learn_from is None else frame.loc[learn_from]
    axes = {}
    for axis in AXES:
        model = _fit_axis(population, axis)
        if model is not None:
            axes[axis] = model
    headline = tuple(a for a in HEADLINE_AXES if a in axes)[:3]
    seg = Segmentation(axes=axes, headline=headline)
    assigned = segmentation_assign(seg, frame)
    seg.archetypes = _archetypes(seg, frame, assigned)
    seg.metrics = {a: {"k": len(m.labels), "silhouette": round(m.silhouette, 4)} for a, m in axes.items()}
    seg.params = {"headline_axes": list(headline), "k_range": [2, 6], "seed": SEED}
    return seg


def segmentation_assign(seg: Segmentation, frame: pd.DataFrame) -> pd.DataFrame:
    """Columns archetype, archetype_id, axes (dict axis -> {label, strength})."""
    n = len(frame)
    per_axis = {}
    for axis in AXES:
        if axis in seg.axes:
            per_axis[axis] = _assign_axis(frame, seg.axes[axis])
        else:
            per_axis[axis] = (np.full(n, UNKNOWN, dtype=object), np.full(n, np.nan))
    # Column-wise: labels and rounded strengths as Python lists, then one dict per customer.
    labels = [per_axis[axis][0].astype(str).tolist() for axis in AXES]
    strengths = [_rounded(per_axis[axis][1]) for axis in AXES]
    axes_dicts = [
        {
            axis: {"label": label, "strength": strength}
            for axis, label, strength in zip(AXES, ls, ss, strict=True)
        }
        for ls, ss in zip(zip(*labels, strict=True), zip(*strengths, strict=True), strict=True)
    ]
    # Archetype names and ids are computed once per distinct combination of headline labels.
    head = [per_axis[a][0].astype(str) for a in seg.headline]
    if head:
        combos = pd.DataFrame(dict(enumerate(head)))
        codes, uniques = pd.factorize(pd.MultiIndex.from_frame(combos))
        keys = list(uniques)
        names = np.asarray([_archetype_name(k) for k in keys], dtype=object)[codes]
        ids = np.asarray([archetype_id(k) for k in keys], dtype=object)[codes]
    else:
        names = np.full(n, _archetype_name(()), dtype=object)
        ids = np.full(n, archetype_id(()), dtype=object)
    return pd.DataFrame({"archetype": names, "archetype_id": ids, "axes": axes_dicts}, index=frame.index)


def _rounded(values: np.ndarray) -> list[float | None]:
    rounded = np.round(np.asarray(values, float), 4)
    return np.where(np.isnan(rounded), None, rounded).tolist()


def _archetype_name(labels: tuple[str, ...]) -> str:
    known = [_title(label) for label in labels if label != UNKNOWN]
    return " ".join(known) if known else "Unclassified"


def _archetypes(seg: Segmentation, frame: pd.DataFrame, assigned: pd.DataFrame) -> list[dict]:
    key_features = [AXIS_WORDS[a][0] for a in seg.headline if AXIS_WORDS[a][0] in frame.columns]
    extra = [c for c in ("order_count", "total_spend", "days_since_last_order") if c not in key_features]
    columns = [c for c in key_features + extra if c in frame.columns]
    grouped = frame[columns].groupby(assigned["archetype_id"])
    centroids = grouped.mean()
    sizes = grouped.size()
    names = assigned.groupby("archetype_id")["archetype"].first()
    return [
        {
            "archetype_id": str(aid),
            "name": str(names[aid]),
            "centroid": {
                c: (None if pd.isna(v) else round(float(v), 4)) for c, v in centroids.loc[aid].items()
            },
            "size": int(sizes[aid]),
        }
        for aid in sizes.sort_values(ascending=False).index
    ]
