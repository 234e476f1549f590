"""CSV export of predictions, one row per external customer reference."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import date

from ingestion import interface as ingestion
from intelligence.models import CustomerIntelligence
from intelligence.services import frames as frame_loader
from intelligence.services import registry, scoring

COLUMNS = [
    "source",
    "external_id",
    "customer_id",
    "churn_probability",
    "predicted_spend",
    "predicted_orders",
    "archetype",
]
Progress = Callable[[str, int, int], None] | None


def _stored(*, as_of: date | None, horizon_days: int | None) -> dict[str, tuple] | None:
    """Stored predictions when they answer the asked as_of/horizon, else None."""
    version = registry.active_version_require()
    rows = CustomerIntelligence.objects.filter(model_version=version)
    first = rows.values("as_of", "horizon_days").first()
    if first is None:
        return None
    if (as_of and first["as_of"] != as_of) or (horizon_days and first["horizon_days"] != horizon_days):
        return None
    return {
        cid: (churn, spend, orders, archetype)
        for cid, churn, spend, orders, archetype in rows.values_list(
            "customer_id", "churn_probability", "predicted_ltv", "expected_orders", "archetype"
        ).iterator(chunk_size=5000)
    }


def _fresh(*, as_of: date | None, horizon_days: int | None) -> dict[str, tuple]:
    version = registry.active_version_require()
    as_of = as_of or frame_loader.default_as_of()
    data = frame_loader.frames_load(as_of=as_of)
    # The export has no reasons column: no SHAP values (most of the scoring time).
    scores = scoring.scores_compute(
        version=version, data=data, as_of=as_of, horizon_days=horizon_days, explain=False
    )
    return dict(
        zip(
            scores.index.astype(str),
            zip(
                scores["churn_probability"].tolist(),
                scores["predicted_spend"].tolist(),
                scores["expected_orders"].tolist(),
                scores["archetype"].astype(str).tolist(),
                strict=True,
            ),
            strict=True,
        )
    )


REFS_CHUNK = 5000


def _ref_chunks(customer_ids: list[str]):
    """`(customers done, [(source, external_id, customer_id)])` for every ref of these customers,
    a chunk of customers at a time: a fixed number of queries per chunk."""
    for start in range(0, len(customer_ids), REFS_CHUNK):
        chunk = customer_ids[start : start + REFS_CHUNK]
        summaries = ingestion.customers_get(customer_ids=chunk)
        refs = [
            (source, external_id, customer_id)
            for customer_id in chunk
            if (summary := summaries.get(customer_id)) is not None
            for source, external_id in summary.external_refs
        ]
        yield start + len(chunk), refs


def _num(value, digits: int) -> str:
    return "" if value is None or value != value else f"{float(value):.{digits}f}"


def predictions_export(
    *, path: str, as_of: date | None = None, horizon_days: int | None = None, progress: Progress = None
) -> int:
    predictions = _stored(as_of=as_of, horizon_days=horizon_days)
    if predictions is None:
        predictions = _fresh(as_of=as_of, horizon_days=horizon_days)
    ids = sorted(predictions)
    written = 0
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        # Progress counts customers: a customer has any number of refs (rows).
        for done, refs in _ref_chunks(ids):
            for source, external_id, customer_id in refs:
                churn, spend, orders, archetype = predictions[customer_id]
                writer.writerow(
                    [
                        source,
                        external_id,
                        customer_id,
                        _num(churn, 6),
                        _num(spend, 2),
                        _num(orders, 4),
                        archetype,
                    ]
                )
            written += len(refs)
            if progress:
                progress("customers", done, len(ids))
    return written
