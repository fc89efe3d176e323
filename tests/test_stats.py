"""stats.spread and stats.paired against values worked out by hand / from tables."""
import math

import numpy
import pytest

from neurophys import stats


def test_spread_known_values():
    s = stats.spread([1.0, 2.0, 3.0, 4.0])
    assert s["n"] == 4 and s["ddof"] == 1 and s["mean"] == 2.5
    assert s["std"] == pytest.approx(math.sqrt(5 / 3))             # Σ(x − 2.5)² = 5, / (n − 1)
    half = 3.182446305 * math.sqrt(5 / 3) / 2                       # t_{0.975, 3} from a t table
    assert s["ci95_low"] == pytest.approx(2.5 - half, rel=1e-8)
    assert s["ci95_high"] == pytest.approx(2.5 + half, rel=1e-8)
    s0 = stats.spread([1.0, 2.0, 3.0, 4.0], ddof=0)
    assert s0["ddof"] == 0 and s0["std"] == pytest.approx(math.sqrt(5 / 4))
    assert s0["ci95_low"] == pytest.approx(s["ci95_low"])           # the interval always uses ddof = 1


def test_spread_ten_values_and_edge_cases():
    x = numpy.arange(10.0)
    s = stats.spread(x)
    assert s["ci95_high"] - s["mean"] == pytest.approx(2.262157163 * x.std(ddof=1) / math.sqrt(10), rel=1e-8)
    one = stats.spread([0.7])
    assert one["mean"] == 0.7 and one["n"] == 1 and math.isnan(one["std"]) and math.isnan(one["ci95_low"])
    assert math.isnan(stats.spread([1.0, float("nan")])["mean"])    # a diverged seed is not dropped
    with pytest.raises(ValueError, match="empty"):
        stats.spread([])
    assert set(s) == {"mean", "std", "ddof", "n", "ci95_low", "ci95_high"}
    assert all(type(v) in (int, float) for v in s.values())


def test_paired_known_values():
    p = stats.paired([1.0, 2.0, 3.0, 4.0, 5.0], [0.0] * 5)
    assert p["n"] == 5 and p["mean_diff"] == 3.0 and p["std_diff"] == pytest.approx(math.sqrt(2.5))
    # t = 3 / (√2.5 / √5) = √18 with 4 degrees of freedom: two-sided p = 0.013236
    assert p["t_p_value"] == pytest.approx(0.013236, abs=2e-6)
    # exact signed-rank test, 5 positive differences: only 2 of the 2⁵ sign patterns are as extreme
    assert p["wilcoxon_p_value"] == pytest.approx(2 / 32)
    same = stats.paired([0.3, 0.4], [0.3, 0.4])
    assert same["t_p_value"] == 1.0 and same["wilcoxon_p_value"] == 1.0 and same["mean_diff"] == 0.0
    shift = stats.paired([1.0, 2.0, 3.0], [0.5, 1.5, 2.5])
    assert shift["t_p_value"] == 0.0 and shift["std_diff"] == 0.0
    with pytest.raises(ValueError, match="one value per seed"):
        stats.paired([1.0, 2.0], [1.0])
    assert set(p) == {"mean_diff", "std_diff", "n", "t_p_value", "wilcoxon_p_value"}
