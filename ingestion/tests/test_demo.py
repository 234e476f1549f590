"""The ingestion part of seed_demo: CDNOW sample + a generated shop, idempotent."""

from io import StringIO

import pytest

from ingestion import demo
from ingestion.models import Customer, Event, Interaction, Order

pytestmark = pytest.mark.django_db


def _counts():
    return (
        Order.objects.filter(source="cdnow").count(),
        Order.objects.filter(source="shop").count(),
        Interaction.objects.count(),
        Event.objects.count(),
        Customer.objects.count(),
    )


def test_seed_loads_cdnow_and_a_shop_and_is_idempotent(monkeypatch):
    monkeypatch.setenv("QUIMBI_DEMO_CUSTOMERS", "25")
    if not demo._cdnow_path().exists():
        pytest.skip("CDNOW sample not available")
    demo.seed(stdout=StringIO())
    first = _counts()
    assert first[0] == 6919
    assert first[1] > 25 and first[2] > 0 and first[3] > 0
    assert first[4] == 2357 + 25

    out = StringIO()
    demo.seed(stdout=out)
    assert _counts() == first
    assert "orders 0 new" in out.getvalue()
