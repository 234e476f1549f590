"""Support app: queue and ticket page latency with 10,000 tickets, SLA due-time computations/s.

    .venv/bin/python bench/support.py [--tickets 10000] [--requests 30] [--due-n 20000]

Runs in a throw-away test database (`test_<name>` of DATABASE_URL; SQLite or PostgreSQL).
Pages go through Django's full stack (middleware, session auth, templates) with the test client.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quimbi_site.settings")


def _latency(name: str, fn, n: int) -> dict:
    fn()  # warm-up (template compilation, connection)
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    ordered = sorted(samples)
    out = {
        "name": name,
        "n": n,
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[min(n - 1, int(n * 0.95))] * 1000, 1),
    }
    print(f"{name:<40} n={n:>4}  p50 {out['p50_ms']:>7.1f} ms  p95 {out['p95_ms']:>7.1f} ms")
    return out


def _build(n_tickets: int):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from support.models import Agent, BusinessCalendar, Message, SLAPolicy, SLATimer, Team, Ticket
    from support.services import tickets

    rng = random.Random(7)
    cal = BusinessCalendar.objects.create(
        name="Berlin",
        timezone="Europe/Berlin",
        holiday_country="DE",
        weekly_hours={str(d): [["09:00", "17:00"]] for d in range(5)},
    )
    SLAPolicy.objects.create(
        name="Default",
        calendar=cal,
        targets={
            p: {"first_response": 60, "next_response": 120, "resolution": 960}
            for p in ("low", "normal", "high", "urgent")
        },
    )
    teams = [Team.objects.create(name=f"Team {i}", slug=f"team-{i}", auto_assign=False) for i in range(3)]
    user = get_user_model().objects.create_user("bench-agent", password="bench-pass-123")
    agent = Agent.objects.create(user=user, status="online", capacity=50)
    agent.teams.set(teams)
    now = timezone.now()
    statuses = ["new", "open", "open", "pending", "solved"]
    rows = [
        Ticket(
            subject=f"Order problem {i}",
            customer_id=f"c-{i % 2000}",
            requester_name=f"Customer {i}",
            requester_email=f"c{i}@example.com",
            status=rng.choice(statuses),
            priority=rng.choice(["low", "normal", "high", "urgent"]),
            team=teams[i % 3],
            assignee=agent if i % 7 == 0 else None,
            tags=["bench", f"t{i % 10}"],
            value_at_risk=rng.random() * 100,
            churn_probability=rng.random(),
            predicted_ltv=rng.random() * 2000,
            sla_due_at=now + timedelta(minutes=rng.randint(-600, 6000)),
            created_at=now - timedelta(minutes=i),
            updated_at=now,
        )
        for i in range(n_tickets)
    ]
    Ticket.objects.bulk_create(rows, batch_size=2000)
    ids = list(Ticket.objects.values_list("pk", flat=True))
    SLATimer.objects.bulk_create(
        [
            SLATimer(
                ticket_id=pk,
                metric="first_response",
                target_minutes=60,
                started_at=now,
                running_since=now,
                due_at=now + timedelta(hours=1),
            )
            for pk in ids
        ],
        batch_size=2000,
    )
    Message.objects.bulk_create(
        [
            Message(ticket_id=pk, author_kind="customer", body="Where is my order?", created_at=now)
            for pk in ids
        ],
        batch_size=2000,
    )
    detail = tickets.ticket_create(
        subject="Bench ticket", body="Hello", team=teams[0], customer_id="c-1", auto_assign=False
    )
    for i in range(20):
        tickets.message_add(
            ticket=detail, body=f"Message {i}", author_kind="customer" if i % 2 else "agent", agent=agent
        )
    return user, detail, cal


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--due-n", type=int, default=20_000)
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    # The test environment instruments template rendering (context copies per template);
    # restore the real renderer so page timings are production-like.
    from django.template import Template
    from django.test import utils as test_utils

    Template._render = test_utils._TestState.saved_data.template_render
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    results: dict = {"database": connection.vendor}
    try:
        from support import platform
        from support.services.calendar import add_business_minutes
        from support.services.sla import calendar_compiled

        # Pages measure the support app itself: the platform answers "unavailable" at once.
        for name in ("customer_intelligence", "customer_score", "recent_orders"):
            setattr(platform.InProcessPlatformClient, name, lambda self, **kw: None)
        t0 = time.perf_counter()
        user, detail, cal = _build(args.tickets)
        print(
            f"support bench on {connection.vendor}: {args.tickets:,} tickets built in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        client = Client()
        client.force_login(user)
        results["pages"] = [
            _latency("queue, All, by value at risk", lambda: client.get("/support/?view=all"), args.requests),
            _latency(
                "queue, All, by SLA due, page 100",
                lambda: client.get("/support/?view=all&sort=due&page=100"),
                args.requests,
            ),
            _latency(
                "queue, Breaching soon, filtered",
                lambda: client.get("/support/?view=breaching&priority=high"),
                args.requests,
            ),
            _latency(
                "ticket page (21 messages, SLA, sidebar)",
                lambda: client.get(f"/support/tickets/{detail.pk}/"),
                args.requests,
            ),
        ]
        compiled = calendar_compiled(calendar=cal)
        rng = random.Random(1)
        base = datetime(2026, 1, 1, tzinfo=UTC)
        starts = [
            (base + timedelta(minutes=rng.randint(0, 525_600)), rng.choice([30, 60, 240, 960, 2400]))
            for _ in range(args.due_n)
        ]
        start = time.perf_counter()
        for when, minutes in starts:
            add_business_minutes(compiled, when, minutes)
        seconds = time.perf_counter() - start
        results["due_per_second"] = round(args.due_n / seconds)
        print(
            f"SLA due times (Berlin calendar, DE holidays): {args.due_n:,} in {seconds:.2f} s = "
            f"{results['due_per_second']:,}/s"
        )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return results


if __name__ == "__main__":
    main()
