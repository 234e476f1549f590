"""Celery entry points: thin, idempotent, primitives only.

Scoring upserts one row per customer, so a run redone after its worker was lost
(acks_late, reject_on_worker_lost) replaces what the lost run wrote.
"""

from celery import shared_task


@shared_task(name="intelligence.models_train", acks_late=True)
def models_train(as_of: str | None = None, horizon_days: int | None = None) -> int:
    from datetime import date

    from intelligence.services import training

    version = training.models_train(
        as_of=date.fromisoformat(as_of) if as_of else None, horizon_days=horizon_days
    )
    return version.pk


@shared_task(name="intelligence.customers_score_all", acks_late=True, reject_on_worker_lost=True)
def customers_score_all(as_of: str | None = None) -> int:
    from datetime import date

    from intelligence.errors import ModelNotReady
    from intelligence.services import scoring

    try:
        return scoring.customers_score_all(as_of=date.fromisoformat(as_of) if as_of else None)
    except ModelNotReady:
        return 0  # nothing trained yet: the nightly training will make a model


@shared_task(name="intelligence.customer_rescore", acks_late=True, reject_on_worker_lost=True)
def customer_rescore(customer_ids: list[str]) -> int:
    from intelligence.services import scoring

    return scoring.customers_rescore(customer_ids=[str(c) for c in customer_ids])
