import pytest

from marketing.errors import InvalidSegmentRules
from marketing.services import segments
from marketing.tests.factories import SegmentFactory, SegmentSnapshotFactory

pytestmark = pytest.mark.django_db

WIN_BACK = {
    "combinator": "and",
    "rules": [
        {"field": "churn_probability", "op": "between", "value": [0.6, 1]},
        {
            "combinator": "or",
            "rules": [
                {"field": "predicted_ltv", "op": "gte", "value": 100},
                {
                    "field": "axis",
                    "axis": "price_sensitivity",
                    "op": "in",
                    "value": ["deal_hunter", "premium"],
                },
            ],
        },
        {"field": "has_open_support_interaction", "op": "eq", "value": False},
        {"field": "days_since_last_order", "op": "gt", "value": 90},
        {"field": "order_count", "op": "gte", "value": 2},
        {"field": "archetype", "op": "ne", "value": "One-off Bargain Buyer"},
    ],
}


def test_valid_tree_passes_and_translates_to_the_platform_filter_tree():
    segments.rules_validate(rules=WIN_BACK)
    assert segments.rules_translate(rules=WIN_BACK) == {
        "all": [
            {"field": "churn_probability", "op": "between", "value": [0.6, 1.0]},
            {
                "any": [
                    {"field": "predicted_ltv", "op": "gte", "value": 100},
                    {"field": "axis:price_sensitivity", "op": "in", "value": ["deal_hunter", "premium"]},
                ]
            },
            {"field": "has_open_support_interaction", "op": "eq", "value": False},
            {"field": "days_since_last_order", "op": "gt", "value": 90},
            {"field": "order_count", "op": "gte", "value": 2},
            {"field": "archetype", "op": "ne", "value": "One-off Bargain Buyer"},
        ]
    }


def _cond(**kw):
    return {"combinator": "and", "rules": [kw]}


@pytest.mark.parametrize(
    ("rules", "path", "fragment"),
    [
        ([], "rules", "a group is"),
        (
            {"combinator": "xor", "rules": [{"field": "order_count", "op": "gt", "value": 1}]},
            "rules.combinator",
            "and",
        ),
        ({"combinator": "and", "rules": []}, "rules.rules", "non-empty"),
        (_cond(field="favourite_colour", op="eq", value="red"), "rules.rules[0]", "unknown field"),
        (_cond(field="churn_probability", op="in", value=[0.1]), "rules.rules[0]", "not allowed"),
        (_cond(field="churn_probability", op="gte", value=1.5), "rules.rules[0]", "between 0 and 1"),
        (_cond(field="churn_probability", op="between", value=[0.9, 0.1]), "rules.rules[0]", "low must not"),
        (_cond(field="predicted_ltv", op="between", value=[1]), "rules.rules[0]", "[low, high]"),
        (_cond(field="order_count", op="gte", value="3"), "rules.rules[0]", "number"),
        (_cond(field="order_count", op="gte", value=True), "rules.rules[0]", "number"),
        (_cond(field="days_since_last_order", op="gt", value=-1), "rules.rules[0]", "negative"),
        (_cond(field="axis", op="eq", value="deal_hunter"), "rules.rules[0]", "axis name"),
        (_cond(field="archetype", op="in", value=[]), "rules.rules[0]", "non-empty list"),
        (_cond(field="risk_band", op="eq", value="extreme"), "rules.rules[0]", "risk bands"),
        (
            _cond(field="has_open_support_interaction", op="eq", value="yes"),
            "rules.rules[0]",
            "true or false",
        ),
        (_cond(field="order_count", op="gte", value=1, extra=1), "rules.rules[0]", "unexpected keys"),
    ],
)
def test_invalid_trees_are_rejected_with_the_path_of_the_problem(rules, path, fragment):
    with pytest.raises(InvalidSegmentRules) as exc:
        segments.rules_validate(rules=rules)
    assert fragment in exc.value.details[path]


def test_nesting_and_size_are_bounded():
    node = {"field": "order_count", "op": "gte", "value": 1}
    for _ in range(segments.MAX_DEPTH + 1):
        node = {"combinator": "or", "rules": [node]}
    with pytest.raises(InvalidSegmentRules):
        segments.rules_validate(rules=node)
    wide = {
        "combinator": "or",
        "rules": [{"field": "order_count", "op": "gte", "value": i} for i in range(51)],
    }
    with pytest.raises(InvalidSegmentRules):
        segments.rules_validate(rules=wide)


def test_preview_asks_the_platform_with_the_translated_filters(platform, shoppers):
    platform.audience = shoppers
    segment = segments.segment_create(name="Win-back", rules=WIN_BACK)
    preview = segments.segment_preview(segment=segment, sample_size=5)
    assert preview.count == len(shoppers)
    assert preview.sample == tuple(shoppers[:5])
    assert platform.queries == [segments.rules_translate(rules=WIN_BACK)]


def test_snapshots_store_members_compactly_and_show_who_entered_and_left(platform, shoppers):
    segment = SegmentFactory()
    platform.audience = shoppers[:20]
    first = segments.segment_snapshot_take(segment=segment)
    platform.audience = shoppers[4:24]
    second = segments.segment_snapshot_take(segment=segment)
    assert first.member_ids == frozenset(shoppers[:20])
    assert len(bytes(first.members_blob)) < len("\n".join(shoppers[:20]))
    change = segments.snapshot_diff(older=first, newer=second)
    assert change.entered == tuple(shoppers[20:24])
    assert change.left == tuple(shoppers[:4])
    assert change.stayed == 16


def test_empty_snapshot_round_trips():
    snapshot = SegmentSnapshotFactory(members=())
    assert snapshot.member_ids == frozenset()
