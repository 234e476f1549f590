"""Batch scoring of every customer and the 0-100 scores built on stored intelligence."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from intelligence import interface
from intelligence.errors import InvalidQuery
from intelligence.models import CustomerIntelligence, ModelVersion
from intelligence.services import frames as frame_loader
from intelligence.services import registry
from intelligence.services.rows import SCORED_FIELDS, rows_from_columns, rows_from_scores, score_columns

Progress = Callable[[str, int, int], None] | None
WRITE_CHUNK = 2000  # rows per bulk_create (SQLite)
COPY_CHUNK = 5000  # customers per chunk built and copied while the database stores the previous one
_NULL = "\\N"
# COPY text escapes; JSON from orjson holds no raw control characters, only backslash escapes.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
POPULATION_KEY = "intel:population:{version}:{as_of}"


def scores_compute(
    *, version: ModelVersion, data: dict, as_of: date, horizon_days: int | None = None, explain: bool = True
):
    """The ML score frame for the customers in `data` (index customer_id); explain=False leaves
    the reasons empty and skips their cost (ml.training.score_all)."""
    import pandas as pd

    chunks = score_chunks(version=version, data=data, as_of=as_of, horizon_days=horizon_days, explain=explain)
    return pd.concat(list(chunks.parts))


def score_chunks(
    *,
    version: ModelVersion,
    data: dict,
    as_of: date,
    horizon_days: int | None = None,
    chunk_size: int | None = None,
    explain: bool = True,
):
    """The same frame in consecutive chunks of `chunk_size` customers: ml.training.ScoreChunks."""
    from intelligence.ml import training as ml_training

    bundle = registry.artifact_load(version=version)
    return ml_training.score_chunks(
        bundle,
        data["orders"],
        data["lines"],
        data["interactions"],
        data["events"],
        as_of=as_of,
        horizon_days=horizon_days or version.horizon_days,
        chunk_size=chunk_size,
        explain=explain,
    )


def customers_score_all(*, as_of: date | None = None, progress: Progress = None) -> int:
    """Score every customer with the active model and write all rows in bulk. Returns the row count.

    The rows are written as they are built, chunk by chunk: the database stores one chunk
    while the next is made."""
    version = registry.active_version_require()
    if progress:
        progress("load", 0, 3)
    if as_of is None:
        data = frame_loader.frames_load(as_of=None)
        as_of = frame_loader.default_as_of(orders=data["orders"])
        data = frame_loader.frames_before(data=data, as_of=as_of)
    else:
        data = frame_loader.frames_load(as_of=as_of)
    if progress:
        progress("score", 1, 3)
    scored = score_chunks(version=version, data=data, as_of=as_of, chunk_size=COPY_CHUNK)
    del data
    if progress:
        progress("write", 2, 3)
    computed_at = timezone.now()
    chunks = (
        score_columns(scores=part, version=version, as_of=as_of, computed_at=computed_at)
        for part in scored.parts
    )
    count = rows_write(chunks=chunks, total=scored.total, computed_at=computed_at, progress=progress)
    ModelVersion.objects.filter(pk=version.pk).update(scored_as_of=as_of)
    cache.delete(f"{registry.ACTIVE_CACHE_KEY}:{version.kind}")
    # A re-score at the same as_of (the hourly runs of one day) keeps the quantiles' key: drop
    # them. That reaches every process only through a shared cache (Redis); a local-memory one
    # elsewhere keeps its copy up to an hour, which only shifts 0-100 percentiles slightly.
    cache.delete(POPULATION_KEY.format(version=version.pk, as_of=as_of))
    if progress:
        progress("done", 3, 3)
    return count


@transaction.atomic
def rows_write(
    *, chunks: Iterable[dict[str, list]], total: int, computed_at, progress: Progress = None
) -> int:
    """Replace every row in bulk, in one transaction (readers see the previous rows until it
    commits): on PostgreSQL one DELETE and a COPY straight into the table, elsewhere chunked
    upserts and a delete of the rows of customers no longer scored. `chunks` yield
    rows.score_columns dicts, `total` rows in all (for progress). Returns the rows written."""
    if connection.vendor == "postgresql":
        return _copy_replace(chunks, total, progress)
    written = 0
    for columns in chunks:
        rows = rows_from_columns(columns)
        for start in range(0, len(rows), WRITE_CHUNK):
            CustomerIntelligence.objects.bulk_create(
                rows[start : start + WRITE_CHUNK],
                update_conflicts=True,
                unique_fields=["customer_id"],
                update_fields=SCORED_FIELDS,
            )
        written += len(rows)
        if progress:
            progress("write-rows", written, total)
    CustomerIntelligence.objects.exclude(computed_at=computed_at).delete()
    return written


def _copy_replace(chunks: Iterable[dict[str, list]], total: int, progress: Progress) -> int:
    """DELETE every row, then COPY the new ones in: against an upsert through a staging table
    this writes the rows once, not twice. The COPY text is built column by column (one
    conversion per column kind, not psycopg's per-value dumpers: a third of the write)."""
    from psycopg.copy import QueuedLibpqWriter

    table = CustomerIntelligence._meta.db_table
    fields = [CustomerIntelligence._meta.get_field(name) for name in ["customer_id", *SCORED_FIELDS]]
    column_list = ", ".join(f.column for f in fields)
    written = 0
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - the model's own table name
        with (
            cursor.connection.cursor() as raw,
            # A writer thread sends each chunk while the next one is built: the server's
            # parsing (most of the write) overlaps the work here instead of waiting for it.
            raw.copy(f"COPY {table} ({column_list}) FROM STDIN", writer=QueuedLibpqWriter(raw)) as copy,
        ):
            for values in chunks:
                text = [_copy_column(f, values[f.name]) for f in fields]
                copy.write("".join(["\t".join(row) + "\n" for row in zip(*text, strict=True)]))
                written += len(values["customer_id"])
                if progress:
                    progress("write-rows", written, total)
    return written


def _copy_column(field, values: list) -> list[str]:
    """One column's values in COPY text format."""
    import orjson
    from django.db.models import CharField, JSONField

    if isinstance(field, JSONField):
        return [orjson.dumps(v).decode().replace("\\", "\\\\") for v in values]
    if isinstance(field, CharField):
        return [_NULL if v is None else v.translate(_ESCAPES) for v in values]
    if field.is_relation:
        values = [None if v is None else v.pk for v in values]
    # Numbers, dates, datetimes and booleans: str() is valid COPY input for each.
    return [_NULL if v is None else str(v) for v in values]


def customers_rescore(*, customer_ids: list[str]) -> int:
    """Re-score a few customers with the active model (cheap, incremental); 0 when no model is trained."""
    version = registry.active_version_get()
    if version is None or not customer_ids:
        return 0
    as_of = scoring_as_of(version=version)
    data = frame_loader.frames_load(as_of=as_of, customer_ids=customer_ids)
    if not any(len(frame) for frame in data.values()):
        return 0
    scores = scores_compute(version=version, data=data, as_of=as_of)
    rows = rows_from_scores(scores=scores, version=version, as_of=as_of, computed_at=timezone.now())
    CustomerIntelligence.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["customer_id"], update_fields=SCORED_FIELDS
    )
    return len(rows)


def scoring_as_of(*, version: ModelVersion) -> date:
    """The as_of of on-demand answers: the latest batch scoring's (else the training as_of), so that
    one customer's answer matches the batch; newer data counts from the next (hourly) batch scoring."""
    return version.scored_as_of or version.as_of


# --- scores -------------------------------------------------------------------------------------


def population_quantiles(*, version: ModelVersion) -> dict[str, list[float]]:
    """Quantiles (0..100) of value at risk, churn and predicted LTV over the scored population."""
    import numpy as np

    key = POPULATION_KEY.format(version=version.pk, as_of=version.scored_as_of)
    found = cache.get(key)
    if found is not None:
        return found
    values = np.array(
        CustomerIntelligence.objects.filter(model_version=version)
        .exclude(value_at_risk=None)
        .values_list("value_at_risk", "churn_probability", "predicted_ltv"),
        dtype=float,
    ).reshape(-1, 3)
    grid = np.linspace(0, 100, 101)
    found = {
        name: (np.percentile(values[:, i], grid).round(6).tolist() if len(values) else [])
        for i, name in enumerate(("value_at_risk", "churn_probability", "predicted_ltv"))
    }
    cache.set(key, found, 3600)
    return found


def _percentile(value: float | None, quantiles: list[float]) -> float:
    """Share (0..1) of the population at or below `value`."""
    import numpy as np

    if value is None or not quantiles:
        return 0.0
    return float(np.searchsorted(np.asarray(quantiles), value, side="right") - 1) / 100.0


CONTEXTS = ("support_priority", "retention", "value")


def customer_score(*, customer_id: str, scoring_context: str | dict[str, Any]) -> interface.CustomerScore:
    """0-100. support_priority: value at risk (churn x LTV) ranked against the population, blended
    with churn and value; retention: churn-led; value: LTV-led. A dict context may set `weights`."""
    from intelligence.services import analysis

    name, weights = _context_weights(scoring_context)
    intel = analysis.customer_analyze(customer_id=customer_id)
    version = registry.active_version_require()
    q = population_quantiles(version=version)
    churn = intel.churn.probability
    ltv = intel.ltv.predicted_spend
    components = {
        "value_at_risk": round(_percentile(churn * ltv, q["value_at_risk"]) * 100, 1),
        "churn": round(churn * 100, 1),
        "value": round(_percentile(ltv, q["predicted_ltv"]) * 100, 1),
    }
    score = sum(components[k] * w for k, w in weights.items()) / (sum(weights.values()) or 1.0)
    reasons = [
        f"value at risk {churn * ltv:.2f} ({components['value_at_risk']:.0f}th percentile)",
        f"{churn:.0%} chance of no order in {intel.churn.horizon_days} days ({intel.churn.risk_band} risk)",
        f"expected spend {ltv:.2f} in {intel.ltv.horizon_days} days ({components['value']:.0f}th percentile)",
    ]
    reasons += [f.label for f in intel.churn.top_factors[:2]]
    return interface.CustomerScore(
        customer_id=intel.customer_id,
        score=round(min(100.0, max(0.0, score)), 1),
        context=name,
        components=components,
        reasons=tuple(reasons),
    )


def _context_weights(context: str | dict[str, Any]) -> tuple[str, dict[str, float]]:
    presets = {
        "support_priority": {"value_at_risk": 0.6, "churn": 0.2, "value": 0.2},
        "retention": {"value_at_risk": 0.3, "churn": 0.6, "value": 0.1},
        "value": {"value_at_risk": 0.2, "churn": 0.0, "value": 0.8},
    }
    if isinstance(context, str):
        if context not in presets:
            raise InvalidQuery(f"Unknown scoring context {context!r}.", details={"contexts": list(CONTEXTS)})
        return context, presets[context]
    name = str(context.get("name") or context.get("context") or "support_priority")
    weights = dict(presets.get(name, presets["support_priority"]))
    custom = context.get("weights") or {}
    if not isinstance(custom, dict) or any(k not in weights for k in custom):
        raise InvalidQuery("weights may only set value_at_risk, churn and value.")
    try:
        weights.update({k: max(0.0, float(v)) for k, v in custom.items()})
    except (TypeError, ValueError) as exc:
        raise InvalidQuery("weights must be numbers.") from exc
    return name, weights
