"""This app's part of `manage.py seed_demo` (idempotent).

Warms the co-purchase matrix and send-time prior, and writes one offline draft
per goal for the most valuable demo customer so the admin log has content.
Runs once: a second run finds the demo drafts and adds nothing.
"""

from generation.models import GenerationLog

DEMO_REQUESTER = "demo"


def seed(*, stdout) -> None:
    from generation.services import maintenance
    from generation.services.messages import GOALS, message_generate

    items = maintenance.caches_refresh()
    stdout.write(f"generation: co-purchase matrix over {items} products")
    if GenerationLog.objects.filter(requester=DEMO_REQUESTER).exists():
        return
    from ingestion import interface as ingestion

    orders = ingestion.orders_frame()
    if orders.empty:
        return
    customer_id = str(orders.groupby("customer_id")["total"].sum().idxmax())
    try:
        for goal in GOALS:
            message_generate(customer_id=customer_id, context={"goal": goal}, requester=DEMO_REQUESTER)
    except Exception as exc:  # intelligence not trained yet: the demo drafts are optional
        if not hasattr(exc, "http_status"):
            raise
        stdout.write(f"generation: no demo drafts ({exc})")
        return
    stdout.write(f"generation: {len(GOALS)} demo drafts for customer {customer_id}")
