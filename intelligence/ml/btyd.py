"""Buy-till-you-die models implemented with scipy.

BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way".
Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV", and Fader & Hardie's note
"The Gamma-Gamma Model of Monetary Value" (2013).

Inputs are per-customer summaries in one time unit (weeks by default):
  x   = number of repeat transactions (customer-days after the first),
  t_x = time of the last transaction since the first,
  T   = time between the first transaction and the end of calibration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special

DAYS_PER_UNIT = 7.0  # BTYD time unit: weeks
LOG_PARAM_BOUNDS = (float(np.log(1e-4)), float(np.log(1e5)))  # every model parameter, log scale


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    v: float

    def as_dict(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "v": self.v}

    @property
    def population_mean(self) -> float:
        return self.p * self.v / (self.q - 1.0) if self.q > 1 else float("nan")


def rfm_summary(orders: pd.DataFrame, *, as_of: pd.Timestamp, value_column: str = "value") -> pd.DataFrame:
    """Per customer (index customer_id): x, t_x, T (weeks) and m_x (mean repeat-day value).

    `orders` needs customer_id, placed_at and `value_column`; several orders on one
    day are one transaction (their values summed). Orders at/after `as_of` are ignored.
    """
    as_of = pd.Timestamp(as_of)
    frame = orders.loc[orders["placed_at"] < as_of, ["customer_id", "placed_at", value_column]]
    if frame.empty:
        # No valid orders (e.g. only cancelled ones): no rows, not a dtype error.
        empty = pd.DataFrame({c: pd.Series(dtype=float) for c in ("x", "t_x", "T", "m_x")})
        empty.index = pd.Index([], dtype=str, name="customer_id")
        return empty
    day = frame["placed_at"].dt.floor("D")
    days = (
        frame.assign(day=day)
        .groupby(["customer_id", "day"], sort=False, observed=True)[value_column]
        .sum()
        .reset_index()
    )
    grouped = days.groupby("customer_id", sort=True, observed=True)
    first = grouped["day"].min()
    last = grouped["day"].max()
    n_days = grouped["day"].size()
    total = grouped[value_column].sum()
    # First-day value, to leave the repeat transactions only for m_x.
    first_value = (
        days.loc[days["day"].eq(days["customer_id"].map(first)), :].groupby("customer_id")[value_column].sum()
    )
    x = (n_days - 1).astype(float)
    # Day granularity: T runs to the last day that could hold a transaction, so a
    # purchase on that day has t_x == T (Fader-Hardie's CDNOW convention).
    last_day = (as_of - pd.Timedelta(1, "ns")).floor("D")
    summary = pd.DataFrame(
        {
            "x": x,
            "t_x": (last - first).dt.total_seconds() / 86400.0 / DAYS_PER_UNIT,
            "T": (last_day - first).dt.total_seconds() / 86400.0 / DAYS_PER_UNIT,
        }
    )
    repeat_value = total - first_value.reindex(total.index).fillna(0.0)
    summary["m_x"] = np.where(x > 0, repeat_value / x.where(x > 0, 1.0), np.nan)
    summary.index = summary.index.astype(str)
    summary.index.name = "customer_id"
    return summary


# ---------------------------------------------------------------- BG/NBD


def bgnbd_log_likelihood(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Per-customer log-likelihood (FHL 2005, eq. 6)."""
    r, alpha, a, b = params
    base = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.betaln(a, b + x)
        - special.betaln(a, b)
    )
    term_alive = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        term_dead = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1.0, 1e-12)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return base + np.logaddexp(term_alive, term_dead)


def bgnbd_fit(summary: pd.DataFrame, *, penalizer: float = 0.0) -> BGNBDParams:
    """Maximum likelihood fit (on log parameters) over customers grouped by (x, t_x, T)."""
    grouped = summary.groupby(["x", "t_x", "T"]).size().reset_index(name="n")
    x, t_x, T, n = (grouped[c].to_numpy(float) for c in ("x", "t_x", "T", "n"))
    scale = max(float(np.mean(T)), 1e-6)

    def negll(log_params: np.ndarray) -> float:
        params = np.exp(log_params)
        ll = bgnbd_log_likelihood(params, x, t_x, T)
        return -(n * ll).sum() / n.sum() + penalizer * (params**2).sum()

    start = np.log([0.5, scale, 1.0, 1.0])
    # Bounded: when dropout is near-homogeneous the likelihood keeps rising as a and b
    # grow together, and an unbounded search wanders off for minutes; at 1e5 the fitted
    # curves no longer change.
    bounds = [LOG_PARAM_BOUNDS] * 4
    result = optimize.minimize(
        negll,
        start,
        method="Nelder-Mead",
        bounds=bounds,
        options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 1000},
    )
    result = optimize.minimize(negll, result.x, method="L-BFGS-B", bounds=bounds)
    r, alpha, a, b = np.exp(result.x)
    return BGNBDParams(float(r), float(alpha), float(a), float(b))


def bgnbd_p_alive(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """P(alive at T | x, t_x, T) (FHL 2005 note, eq. 2)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T = (np.asarray(v, float) for v in (x, t_x, T))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_ratio = (
            np.log(a)
            - np.log(np.maximum(b + x - 1.0, 1e-12))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
        odds = np.where(x > 0, np.exp(np.minimum(log_ratio, 700)), 0.0)
    return 1.0 / (1.0 + odds)


def bgnbd_expected_transactions(params: BGNBDParams, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected transactions in (T, T + t] (FHL 2005, eq. 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t, x, t_x, T = np.broadcast_arrays(*(np.asarray(v, float) for v in (t, x, t_x, T)))
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1.0, t / (alpha + T + t))
    first = (a + b + x - 1.0) / (a - 1.0)
    second = 1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        odds = np.where(
            x > 0, (a / np.maximum(b + x - 1.0, 1e-12)) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0
        )
    result = first * second / (1.0 + odds)
    return np.clip(np.nan_to_num(result, nan=0.0, posinf=0.0), 0.0, None)


def bgnbd_p_no_purchase(params: BGNBDParams, t, x, t_x, T) -> np.ndarray:
    """P(no transaction in (T, T + t] | x, t_x, T).

    A dead customer buys nothing; an alive one drops out only right after a purchase,
    so "no purchase in t" means no Poisson event: given alive, lambda ~ Gamma(r + x,
    alpha + T) and P = ((alpha + T) / (alpha + T + t)) ** (r + x).
    """
    t, x, t_x, T = np.broadcast_arrays(*(np.asarray(v, float) for v in (t, x, t_x, T)))
    p_alive = bgnbd_p_alive(params, x, t_x, T)
    alive_none = ((params.alpha + T) / (params.alpha + T + t)) ** (params.r + x)
    return (1.0 - p_alive) + p_alive * alive_none


# ---------------------------------------------------------------- Gamma-Gamma


def gamma_gamma_log_likelihood(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    p, q, v = params
    return (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(v)
        + (p * x - 1.0) * np.log(m)
        + (p * x) * np.log(x)
        - (p * x + q) * np.log(x * m + v)
    )


def gamma_gamma_fit(summary: pd.DataFrame) -> GammaGammaParams:
    """Fit on customers with at least one repeat transaction and a positive m_x."""
    usable = summary.loc[(summary["x"] > 0) & (summary["m_x"] > 0)]
    x = usable["x"].to_numpy(float)
    m = usable["m_x"].to_numpy(float)
    if len(usable) < 3:
        mean = float(np.nanmean(summary["m_x"])) if summary["m_x"].notna().any() else 1.0
        return GammaGammaParams(p=1.0, q=3.0, v=2.0 * max(mean, 1e-6))

    def negll(log_params: np.ndarray) -> float:
        return -gamma_gamma_log_likelihood(np.exp(log_params), x, m).mean()

    start = np.log([1.0, 2.0, max(float(np.mean(m)), 1e-3)])
    # Iterations capped as for BG/NBD (a flat ridge when values barely vary); L-BFGS-B polishes.
    result = optimize.minimize(
        negll, start, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 1000}
    )
    result = optimize.minimize(negll, result.x, method="L-BFGS-B")
    p, q, v = np.exp(result.x)
    return GammaGammaParams(float(p), float(q), float(v))


def gamma_gamma_expected_spend(params: GammaGammaParams, x, m_x) -> np.ndarray:
    """E[M | x, m_x]: a weighted mean of the population mean and the customer's own mean."""
    x = np.asarray(x, float)
    m_x = np.nan_to_num(np.asarray(m_x, float), nan=0.0)
    p, q, v = params.p, params.q, params.v
    conditional = p * (v + x * m_x) / (p * x + q - 1.0)
    return np.where(x > 0, conditional, params.population_mean)
