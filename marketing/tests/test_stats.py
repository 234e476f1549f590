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
