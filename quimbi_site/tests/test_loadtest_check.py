"""The exactly-once check of `make loadtest` (bench/_loadcheck.py) against the test database.

Records are stored through the ingestion interface; the batch log is written by hand the
way bench/_locustfile.py writes it, so each test states what the API answered.
"""

import pytest

from bench._loadcheck import exactly_once_check
from ingestion import interface as ingestion

pytestmark = pytest.mark.django_db

SOURCE = "load-check"
COUNTS_NEW_2 = {"accepted": 2, "duplicates": 0, "updated": 0, "rejected": 0}


def _order(external_id: str, lines: int) -> dict:
    return {
        "external_id": external_id,
        "customer_id": "c-1",
        "placed_at": "2026-01-05T10:00:00Z",
        "total": 10 * lines,
        "lines": [{"sku": f"SKU-{i}", "quantity": 1, "unit_price": 10} for i in range(lines)],
    }


def _store(*orders: dict) -> None:
    result = ingestion.ingest_orders(source=SOURCE, records=list(orders))
    assert result.accepted == len(orders)


def _batch(mode="new", new=(), old=(), counts=None, status=200, key=None, replayed=False, kind="orders"):
    return {
        "kind": kind,
        "mode": mode,
        "status": status,
        "replayed": replayed,
        "key": key,
        "new": [list(pair) for pair in new],
        "old": list(old),
        "counts": counts,
    }


@pytest.fixture
def two_orders():
    """o1 (2 lines) and o2 (1 line) stored, and the answered batch that stored them."""
    _store(_order("o1", 2), _order("o2", 1))
    return _batch(new=[("o1", 2), ("o2", 1)], counts=COUNTS_NEW_2, key="k1")


def test_clean_run_passes_with_duplicates_and_a_replayed_retry(two_orders):
    _store(_order("o3", 1))
    batches = [
        two_orders,
        _batch(
            mode="mixed",
            new=[("o3", 1)],
            old=["o1"],
            counts={"accepted": 1, "duplicates": 1, "updated": 0, "rejected": 0},
        ),
        _batch(mode="retry", old=["o1", "o2"], counts=COUNTS_NEW_2, key="k1", replayed=True),
    ]

    report = exactly_once_check(source=SOURCE, batches=batches)

    assert report.problems == []
    orders = report.kinds["orders"]
    assert (orders.accepted, orders.stored, orders.duplicates_sent, orders.retried) == (3, 3, 1, 2)
    assert (orders.lines_expected, orders.lines_stored) == (4, 4)
    assert report.kinds["events"].stored == 0


def test_an_accepted_record_missing_from_the_database_fails(two_orders):
    lost = _batch(new=[("o9", 1)], counts={"accepted": 1, "duplicates": 0, "updated": 0, "rejected": 0})

    report = exactly_once_check(source=SOURCE, batches=[two_orders, lost])

    assert not report.ok
    assert any("1 accepted records not stored" in p and "o9" in p for p in report.problems)


def test_a_stored_record_nobody_was_told_about_fails(two_orders):
    _store(_order("o5", 1))  # e.g. a duplicate that was stored as a new order

    report = exactly_once_check(source=SOURCE, batches=[two_orders])

    assert any("never reported as accepted" in p and "o5" in p for p in report.problems)


def test_a_record_of_an_unanswered_request_may_be_stored_once(two_orders):
    _store(_order("o4", 1))
    timed_out = _batch(new=[("o4", 1), ("o6", 1)], status=0)

    report = exactly_once_check(source=SOURCE, batches=[two_orders, timed_out])

    assert report.ok
    orders = report.kinds["orders"]
    assert (orders.accepted, orders.uncertain, orders.stored, orders.stored_uncertain) == (2, 2, 3, 1)


def test_lines_that_differ_from_what_was_sent_fail():
    _store(_order("o1", 2))
    said_three = _batch(new=[("o1", 3)], counts={"accepted": 1, "duplicates": 0, "updated": 0, "rejected": 0})

    report = exactly_once_check(source=SOURCE, batches=[said_three])

    assert any("different number of lines" in p for p in report.problems)
    assert (report.kinds["orders"].lines_expected, report.kinds["orders"].lines_stored) == (3, 2)


def test_a_duplicate_answered_as_accepted_fails(two_orders):
    dup = _batch(
        mode="mixed", old=["o1"], counts={"accepted": 1, "duplicates": 0, "updated": 0, "rejected": 0}
    )

    report = exactly_once_check(source=SOURCE, batches=[two_orders, dup])

    assert any("mixed batch answered" in p for p in report.problems)


def test_a_retry_that_ran_again_instead_of_replaying_fails(two_orders):
    rerun = _batch(
        mode="retry",
        old=["o1", "o2"],
        counts={"accepted": 0, "duplicates": 2, "updated": 0, "rejected": 0},
        key="k1",
        replayed=False,
    )

    report = exactly_once_check(source=SOURCE, batches=[two_orders, rerun])

    assert any("was not a replay" in p for p in report.problems)


def test_the_same_id_sent_as_new_twice_is_reported(two_orders):
    again = _batch(new=[("o1", 2)], counts={"accepted": 1, "duplicates": 0, "updated": 0, "rejected": 0})

    report = exactly_once_check(source=SOURCE, batches=[two_orders, again])

    assert any("sent as new more than once" in p for p in report.problems)
