"""Segment rules: validation, translation to the platform's filter tree, preview, snapshots.

Stored rule format (marketing's own, independent of the platform's wire format):

    group     = {"combinator": "and" | "or", "rules": [group | condition, ...]}
    condition = {"field": F, "op": OP, "value": V}            (+ "axis": name for field "axis")

`rules_translate` maps it to `intelligence.interface.customers_query` filters:
{"all"|"any": [...]} with {"field", "op", "value"} conditions, "axis" -> "axis:<name>".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from intelligence import interface as intelligence
from marketing.errors import InvalidSegmentRules, SegmentInUse
from marketing.models import Segment, SegmentSnapshot

NUMERIC_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "between")
LABEL_OPS = ("eq", "ne", "in")
# field -> (kind, allowed ops); kind drives value validation.
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "churn_probability": ("probability", NUMERIC_OPS),
    "predicted_ltv": ("number", NUMERIC_OPS),
    "total_spent": ("number", NUMERIC_OPS),
    "days_since_last_order": ("count", NUMERIC_OPS),
    "order_count": ("count", NUMERIC_OPS),
    "archetype": ("label", LABEL_OPS),
    "axis": ("label", LABEL_OPS),
    "risk_band": ("band", LABEL_OPS),
    "has_open_support_interaction": ("bool", ("eq",)),
}
RISK_BANDS = ("low", "medium", "high", "unknown")
MAX_DEPTH = 4
MAX_CONDITIONS = 50
_AXIS_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def max_audience() -> int:
    return int(getattr(settings, "MARKETING_MAX_AUDIENCE", 100_000))


# --- validation -------------------------------------------------------------


def rules_validate(*, rules: Any) -> None:
    """Raise InvalidSegmentRules (with a JSON-pointer-like path per problem) unless `rules` is valid."""
    problems: dict[str, str] = {}
    counter = [0]
    _validate_group(rules, "rules", 1, problems, counter)
    if counter[0] > MAX_CONDITIONS:
        problems["rules"] = f"at most {MAX_CONDITIONS} conditions"
    if problems:
        raise InvalidSegmentRules("The segment rules are not valid.", details=problems)


def _validate_group(node: Any, path: str, depth: int, problems: dict, counter: list) -> None:
    if not isinstance(node, dict) or set(node) != {"combinator", "rules"}:
        problems[path] = 'a group is {"combinator": "and"|"or", "rules": [...]}'
        return
    if node["combinator"] not in ("and", "or"):
        problems[f"{path}.combinator"] = 'must be "and" or "or"'
    children = node["rules"]
    if not isinstance(children, list) or not children:
        problems[f"{path}.rules"] = "must be a non-empty list"
        return
    if depth > MAX_DEPTH:
        problems[path] = f"groups nest at most {MAX_DEPTH} deep"
        return
    for i, child in enumerate(children):
        child_path = f"{path}.rules[{i}]"
        if isinstance(child, dict) and "combinator" in child:
            _validate_group(child, child_path, depth + 1, problems, counter)
        else:
            counter[0] += 1
            error = _condition_error(child)
            if error:
                problems[child_path] = error


def _condition_error(cond: Any) -> str | None:
    if not isinstance(cond, dict) or not {"field", "op", "value"} <= set(cond):
        return 'a condition is {"field", "op", "value"}'
    field, op, value = cond["field"], cond["op"], cond["value"]
    if field not in FIELDS:
        return f"unknown field {field!r}; one of {sorted(FIELDS)}"
    allowed_keys = {"field", "op", "value"} | ({"axis"} if field == "axis" else set())
    if set(cond) - allowed_keys:
        return f"unexpected keys {sorted(set(cond) - allowed_keys)}"
    if field == "axis" and not (isinstance(cond.get("axis"), str) and _AXIS_NAME.match(cond["axis"])):
        return 'field "axis" needs "axis": the axis name, e.g. "price_sensitivity"'
    kind, ops = FIELDS[field]
    if op not in ops:
        return f"op {op!r} is not allowed for {field}; one of {list(ops)}"
    return _value_error(kind, op, value)


def _value_error(kind: str, op: str, value: Any) -> str | None:
    if kind == "bool":
        return None if isinstance(value, bool) else "value must be true or false"
    if kind in ("label", "band"):
        values = value if op == "in" else [value]
        if op == "in" and (not isinstance(value, list) or not value):
            return "value must be a non-empty list for op 'in'"
        if not all(isinstance(v, str) and v.strip() for v in values):
            return "values must be non-empty strings"
        if kind == "band" and not set(values) <= set(RISK_BANDS):
            return f"risk bands are {list(RISK_BANDS)}"
        return None
    numbers = value if op == "between" else [value]
    if op == "between" and (not isinstance(value, list) or len(value) != 2):
        return "value must be [low, high] for op 'between'"
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers):
        return "value must be a number"
    if any(v != v or v in (float("inf"), float("-inf")) for v in numbers):
        return "value must be finite"
    if op == "between" and numbers[0] > numbers[1]:
        return "low must not exceed high"
    if kind == "probability" and not all(0 <= v <= 1 for v in numbers):
        return "a probability is between 0 and 1"
    if kind in ("count", "number") and any(v < 0 for v in numbers):
        return "value must not be negative"
    return None


# --- translation ------------------------------------------------------------


def rules_translate(*, rules: dict) -> dict:
    """Marketing rules -> the filter tree of intelligence.interface.customers_query."""
    key = "all" if rules["combinator"] == "and" else "any"
    return {key: [_translate_node(child) for child in rules["rules"]]}


def _translate_node(node: dict) -> dict:
    if "combinator" in node:
        return rules_translate(rules=node)
    field = f"axis:{node['axis']}" if node["field"] == "axis" else node["field"]
    value = node["value"]
    if node["op"] == "between":
        value = [float(value[0]), float(value[1])]
    return {"field": field, "op": node["op"], "value": value}


# --- audience ---------------------------------------------------------------


@dataclass(frozen=True)
class AudiencePreview:
    count: int
    sample: tuple[str, ...]
    filters: dict


def segment_preview(*, segment: Segment, sample_size: int = 20) -> AudiencePreview:
    filters = rules_translate(rules=segment.rules)
    result = intelligence.customers_query(filters=filters, limit=sample_size)
    return AudiencePreview(count=result.count, sample=tuple(result.customer_ids), filters=filters)


def segment_members(*, segment: Segment) -> tuple[int, tuple[str, ...]]:
    """(count the platform found, member ids up to MARKETING_MAX_AUDIENCE): one platform call."""
    result = intelligence.customers_query(filters=rules_translate(rules=segment.rules), limit=max_audience())
    return result.count, tuple(str(cid) for cid in result.customer_ids)


@transaction.atomic
def segment_create(*, name: str, rules: dict, description: str = "") -> Segment:
    rules_validate(rules=rules)
    return Segment.objects.create(name=name, rules=rules, description=description)


@transaction.atomic
def segment_update(*, segment: Segment, **fields: Any) -> Segment:
    if "rules" in fields:
        rules_validate(rules=fields["rules"])
    for name, value in fields.items():
        setattr(segment, name, value)
    segment.save()
    return segment


def segment_delete(*, segment: Segment) -> None:
    try:
        segment.delete()
    except ProtectedError as exc:
        raise SegmentInUse("The segment is used by a campaign or journey; delete those first.") from exc


# --- snapshots --------------------------------------------------------------


def segment_snapshot_take(*, segment: Segment, at: datetime | None = None) -> SegmentSnapshot:
    count, members = segment_members(segment=segment)
    return SegmentSnapshot.objects.create(
        segment=segment,
        taken_at=at or timezone.now(),
        member_count=len(members),
        truncated=count > len(members),
        members_blob=SegmentSnapshot.pack(members),
    )


def segments_snapshot_all() -> int:
    """One snapshot per segment (beat task). Returns how many were taken."""
    taken = 0
    for segment in Segment.objects.all():
        segment_snapshot_take(segment=segment)
        taken += 1
    return taken


@dataclass(frozen=True)
class MembershipChange:
    segment_id: int
    from_snapshot: int
    to_snapshot: int
    entered: tuple[str, ...]
    left: tuple[str, ...]
    stayed: int


def snapshot_diff(*, older: SegmentSnapshot, newer: SegmentSnapshot) -> MembershipChange:
    before, after = older.member_ids, newer.member_ids
    return MembershipChange(
        segment_id=newer.segment_id,
        from_snapshot=older.pk,
        to_snapshot=newer.pk,
        entered=tuple(sorted(after - before, key=_id_sort_key)),
        left=tuple(sorted(before - after, key=_id_sort_key)),
        stayed=len(before & after),
    )


def _id_sort_key(customer_id: str) -> tuple[int, int | str]:
    return (0, int(customer_id)) if customer_id.isdigit() else (1, customer_id)
