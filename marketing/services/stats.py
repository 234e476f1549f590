"""Deterministic variant assignment, the two-proportion tests and confidence intervals."""

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
    method: str = "z"  # "z" (normal approximation) or "fisher" (exact, for small counts)


# The usual rule for the normal approximation: every expected cell count of the 2x2 table
# at least 5. Below it the z-test's p-value is far too small (3/3 vs 0/3 gives p = 0.014,
# the exact p is 0.1), so a handful of recipients would "win" a test.
MIN_EXPECTED_COUNT = 5


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


def proportions_compare(*, successes_a: int, n_a: int, successes_b: int, n_b: int) -> ZTest | None:
    """Two-sided test of H0: p_a == p_b: the z-test, or Fisher's exact test on small counts."""
    test = two_proportion_z_test(successes_a=successes_a, n_a=n_a, successes_b=successes_b, n_b=n_b)
    if test is None:
        return None
    successes, total = successes_a + successes_b, n_a + n_b
    smallest_expected = min(n_a, n_b) * min(successes, total - successes) / total
    if smallest_expected >= MIN_EXPECTED_COUNT:
        return test
    from scipy.stats import fisher_exact

    table = [[successes_b, n_b - successes_b], [successes_a, n_a - successes_a]]
    p_value = float(fisher_exact(table, alternative="two-sided").pvalue)
    return ZTest(z=test.z, p_value=min(p_value, 1.0), difference=test.difference, method="fisher")


def wilson_interval(*, successes: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion (sound near 0 and 1, unlike the Wald interval)."""
    if n <= 0:
        return None
    from scipy.stats import binomtest

    interval = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)
