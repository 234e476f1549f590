"""Train every model kind on the ingested data and register the result."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date

from django.conf import settings

from intelligence.errors import NoTrainingData
from intelligence.models import ModelVersion
from intelligence.services import frames as frame_loader
from intelligence.services import registry

Progress = Callable[[str, int, int], None] | None


def default_horizon_days() -> int:
    return int(getattr(settings, "QUIMBI_INTELLIGENCE_HORIZON_DAYS", 365))


def models_train(
    *,
    as_of: date | None = None,
    horizon_days: int | None = None,
    progress: Progress = None,
    activate: bool = True,
) -> ModelVersion:
    """Load every customer's frames before as_of, train the bundle, store and activate it."""
    from intelligence.ml import training as ml_training

    started = time.perf_counter()
    horizon_days = int(horizon_days or default_horizon_days())
    if progress:
        progress("load", 0, 1)
    if as_of is None:
        data = frame_loader.frames_load(as_of=None)
        as_of = frame_loader.default_as_of(orders=data["orders"])
        data = frame_loader.frames_before(data=data, as_of=as_of)
    else:
        data = frame_loader.frames_load(as_of=as_of)
    if not len(data["orders"]):
        raise NoTrainingData(f"There are no orders before {as_of} to train on.")
    if progress:
        progress("load", 1, 1)
    bundle = ml_training.train_all(
        data["orders"],
        data["lines"],
        data["interactions"],
        data["events"],
        as_of=as_of,
        horizon_days=horizon_days,
        progress=progress,
        **_threads(),
    )
    return registry.version_store(
        bundle=bundle,
        as_of=as_of,
        horizon_days=horizon_days,
        customers=int(data["orders"]["customer_id"].nunique()),
        seconds=time.perf_counter() - started,
        activate=activate,
    )


def _threads() -> dict:
    threads = getattr(settings, "QUIMBI_ML_THREADS", None)
    return {"threads": int(threads)} if threads else {}
