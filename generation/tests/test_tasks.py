from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from generation import tasks
from generation.models import GenerationLog, TokenUsage
from generation.tests.factories import GenerationLogFactory, TokenUsageFactory

pytestmark = pytest.mark.django_db


def test_logs_purge_is_idempotent():
    old = GenerationLogFactory()
    GenerationLog.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=120))
    GenerationLogFactory()
    TokenUsageFactory(day=timezone.now().date() - timedelta(days=200))
    TokenUsageFactory(day=timezone.now().date())
    assert tasks.generation_logs_purge.delay(90).get() == 1
    assert tasks.generation_logs_purge.delay(90).get() == 0
    assert GenerationLog.objects.count() == 1 and TokenUsage.objects.count() == 1


def test_caches_refresh_and_demo_seed_are_idempotent(monkeypatch):
    import io

    from generation.tests.profiles import shop_profile
    from intelligence import interface as intelligence

    # Until stored customers are scored, the platform answer is the customer's own history.
    monkeypatch.setattr(
        intelligence, "analyze_customer", lambda *, customer_id, context=None: shop_profile(customer_id)
    )

    call_command("generate_shop", customers=40, seed=5, verbosity=0)
    assert tasks.generation_caches_refresh.delay().get() > 0
    from generation import demo

    out = io.StringIO()
    demo.seed(stdout=out)
    first = GenerationLog.objects.count()
    assert first == 7
    demo.seed(stdout=out)
    assert GenerationLog.objects.count() == first
