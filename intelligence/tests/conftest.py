"""A model trained once per test session on the real CDNOW sample, stored per module.

Training (~30 s) happens once; each module that asks for `trained` ingests CDNOW,
stores that bundle as the active version, scores everyone, and cleans up after itself
so other apps' tests never see this data.
"""

from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command

CDNOW = Path(settings.BASE_DIR).parent / "shared" / "data" / "cdnow" / "CDNOW_sample.txt"
AS_OF = "1997-09-30"
HORIZON = 273
_BUNDLE: dict = {}


def _wipe() -> None:
    from django.core.cache import cache

    for label in ("intelligence", "ingestion"):
        for model in reversed(list(apps.get_app_config(label).get_models())):
            model.objects.all().delete()
    cache.clear()


@pytest.fixture(scope="module")
def trained(django_db_setup, django_db_blocker):
    if not CDNOW.exists():
        pytest.skip(f"CDNOW sample not found at {CDNOW}")
    from datetime import date

    from intelligence.models import ModelVersion
    from intelligence.services import registry

    with django_db_blocker.unblock():
        _wipe()
        call_command("ingest_file", str(CDNOW), "--source", "cdnow", "--format", "cdnow", verbosity=0)
        if "bundle" not in _BUNDLE:
            call_command("train_models", "--as-of", AS_OF, "--horizon-days", str(HORIZON), verbosity=0)
            version = ModelVersion.objects.get(active=True)
            _BUNDLE["bundle"] = registry.artifact_load(version=version)
        else:
            registry.version_store(
                bundle=_BUNDLE["bundle"],
                as_of=date.fromisoformat(AS_OF),
                horizon_days=HORIZON,
                customers=2357,
                seconds=0,
            )
        call_command("score_customers", "--as-of", AS_OF, verbosity=0)
        version = ModelVersion.objects.defer("artifact").get(active=True)
    yield version
    with django_db_blocker.unblock():
        _wipe()


@pytest.fixture
def customer_id(trained) -> str:
    """A real customer with several orders and a stored row."""
    from intelligence.models import CustomerIntelligence

    return CustomerIntelligence.objects.filter(order_count__gte=3).order_by("customer_id").first().customer_id
