"""Noise colour of a time series: Welch power spectrum and its log-log slope.

A fluctuating signal a(t) with power spectral density P(f) ∝ f^(−β) is called

    white     β ≈ 0   (no memory; every frequency equally loud)
    pink      β ≈ 1   (1/f; long-range correlations, the 'biological' signature)
    Brownian  β ≈ 2   (1/f²; a random walk, the integral of white noise)

β is read off as minus the slope of a straight line through log10 P vs log10 f
over a stated band of frequencies. The spectrum itself is Welch's estimate
(scipy.signal.welch: averaged periodograms of overlapping, windowed segments),
far less noisy than one raw |FFT|².
"""
from __future__ import annotations

import numpy


def welch_spectrum(series, nperseg: int = 256, fs: float = 1.0, detrend: str = "linear"):
    """(f, P): Welch PSD of a 1-D series (frequencies in cycles per step for fs = 1)."""
    from scipy.signal import welch
    series = numpy.asarray(series, dtype=float).ravel()
    if series.size < 2 * nperseg:
        raise ValueError(f"series of {series.size} samples is too short for segments of {nperseg}; "
                         f"record at least {2 * nperseg} steps or lower nperseg")
    if not numpy.all(numpy.isfinite(series)):
        raise ValueError("series contains NaN or inf")
    return welch(series, fs=fs, nperseg=nperseg, detrend=detrend)


def loglog_slope(f, P, band) -> float:
    """Least-squares slope of log10 P against log10 f for band[0] ≤ f ≤ band[1]."""
    f, P = numpy.asarray(f), numpy.asarray(P)
    m = (f >= band[0]) & (f <= band[1]) & (P > 0)
    if m.sum() < 3:
        raise ValueError(f"fewer than 3 spectral points with positive power in band {band}; widen it")
    return float(numpy.polyfit(numpy.log10(f[m]), numpy.log10(P[m]), 1)[0])


def psd_slope(series, band=(0.008, 0.1), nperseg: int = 256, detrend: str = "linear"):
    """(slope, f, P): Welch spectrum of ``series`` and its log-log slope over ``band``.

    A constant series has no fluctuations at all: slope NaN (its spectrum is zero).
    """
    series = numpy.asarray(series, dtype=float)
    f, P = welch_spectrum(series, nperseg=nperseg, detrend=detrend)
    if numpy.ptp(series) == 0:
        return float("nan"), f, numpy.zeros_like(P)
    return loglog_slope(f, P, band), f, P


def noise_colour(slope: float) -> str:
    """'white', 'pink' or 'Brownian' for the exponent β = −slope nearest 0, 1 or 2;
    'smooth' for β > 3 (a deterministic drift, not noise); 'none' for NaN (no fluctuation)."""
    if not numpy.isfinite(slope):
        return "none"
    beta = -slope
    if beta > 3:
        return "smooth"
    return "white" if beta < 0.5 else "pink" if beta < 1.5 else "Brownian"
