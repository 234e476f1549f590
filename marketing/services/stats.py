"""Deterministic variant assignment and the two-proportion z-test."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass


def assignment_bucket(*, salt: str, customer_id: str) -> float:
    """A number in [0, 1) fixed by (salt, customer id): same inputs, same bucket, on any machine."""
    digest = hashlib.sha256(f"{salt}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def variant_pick(*, salt: str, customer_id: str, weights: Sequence[int]) -> int:
    """Index of the variant for this customer, with probability proportional to its weight."""
    total = sum(weights)
    if total <= 0:
        raise ValueError("weights must add up to more than zero")
    point = assignment_bucket(salt=salt, customer_id=customer_id) * total
    cumulative = 0
    for index, weight in enumerate(weights):
        cumulative += weight
        if point < cumulative:
            return index
    return len(weights) - 1


@dataclass(frozen=True)
class ZTest:
    z: float
    p_value: float  # two-sided
    difference: float  # rate_b - rate_a


def two_proportion_z_test(*, successes_a: int, n_a: int, successes_b: int, n_b: int) -> ZTest | None:
    """Pooled two-proportion z-test of H0: p_a == p_b (two-sided). None when undefined."""
    if n_a <= 0 or n_b <= 0:
        return None
    rate_a, rate_b = successes_a / n_a, successes_b / n_b
    pooled = (successes_a + successes_b) / (n_a + n_b)
    variance = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    if variance <= 0:
        return ZTest(z=0.0, p_value=1.0, difference=rate_b - rate_a)
    z = (rate_b - rate_a) / math.sqrt(variance)
    # Two-sided p = 2 * (1 - Phi(|z|)) = erfc(|z| / sqrt(2)).
    return ZTest(z=z, p_value=math.erfc(abs(z) / math.sqrt(2)), difference=rate_b - rate_a)
