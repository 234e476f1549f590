"""The model registry: store, activate, roll back and load trained bundles."""

from __future__ import annotations

import pickle
import threading
import zlib
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from intelligence.errors import ModelNotReady
from intelligence.models import Archetype, ModelVersion

ACTIVE_CACHE_KEY = "intel:active-version"
ACTIVE_CACHE_SECONDS = 300
# (version pk, trained_at) -> unpickled bundle. Artefacts never change once stored; trained_at keeps a
# re-created or restored database, whose pks start again, from handing out another database's model.
_ARTIFACTS: dict[tuple, Any] = {}
_ARTIFACTS_LOCK = threading.Lock()


def artifact_dump(*, bundle: Any) -> bytes:
    return zlib.compress(pickle.dumps(bundle, protocol=pickle.HIGHEST_PROTOCOL), 3)


def artifact_load(*, version: ModelVersion) -> Any:
    """The bundle of a version, unpickled once per process (artefacts never change)."""
    key = (version.pk, version.trained_at)
    bundle = _ARTIFACTS.get(key)
    if bundle is None:
        raw = None if "artifact" in version.get_deferred_fields() else version.artifact
        if raw is None or not len(raw):
            rows = ModelVersion.objects.filter(pk=version.pk, trained_at=version.trained_at)
            raw = rows.values_list("artifact", flat=True).first()
        if raw is None:  # the cached active version is gone (database re-created or restored)
            _forget_active(version.kind)
            raise ModelNotReady(f"Model version {version.pk} no longer exists; ask again.")
        bundle = pickle.loads(zlib.decompress(bytes(raw)))  # noqa: S301 - our own artefact from our DB
        with _ARTIFACTS_LOCK:
            _ARTIFACTS[key] = bundle
    return bundle


def active_version_get(*, kind: str = ModelVersion.Kind.BUNDLE) -> ModelVersion | None:
    """The active version (without its artefact), cached briefly: it changes only on activation."""
    key = f"{ACTIVE_CACHE_KEY}:{kind}"
    version = cache.get(key)
    if version is None:
        version = ModelVersion.objects.defer("artifact").filter(kind=kind, active=True).first()
        cache.set(key, version or False, ACTIVE_CACHE_SECONDS)
    return version or None


def active_warm() -> bool:
    """Unpickle the active bundle into this process's cache and build its explanation tables;
    False when none is active."""
    version = active_version_get()
    if version is None:
        return False
    artifact_load(version=version).churn.warm()
    return True


def active_version_require(*, kind: str = ModelVersion.Kind.BUNDLE) -> ModelVersion:
    version = active_version_get(kind=kind)
    if version is None:
        raise ModelNotReady("No trained model is active yet; run `manage.py train_models`.")
    return version


def _forget_active(kind: str) -> None:
    cache.delete(f"{ACTIVE_CACHE_KEY}:{kind}")


@transaction.atomic
def version_activate(*, version: ModelVersion) -> ModelVersion:
    """Make `version` the only active one of its kind."""
    ModelVersion.objects.filter(kind=version.kind, active=True).exclude(pk=version.pk).update(active=False)
    version.active = True
    version.activated_at = timezone.now()
    version.save(update_fields=["active", "activated_at"])
    transaction.on_commit(lambda: _forget_active(version.kind))
    return version


@transaction.atomic
def version_rollback(*, kind: str = ModelVersion.Kind.BUNDLE) -> ModelVersion:
    """Activate the version trained before the active one of `kind`."""
    current = ModelVersion.objects.defer("artifact").filter(kind=kind, active=True).first()
    if current is None:
        raise ModelNotReady(f"No active {kind} model to roll back from.")
    previous = (
        ModelVersion.objects.defer("artifact")
        .filter(kind=kind, trained_at__lte=current.trained_at)
        .exclude(pk=current.pk)
        .order_by("-trained_at", "-id")
        .first()
    )
    if previous is None:
        raise ModelNotReady(f"There is no {kind} model older than {current.label}.")
    return version_activate(version=previous)


@transaction.atomic
def version_store(
    *, bundle: Any, as_of, horizon_days: int, customers: int, seconds: float, activate: bool = True
) -> ModelVersion:
    """Store a trained bundle with its archetypes; activate it unless told otherwise."""
    start, end = (*tuple(bundle.training_window), None, None)[:2]
    blob = artifact_dump(bundle=bundle)
    version = ModelVersion.objects.create(
        kind=ModelVersion.Kind.BUNDLE,
        artifact=blob,
        artifact_bytes=len(blob),
        parameters=_jsonable(bundle.params),
        metrics=_jsonable(bundle.metrics),
        training_start=start,
        training_end=end,
        as_of=as_of,
        horizon_days=horizon_days,
        customers_trained=customers,
        training_seconds=round(seconds, 2),
    )
    Archetype.objects.bulk_create(
        Archetype(
            model_version=version,
            key=str(a["archetype_id"])[:200],
            name=str(a["name"])[:200],
            centroid=_jsonable(a.get("centroid") or {}),
            size=int(a.get("size") or 0),
        )
        for a in bundle.archetypes
    )
    with _ARTIFACTS_LOCK:
        _ARTIFACTS[version.pk] = bundle
    if activate:
        version_activate(version=version)
    return version


def _jsonable(value: Any) -> Any:
    """Plain JSON (NaN/inf -> None, numpy scalars and dates -> Python)."""
    import math

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item") and not hasattr(value, "__len__"):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
