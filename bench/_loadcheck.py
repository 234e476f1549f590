"""The exactly-once check of bench/loadtest.py: every record the API reported as stored is
stored exactly once, and duplicates and Idempotency-Key retries stored nothing.

Input is the batch log the locust users write (bench/_locustfile.py), one JSON object per
ingestion request:

    {"kind": "orders" | "interactions" | "events",
     "mode": "new" | "mixed" | "retry",
     "status": 200,                 # 0 when the request got no answer
     "replayed": false,             # the Idempotent-Replayed response header
     "key": "..." | null,           # the Idempotency-Key sent, if any
     "new": [[record_id, lines], ...],   # records sent for the first time (lines: orders only)
     "old": [record_id, ...],            # records sent before: deliberate duplicates, retries
     "counts": {"accepted": 3, "duplicates": 0, "updated": 0, "rejected": 0} | null}

"new" batches carry only first-time records; "mixed" ones add records of earlier answered
batches; "retry" re-sends a batch answered 200 with the same Idempotency-Key and must get
the first answer replayed. A record whose request got no 200 answer may or may not be
stored (the server may have committed before the client gave up): it is "uncertain" and
allowed in the database at most once, but is never counted as accepted.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("orders", "interactions", "events")


@dataclass
class KindCheck:
    """Figures of one kind of record for one load source."""

    kind: str
    accepted: int = 0  # distinct records the API reported as newly stored
    uncertain: int = 0  # records of requests without a 200 answer
    duplicates_sent: int = 0  # records re-sent in mixed batches (must add nothing)
    retried: int = 0  # records re-sent with a replayed Idempotency-Key (must add nothing)
    stored: int = 0  # rows in the database for the source
    stored_uncertain: int = 0
    lines_expected: int = 0  # orders only: lines of the accepted orders as sent
    lines_stored: int = 0


@dataclass
class CheckReport:
    source: str
    kinds: dict[str, KindCheck]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def batches_read(directory: Path) -> list[dict]:
    """Every batch record of every locust process (files batches-*.jsonl in `directory`)."""
    out = []
    for path in sorted(directory.glob("batches-*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            out.extend(json.loads(line) for line in fh if line.strip())
    return out


def exactly_once_check(*, source: str, batches: Iterable[dict], max_listed: int = 5) -> CheckReport:
    """Compare what the API answered (`batches`) with what the database holds for `source`."""
    batches = list(batches)
    report = CheckReport(source=source, kinds={k: KindCheck(kind=k) for k in KINDS})
    for kind in KINDS:
        mine = [b for b in batches if b["kind"] == kind]
        _check_kind(report, report.kinds[kind], mine, _stored(kind, source), max_listed)
    return report


def _check_kind(report: CheckReport, fig: KindCheck, batches: list[dict], stored, max_listed) -> None:
    rows, lines = stored
    problems: list[str] = []
    accepted: dict[str, int] = {}  # record id -> lines sent
    uncertain: set[str] = set()
    first_sends = Counter()
    by_key = {b["key"]: b for b in batches if b.get("key") and b["mode"] != "retry" and b["status"] == 200}
    for b in batches:
        new = {rid: n for rid, n in b["new"]}
        first_sends.update(new.keys())
        answered = b["status"] == 200 and b.get("counts") is not None
        if b["mode"] == "retry":
            fig.retried += len(b["old"])
            if answered:
                problems.extend(_retry_problems(fig.kind, b, by_key.get(b.get("key"))))
            continue
        fig.duplicates_sent += len(b["old"])
        if not answered:
            uncertain.update(new)
            continue
        counts = b["counts"]
        expected = {"accepted": len(new), "duplicates": len(b["old"]), "updated": 0, "rejected": 0}
        got = {k: counts.get(k, 0) for k in expected}
        if got != expected:
            problems.append(f"{fig.kind} {b['mode']} batch answered {got}, expected {expected}")
            uncertain.update(new)  # the answer does not say which records were stored
            continue
        accepted.update(new)
    twice = [rid for rid, n in first_sends.items() if n > 1]
    if twice:
        problems.append(f"{fig.kind}: {len(twice)} ids sent as new more than once, e.g. {twice[:max_listed]}")
    uncertain -= accepted.keys()

    fig.accepted, fig.uncertain = len(accepted), len(uncertain)
    fig.stored = sum(rows.values())
    fig.stored_uncertain = sum(1 for rid in uncertain if rid in rows)
    missing = [rid for rid in accepted if rows.get(rid, 0) == 0]
    repeated = [rid for rid, n in rows.items() if n > 1]
    unreported = [rid for rid in rows if rid not in accepted and rid not in uncertain]
    if missing:
        problems.append(
            f"{fig.kind}: {len(missing)} accepted records not stored, e.g. {missing[:max_listed]}"
        )
    if repeated:
        problems.append(
            f"{fig.kind}: {len(repeated)} records stored more than once, e.g. {repeated[:max_listed]}"
        )
    if unreported:
        problems.append(
            f"{fig.kind}: {len(unreported)} stored records never reported as accepted, "
            f"e.g. {unreported[:max_listed]}"
        )
    if lines is not None:
        fig.lines_expected = sum(accepted.values())
        fig.lines_stored = sum(lines.get(rid, 0) for rid in accepted)
        wrong = [rid for rid, n in accepted.items() if rid in rows and lines.get(rid, 0) != n]
        if wrong:
            problems.append(
                f"{fig.kind}: {len(wrong)} orders with a different number of lines than sent, "
                f"e.g. {wrong[:max_listed]}"
            )
    report.problems.extend(problems)


def _retry_problems(kind: str, retry: dict, first: dict | None) -> list[str]:
    """A retry with the same Idempotency-Key must replay the first answer, byte for byte."""
    if not retry.get("replayed"):
        return [f"{kind} retry with Idempotency-Key {retry.get('key')!r} was not a replay"]
    if first is not None and first.get("counts") != retry.get("counts"):
        return [f"{kind} replay of {retry.get('key')!r} answered {retry['counts']}, first {first['counts']}"]
    return []


def _stored(kind: str, source: str) -> tuple[dict[str, int], dict[str, int] | None]:
    """(rows per record id, lines per order id or None) in the database for `source`."""
    from django.db.models import Count

    from ingestion.models import Event, Interaction, Order

    model, key = {
        "orders": (Order, "external_id"),
        "interactions": (Interaction, "external_id"),
        "events": (Event, "message_id"),
    }[kind]
    rows = dict(model.objects.filter(source=source).values(key).annotate(n=Count("id")).values_list(key, "n"))
    if kind != "orders":
        return rows, None
    lines = dict(
        Order.objects.filter(source=source)
        .annotate(n=Count("lines"))
        .values_list("external_id", "n")
        .order_by()
    )
    return rows, lines


def report_print(report: CheckReport) -> None:
    print(f"\nExactly-once check (source {report.source!r})")
    print(
        f"{'kind':<13} {'accepted':>9} {'stored':>9} {'uncertain':>10} {'dups sent':>10} {'retried':>8}"
        f" {'lines sent':>11} {'lines stored':>13}"
    )
    for fig in report.kinds.values():
        lines = (
            f" {fig.lines_expected:>11,} {fig.lines_stored:>13,}"
            if fig.kind == "orders"
            else f" {'':>11} {'':>13}"
        )
        uncertain = f"{fig.stored_uncertain}/{fig.uncertain}"
        print(
            f"{fig.kind:<13} {fig.accepted:>9,} {fig.stored:>9,} {uncertain:>10} {fig.duplicates_sent:>10,}"
            f" {fig.retried:>8,}{lines}"
        )
    if report.ok:
        print("PASSED: every accepted record is stored exactly once; duplicates and retries added nothing.")
    else:
        print("FAILED:")
        for problem in report.problems:
            print(f"  - {problem}")
