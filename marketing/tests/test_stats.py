import math
from collections import Counter

import pytest

from marketing.services import stats


def test_z_test_matches_the_worked_textbook_example():
    # Stat Trek, "Hypothesis test: difference between proportions": 38 of 100 men and
    # 102 of 200 women (51 %) favour the plan. Pooled p = 140/300, SE = 0.0611,
    # z = (0.38 - 0.51) / 0.0611 = -2.13, two-sided P = 0.033 -> reject H0 at alpha 0.05.
    result = stats.two_proportion_z_test(successes_a=102, n_a=200, successes_b=38, n_b=100)
    assert result.z == pytest.approx(-2.13, abs=0.005)
    assert result.p_value == pytest.approx(0.0332, abs=0.0005)
    assert result.difference == pytest.approx(-0.13)


def test_z_squared_is_the_uncorrected_chi_square_of_the_2x2_table():
    from scipy.stats import chi2_contingency

    result = stats.two_proportion_z_test(successes_a=48, n_a=1000, successes_b=71, n_b=1000)
    chi2, p, _, _ = chi2_contingency([[48, 952], [71, 929]], correction=False)
    assert result.z**2 == pytest.approx(chi2)
    assert result.p_value == pytest.approx(p)


def test_z_test_edge_cases():
    assert stats.two_proportion_z_test(successes_a=0, n_a=0, successes_b=1, n_b=10) is None
    same = stats.two_proportion_z_test(successes_a=0, n_a=50, successes_b=0, n_b=50)
    assert (same.z, same.p_value) == (0.0, 1.0)
    equal_rates = stats.two_proportion_z_test(successes_a=10, n_a=100, successes_b=20, n_b=200)
    assert equal_rates.p_value == pytest.approx(1.0)


def test_assignment_is_deterministic_and_depends_on_the_test():
    picks = [stats.variant_pick(salt="abtest:7", customer_id=str(c), weights=[1, 1]) for c in range(500)]
    again = [stats.variant_pick(salt="abtest:7", customer_id=str(c), weights=[1, 1]) for c in range(500)]
    other = [stats.variant_pick(salt="abtest:8", customer_id=str(c), weights=[1, 1]) for c in range(500)]
    assert picks == again
    assert picks != other


@pytest.mark.parametrize("weights", [[1, 1], [3, 1], [1, 2, 7]])
def test_assignment_roughly_follows_the_weights(weights):
    n = 20000
    counts = Counter(
        stats.variant_pick(salt="abtest:1", customer_id=str(c), weights=weights) for c in range(n)
    )
    total = sum(weights)
    for index, weight in enumerate(weights):
        expected = n * weight / total
        # Within 4 binomial standard deviations.
        assert abs(counts[index] - expected) < 4 * math.sqrt(n * (weight / total) * (1 - weight / total))


def test_assignment_needs_a_positive_weight():
    with pytest.raises(ValueError):
        stats.variant_pick(salt="x", customer_id="1", weights=[0, 0])


@pytest.mark.parametrize(
    ("a", "n_a", "b", "n_b"), [(0, 3, 3, 3), (0, 5, 4, 5), (1, 2, 2, 2), (0, 4, 4, 4), (1, 20, 6, 20)]
)
def test_small_counts_use_fishers_exact_test(a, n_a, b, n_b):
    from scipy.stats import fisher_exact

    # The z-test says 3/3 vs 0/3 is significant (p = 0.014); the exact answer is p = 0.1.
    result = stats.proportions_compare(successes_a=a, n_a=n_a, successes_b=b, n_b=n_b)
    expected = fisher_exact([[b, n_b - b], [a, n_a - a]]).pvalue
    assert result.method == "fisher"
    assert result.p_value == pytest.approx(expected)
    tiny = stats.proportions_compare(successes_a=0, n_a=3, successes_b=3, n_b=3)
    assert tiny.p_value > 0.05


def test_large_counts_keep_the_z_test():
    from scipy.stats import norm

    result = stats.proportions_compare(successes_a=48, n_a=1000, successes_b=71, n_b=1000)
    assert result.method == "z"
    assert result.p_value == pytest.approx(2 * norm.sf(abs(result.z)))


def test_wilson_interval_matches_the_published_formula():
    # Newcombe (1998), table I: 81/263 -> 0.2553 to 0.3662 at 95 %; 0/10 -> 0 to 0.2775.
    low, high = stats.wilson_interval(successes=81, n=263)
    assert (low, high) == (pytest.approx(0.2553, abs=1e-4), pytest.approx(0.3662, abs=1e-4))
    low, high = stats.wilson_interval(successes=0, n=10)
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(0.2775, abs=1e-4)
    assert stats.wilson_interval(successes=0, n=0) is None
