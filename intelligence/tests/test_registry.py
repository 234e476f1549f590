"""The registry's process and shared caches stay right when the database under them changes."""

from datetime import date

import pytest
from django.core.cache import cache

from intelligence.errors import ModelNotReady
from intelligence.models import ModelVersion
from intelligence.services import registry

pytestmark = pytest.mark.django_db


def _version(bundle) -> ModelVersion:
    return ModelVersion.objects.create(
        artifact=registry.artifact_dump(bundle=bundle), as_of=date(2026, 1, 1), horizon_days=90, active=True
    )


def test_a_cached_active_version_that_is_gone_is_forgotten_not_a_crash():
    cache.clear()
    _version({"model": "first"})
    assert registry.artifact_load(version=registry.active_version_get()) == {"model": "first"}
    registry._ARTIFACTS.clear()  # a new process: only the shared cache still names the version
    ModelVersion.objects.all().delete()  # the database is re-created under it
    with pytest.raises(ModelNotReady):
        registry.artifact_load(version=registry.active_version_get())
    assert registry.active_version_get() is None  # the next call looks again


def test_a_new_database_reusing_a_pk_never_gets_the_old_bundle():
    cache.clear()
    old = _version({"model": "old"})
    assert registry.artifact_load(version=registry.active_version_get()) == {"model": "old"}
    ModelVersion.objects.all().delete()
    cache.clear()
    new = _version({"model": "new"})
    ModelVersion.objects.filter(pk=new.pk).update(id=old.pk)  # the restored database's sequence starts again
    assert registry.artifact_load(version=registry.active_version_get()) == {"model": "new"}


class _Churn:
    warmed = False

    def warm(self):
        self.warmed = True


class _Bundle:
    def __init__(self, name):
        self.name, self.churn = name, _Churn()


def test_models_warm_loads_the_active_bundle_once():
    from intelligence.interface import models_warm

    cache.clear()
    registry._ARTIFACTS.clear()
    assert models_warm() is False
    _version(_Bundle("warm"))
    cache.clear()  # made active behind the registry's back: forget its "none active" answer
    assert models_warm() is True
    [bundle] = registry._ARTIFACTS.values()
    assert bundle.name == "warm" and bundle.churn.warmed
