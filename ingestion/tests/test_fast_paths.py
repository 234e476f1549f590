"""The write path's shortcuts give the same answers as the careful code they stand in front of:
the order fast path against the field-by-field checker, the plain COPY payload against escaping."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ingestion.models import Order, OrderLine
from ingestion.services import _db, orders
from ingestion.services.validation import identity_blocked, order_clean
from ingestion.services.validation.orders import order_checked, order_fast

VALID = {
    "external_id": "o-1",
    "customer_id": "c-1",
    "email": "Ann.Lee@Example.com ",
    "placed_at": "2025-03-01T10:00:00Z",
    "updated_at": "2025-03-02T10:00:00+02:00",
    "cancelled_at": None,
    "currency": "EUR",
    "total": 30.5,
    "subtotal": "31.00",
    "discount_total": 0.5,
    "refunded_total": 0,
    "status": "fulfilled",
    "channel": "web",
    "item_count": 3,
    "lines": [
        {"sku": "A", "title": "Mug", "category": "home", "quantity": 2, "unit_price": 10.25, "discount": 0},
        {"sku": "B", "product_id": "p-2", "quantity": 1, "unit_price": "10.00"},
    ],
}
# Values that are valid somewhere, invalid elsewhere, or valid only after normalisation.
# fmt: off
ODD_VALUES = [
    None, "", " ", "0", "-1", "null", 0, -1, 7, 1.5, -0.01, 1e12, 10**15, True, False,
    float("nan"), float("inf"), "NaN", "12.345", "1e3", "12.50", " 12 ", [], {}, ["x"], {"a": 1},
    "x" * 65, "x" * 256, "a\x00b", "usd", "USD", "USD\n", "EURO", "placed", "bogus",
    "2025-03-01", "2025-03-01T10:00:00", "2025-13-01T00:00:00Z", "1899-12-31T23:00:00Z",
    "2025-03-01T10:00:00-05:00", "not a date", "bob@example.com", "BOB@EXAMPLE.COM",
    "not-an-email", 123, "123", "00", "undefined",
]
# fmt: on
LINE_ODD_VALUES = [None, "", 0, -1, 3, 1.5, True, "2", "x" * 129, "x" * 256, "a\x00b", 9.99, "9.999", [], {}]


def _variants(valid: dict = VALID):
    yield valid
    for key in [*valid, "platform_customer_id"]:
        for value in ODD_VALUES:
            yield {**valid, key: value}
        yield {k: v for k, v in valid.items() if k != key}
    for key in ("sku", "product_id", "title", "category", "quantity", "unit_price", "discount"):
        for value in LINE_ODD_VALUES:
            yield {**valid, "lines": [{**valid["lines"][0], key: value}, valid["lines"][1]]}
    for lines in ([], [None], ["CD"], [{}], [{"quantity": 0}], [valid["lines"][0]] * 1001):
        yield {**valid, "lines": lines}
    yield {**valid, "customer_id": None, "email": None}
    yield {**valid, "customer_id": "unknown", "email": "n/a"}


def test_the_order_fast_path_agrees_with_the_checker():
    taken = refused = 0
    for record in _variants():
        fast = order_fast(record)
        checked, errors = order_checked(record)
        if fast is None:
            refused += 1
        else:
            taken += 1
            assert errors == {} and fast == checked, record
        assert order_clean(record) == (checked, errors)
    assert taken > 100 and refused > 100  # both sides of the shortcut were exercised


def test_a_currency_with_a_trailing_newline_is_rejected():
    _, errors = order_clean({**VALID, "currency": "usd\n"})
    assert "currency" in errors


def test_the_plain_payload_is_only_used_when_nothing_needs_escaping():
    now = datetime(2025, 3, 1, 10, tzinfo=UTC)
    plain = [("a", 1, Decimal("2.50"), None, now, 1.5)]
    assert _db._copy_text_plain(plain, [7]) == b"7\ta\t1\t2.50\t\\N\t2025-03-01 10:00:00+00:00\t1.5\n"
    for text in ("tab\there", "new\nline", "back\\slash", "\\N", "cr\rhere"):
        assert _db._copy_text_plain([("a", text, None)], []) is None
        assert _db._copy_text([("a", text, None)], [], set()).count(b"\n") == 1


@pytest.mark.django_db
def test_text_that_needs_escaping_is_stored_exactly():
    odd = ["tab\there", "new\nline", "back\\slash", "\\N", "cr\rhere", "plain"]
    records = [
        {
            "external_id": f"esc-{i}",
            "customer_id": "c-esc",
            "placed_at": "2025-03-01T10:00:00Z",
            "total": 1,
            "channel": text[:64],
            "lines": [{"sku": text, "title": text, "quantity": 1, "unit_price": 1}],
        }
        for i, text in enumerate(odd)
    ]
    assert orders.orders_ingest(source="esc", records=records).accepted == len(odd)
    stored = dict(Order.objects.filter(source="esc").values_list("external_id", "channel"))
    assert stored == {f"esc-{i}": text for i, text in enumerate(odd)}
    titles = set(OrderLine.objects.filter(order__source="esc").values_list("title", flat=True))
    assert titles == set(odd)


@pytest.mark.parametrize("value", ["10", "a0", "0a", "-2", "x-0", "0.0"])
def test_ids_with_more_than_zeros_and_dashes_are_not_blocked(value):
    assert not identity_blocked(value)


def test_text_arrays_travel_as_one_string_only_when_the_server_splits_them_back():
    assert _db.text_array(["a", "", "b"]) == ("string_to_array(%s, E'\\x1f')", "a\x1f\x1fb")
    assert _db.text_array(["a\x1fb", "c"])[1] == ["a\x1fb", "c"]  # holds the separator: a list
    assert _db.text_array([""])[1] == [""]  # the server splits "" into no element


@pytest.mark.django_db
def test_ids_holding_the_separator_are_found_again():
    records = [
        {
            "external_id": f"o{sep}1",
            "customer_id": f"c{sep}1",
            "placed_at": "2025-03-01T10:00:00Z",
            "total": 5,
        }
        for sep in ("\x1f", "-")
    ]
    assert orders.orders_ingest(source="shop", records=records).accepted == 2
    again = orders.orders_ingest(source="shop", records=records)
    assert (again.accepted, again.duplicates) == (0, 2)
