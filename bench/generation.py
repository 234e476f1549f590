"""Offline generation throughput: messages/s and p50/p99 latency, in-process and over HTTP.

    .venv/bin/python bench/generation.py [--n 2000] [--http-n 500]

Runs against a throw-away test database (nothing is written to the dev
database). Profiles are real CDNOW customers (generation.tests.profiles); each
request rotates through every goal x channel x tone with a support conversation.
HTTP goes through Django's full stack (middleware, X-API-Key auth, throttling,
serializers) with the test client; no sockets are opened.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "quimbi_site.settings")
os.environ.setdefault("GENERATION_BACKEND", "generation.backends.offline.OfflineBackend")


def _summary(name: str, latencies: list[float], wall: float) -> dict:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    result = {
        "name": name,
        "n": len(latencies),
        "per_second": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(p99 * 1000, 3),
    }
    print(
        f"{name:<22} n={result['n']:>5}  {result['per_second']:>8.1f} msg/s  "
        f"p50 {result['p50_ms']:>7.2f} ms  p99 {result['p99_ms']:>7.2f} ms"
    )
    return result


def _cases(profiles):
    from generation.services.messages import CHANNELS, GOALS, TONES

    texts = [
        "Where is my order #1001? It is late.",
        "I want a refund for order 52817",
        "I was charged twice on my card",
        "Please cancel purchase 8812",
    ]
    combos = list(itertools.product(profiles, GOALS, CHANNELS, TONES, texts))
    return itertools.cycle(combos)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--http-n", type=int, default=500)
    args = parser.parse_args(argv)

    import dataclasses

    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        from generation import interface
        from generation.tests.profiles import cdnow_profile, cdnow_sample_ids

        profiles = [cdnow_profile(i) for i in cdnow_sample_ids()]
        cases = _cases(profiles)

        def context(goal, channel, tone, text):
            return {
                "goal": goal,
                "channel": channel,
                "constraints": {"tone": tone, "length": "medium"},
                "conversation": [{"role": "customer", "text": text}],
            }

        for _ in range(50):  # warm-up
            p, g, c, t, x = next(cases)
            interface.generate_message(customer_profile=p, context=context(g, c, t, x))
        latencies = []
        started = time.perf_counter()
        for _ in range(args.n):
            p, g, c, t, x = next(cases)
            t0 = time.perf_counter()
            interface.generate_message(customer_profile=p, context=context(g, c, t, x))
            latencies.append(time.perf_counter() - t0)
        results = [_summary("in-process", latencies, time.perf_counter() - started)]

        # The composition alone (no profile parsing, no log row): what the database write costs.
        from generation.backends import MessageRequest, get_offline_backend
        from generation.services.conversation import conversation_read
        from generation.services.profiles import profile_resolve

        backend = get_offline_backend()
        resolved = {id(p): profile_resolve(customer_profile=p) for p in profiles}
        latencies = []
        started = time.perf_counter()
        for _ in range(args.n):
            p, g, c, t, x = next(cases)
            t0 = time.perf_counter()
            facts = conversation_read([{"role": "customer", "text": x}])
            backend.generate(
                MessageRequest(
                    profile=resolved[id(p)],
                    goal=g,
                    channel=c,
                    tone=t,
                    length="medium",
                    conversation=(("customer", x),),
                    facts=facts,
                )
            )
            latencies.append(time.perf_counter() - t0)
        results.append(_summary("compose only (no log)", latencies, time.perf_counter() - started))

        from rest_framework.test import APIClient

        from quimbi_site.api.throttling import ScopedDatabaseThrottle
        from quimbi_site.models import ClientApiKey

        ScopedDatabaseThrottle.THROTTLE_RATES = {
            **ScopedDatabaseThrottle.THROTTLE_RATES,
            "generation": "1000000/min",
        }
        _, key = ClientApiKey.objects.create_key(name="bench")
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=key)
        payloads = {id(p): json.loads(json.dumps(dataclasses.asdict(p), default=str)) for p in profiles}
        latencies = []
        started = time.perf_counter()
        for _ in range(args.http_n):
            p, g, c, t, x = next(cases)
            body = {"customer_profile": payloads[id(p)], "context": context(g, c, t, x)}
            t0 = time.perf_counter()
            response = client.post("/api/generation/message", body, format="json")
            latencies.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.content
        results.append(_summary("http (test client)", latencies, time.perf_counter() - started))
        print(f"database: {connection.vendor}")
        return {"benchmark": "generation", "database": connection.vendor, "results": results}
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
