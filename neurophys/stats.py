"""Spread over seeds, computed one way everywhere.

A claim about learning (an accuracy, a forgetting, a slope) made from several seeds
is reported as ``mean ± std`` where **std is the sample standard deviation,
ddof = 1** (divide by n − 1), with n and a 95 % confidence interval for the mean
from Student's t distribution:

    mean ± t_{0.975, n−1} · std / √n

Where two methods ran on the same seeds (a pair per seed), :func:`paired` tests the
per-seed differences: the paired t-test (``scipy.stats.ttest_rel``) and the
Wilcoxon signed-rank test (``scipy.stats.wilcoxon``, two-sided), which does not
assume the differences are normal.
"""
from __future__ import annotations

import math

import numpy
from scipy import stats as st

from . import backend as B

__all__ = ["spread", "paired"]


def _values(name, values):
    a = numpy.asarray(B.to_host(values) if hasattr(values, "get") else values, dtype=float).ravel()
    if a.size == 0:
        raise ValueError(f"{name} is empty; a spread needs at least one value")
    return a


def spread(values, ddof: int = 1) -> dict:
    """Mean, standard deviation and a 95 % t interval of ``values`` (one number per seed).

    Returns ``{"mean", "std", "ddof", "n", "ci95_low", "ci95_high"}`` as plain floats/ints.

    ddof: the delta degrees of freedom of ``std`` = sqrt(Σ(x − mean)² / (n − ddof));
      the default 1 is the sample standard deviation (what ± means in this course).
      The interval always uses the sample std (ddof = 1), whatever ``ddof`` reports.
    With one value, std and the interval are NaN (nothing to estimate a spread from);
    NaN values propagate (a diverged seed is not silently dropped).
    """
    a = _values("values", values)
    n = int(a.size)
    ddof = int(ddof)
    mean = float(a.mean())
    std = float(a.std(ddof=ddof)) if n > ddof else math.nan
    if n > 1:
        half = float(st.t.ppf(0.975, n - 1)) * float(a.std(ddof=1)) / math.sqrt(n)
        lo, hi = mean - half, mean + half
    else:
        lo = hi = math.nan
    return {"mean": mean, "std": std, "ddof": ddof, "n": n, "ci95_low": lo, "ci95_high": hi}


def paired(a, b) -> dict:
    """Compare two methods run on the same seeds: ``a[i]`` and ``b[i]`` share seed i.

    Returns ``{"mean_diff", "std_diff", "n", "t_p_value", "wilcoxon_p_value"}`` where
    diff = a − b, ``std_diff`` is its sample std (ddof = 1), ``t_p_value`` the two-sided
    paired t-test (scipy.stats.ttest_rel) and ``wilcoxon_p_value`` the two-sided Wilcoxon
    signed-rank test (scipy.stats.wilcoxon). When every difference is zero both p-values
    are 1.0 (no evidence of a difference); with fewer than two pairs they are NaN.
    """
    a, b = _values("a", a), _values("b", b)
    if a.shape != b.shape:
        raise ValueError(f"paired samples need one value per seed in each: got {a.size} and {b.size}")
    d = a - b
    n = int(d.size)
    out = {"mean_diff": float(d.mean()), "std_diff": float(d.std(ddof=1)) if n > 1 else math.nan, "n": n,
           "t_p_value": math.nan, "wilcoxon_p_value": math.nan}
    if n < 2 or not numpy.all(numpy.isfinite(d)):
        return out
    if numpy.all(d == 0):
        out["t_p_value"] = out["wilcoxon_p_value"] = 1.0
        return out
    if d.std() == 0:     # every pair differs by the same amount: t is infinite
        out["t_p_value"] = 0.0
    else:
        out["t_p_value"] = float(st.ttest_rel(a, b).pvalue)
    out["wilcoxon_p_value"] = float(st.wilcoxon(a, b).pvalue)
    return out
