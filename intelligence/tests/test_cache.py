"""Cached answers never outlive a scoring run or new data, whichever process wrote them.

A run in another process (the CLI, a Celery worker) cannot reach this process's local-memory
cache, so those tests write what the run writes and leave the cache alone."""

import pytest
from django.core.cache import cache
from django.utils import timezone

from intelligence import interface
from intelligence.models import CustomerIntelligence
from intelligence.services import scoring

pytestmark = pytest.mark.django_db


def _rescored_elsewhere(customer_id: str, **scores) -> None:
    """What a scoring run in another process leaves behind: a row with a new computed_at."""
    CustomerIntelligence.objects.filter(customer_id=customer_id).update(computed_at=timezone.now(), **scores)


def test_a_batch_scoring_run_is_seen_on_the_next_read(trained, customer_id):
    first = interface.analyze_customer(customer_id=customer_id)
    scoring.population_quantiles(version=trained)
    population_key = scoring.POPULATION_KEY.format(version=trained.pk, as_of=trained.scored_as_of)
    assert cache.get(population_key) is not None

    scoring.customers_score_all(as_of=trained.scored_as_of)

    after = interface.analyze_customer(customer_id=customer_id)
    row = CustomerIntelligence.objects.get(customer_id=customer_id)
    assert not after.cached
    assert after.computed_at == row.computed_at > first.computed_at
    assert cache.get(population_key) is None  # same as_of, same key: the run dropped it


def test_a_batch_run_in_another_process_is_seen_and_then_cached(
    trained, customer_id, django_assert_num_queries
):
    first = interface.analyze_customer(customer_id=customer_id)
    assert interface.analyze_customer(customer_id=customer_id).cached
    _rescored_elsewhere(customer_id, churn_probability=0.97, risk_band="high", predicted_ltv=1234.5)

    after = interface.analyze_customer(customer_id=customer_id)
    assert not after.cached
    assert after.churn.probability == 0.97 and after.churn.risk_band == "high"
    assert after.ltv.predicted_spend == 1234.5 != first.ltv.predicted_spend
    with django_assert_num_queries(1):  # the row's stamp; the answer itself comes from the cache
        again = interface.analyze_customer(customer_id=customer_id)
    assert again.cached and again.churn == after.churn


def test_a_per_customer_rescore_in_another_process_is_seen(trained, customer_id):
    _rescored_elsewhere(customer_id, churn_probability=0.01, predicted_ltv=0.5)
    assert interface.analyze_customer(customer_id=customer_id).churn.probability == 0.01  # now cached

    # What the customer_rescore task runs in a worker: it writes the row, never this cache.
    assert scoring.customers_rescore(customer_ids=[customer_id]) == 1

    after = interface.analyze_customer(customer_id=customer_id)
    row = CustomerIntelligence.objects.get(customer_id=customer_id)
    assert not after.cached
    assert after.churn.probability == row.churn_probability != 0.01
    assert after.ltv.predicted_spend == row.predicted_ltv != 0.5


def test_new_data_marked_in_another_process_is_seen(trained, customer_id):
    interface.analyze_customer(customer_id=customer_id)
    # customers_invalidate in the ingesting process marks the row stale; its cache is not ours.
    CustomerIntelligence.objects.filter(customer_id=customer_id).update(stale=True)

    assert not interface.analyze_customer(customer_id=customer_id).cached
    assert interface.analyze_customer(customer_id=customer_id).cached


def test_an_answer_cached_before_stamps_existed_is_a_miss(trained, customer_id):
    from intelligence.services import cache as intel_cache

    intel = interface.analyze_customer(customer_id=customer_id)
    cache.set(intel_cache.cache_key(customer_id=customer_id, version_id=trained.pk), intel)

    assert not interface.analyze_customer(customer_id=customer_id).cached
