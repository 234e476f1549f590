"""Model quality: our models vs BG/NBD + Gamma-Gamma and an RFM rule, on a holdout.

Default (the issue's set-up): CDNOW sample, as_of 1997-09-30 (orders up to and
including that day are history), horizon 273 days (39 weeks), holdout = the orders
after as_of. `--robustness` adds data the models were not developed on: CDNOW at
other dates and a generated shop (ingestion/synthetic.py) with a long history
(no carry) and a short one (carried). Differences come with paired bootstrap 95%
intervals over customers, so a win can be told from noise.

Run: .venv/bin/python -m bench.model_quality [--robustness] [--bootstrap N]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

AS_OF = pd.Timestamp("1997-10-01", tz="UTC")  # end of 1997-09-30
HORIZON_DAYS = 273
SHOP_END = date(2026, 6, 30)
COLUMNS = [
    "roc_auc", "pr_auc", "brier", "spearman", "mae", "mae_mean", "total_predicted", "total_actual",
    "total_ratio", "top_decile_capture",
]  # fmt: skip


@dataclass
class Case:
    name: str
    frames: dict
    as_of: pd.Timestamp
    horizon_days: int
    history_start: pd.Timestamp | None = None  # drop everything before (a shorter history)
    all_lines_count: bool = False  # CDNOW as published: every line counts, $0 ones too


def cdnow_case(as_of: pd.Timestamp = AS_OF, horizon_days: int = HORIZON_DAYS, name: str = "") -> Case:
    from intelligence.ml import cdnow

    label = name or f"CDNOW sample, as_of {(as_of - pd.Timedelta(days=1)).date()}, horizon {horizon_days}d"
    return Case(label, cdnow.load_cdnow_frames(), as_of, horizon_days, all_lines_count=True)


def shop_frames(*, customers: int, seed: int) -> dict[str, pd.DataFrame]:
    """The generated shop's records as the ingestion frames (no database involved)."""
    from ingestion.synthetic import shop_blocks

    orders, lines, interactions, events = [], [], [], []
    for block in shop_blocks(customers=customers, seed=seed, end_date=SHOP_END):
        for order in block.orders:
            order_id = len(orders) + 1
            orders.append({**{k: v for k, v in order.items() if k != "lines"}, "order_id": order_id})
            lines += [
                {
                    **line,
                    "order_id": order_id,
                    "customer_id": order["customer_id"],
                    "placed_at": order["placed_at"],
                }
                for line in order["lines"]
            ]
        interactions += block.interactions
        events += block.events
    frames = {
        "orders": pd.DataFrame(orders).assign(source="shop"),
        "lines": pd.DataFrame(lines),
        "interactions": pd.DataFrame(interactions).assign(source="shop"),
        "events": pd.DataFrame(events).assign(source="shop"),
    }
    for frame in frames.values():
        column = "placed_at" if "placed_at" in frame else "occurred_at"
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frames


def robustness_cases(*, customers: int = 3000, seed: int = 11) -> list[Case]:
    """CDNOW at two other dates; the generated shop with a long and a short history."""
    shop = shop_frames(customers=customers, seed=seed)
    day = pd.Timestamp
    return [
        cdnow_case(day("1997-07-01", tz="UTC"), 273),
        cdnow_case(day("1998-01-01", tz="UTC"), 181),
        Case(f"shop ({customers} customers), 18 months of history", shop, day("2026-01-01", tz="UTC"), 181),
        Case(
            f"shop ({customers} customers), 9 months of history",
            shop,
            day("2025-10-01", tz="UTC"),
            273,
            history_start=day("2025-01-01", tz="UTC"),
        ),
    ]


def _history(frames: dict, case: Case) -> dict[str, pd.DataFrame]:
    out = {}
    for name, frame in frames.items():
        column = "placed_at" if "placed_at" in frame else "occurred_at"
        keep = frame[column] < case.as_of if len(frame) else np.zeros(0, bool)
        if case.history_start is not None and len(frame):
            keep &= frame[column] >= case.history_start
        out[name] = frame.loc[keep]
    return out


def rfm_rule_scores(summary: pd.DataFrame, monetary: pd.Series) -> np.ndarray:
    """Classic RFM cells (quintiles of recency, frequency, monetary; 1-5 each): churn score."""
    recency_days = (summary["T"] - summary["t_x"]) * 7.0

    def quintile(values: pd.Series) -> pd.Series:
        return pd.qcut(values.rank(method="first"), 5, labels=False) + 1

    score = quintile(-recency_days) + quintile(summary["x"] + 1) + quintile(monetary)
    return (15.0 - score.to_numpy(float)) / 12.0  # a lower RFM score means more likely to churn


def _metrics(actual: pd.DataFrame, churn, mean, point=None) -> dict[str, float]:
    from intelligence.ml import evaluation

    row = evaluation.churn_metrics(actual["churn"], churn)
    if mean is not None:
        spend = evaluation.spend_metrics(actual["spend"], mean)
        row.update(spend, mae_mean=spend["mae"])
        if point is not None:
            row["mae"] = float(np.mean(np.abs(actual["spend"].to_numpy() - point)))
    return row


def evaluate(case: Case, *, bootstrap: int = 200) -> dict:
    from intelligence.ml import btyd, features, ltv, panel, training

    history = _history(case.frames, case)
    orders = history["orders"]
    started = time.perf_counter()
    others = (history["lines"], history["interactions"], history["events"])
    bundle = training.train_all(orders, *others, as_of=case.as_of, horizon_days=case.horizon_days)
    trained = time.perf_counter()
    ours = training.score_all(bundle, orders, *others, as_of=case.as_of)
    scored = time.perf_counter()

    # The baseline as published: one transaction per customer-day; CDNOW counts every line.
    if case.all_lines_count:
        counted = orders.assign(value=orders["total"])
    else:
        prepared = features.prepare_orders(orders, as_of=case.as_of)
        counted = prepared.loc[prepared["valid"]]
    summary = btyd.rfm_summary(counted, as_of=case.as_of)
    customers = summary.index
    later = case.frames["orders"]
    if case.history_start is not None:
        later = later.loc[later["placed_at"] >= case.history_start]
    actual = panel.window_outcomes(later, start=case.as_of, days=case.horizon_days).reindex(customers)
    actual = actual.fillna(0.0)
    actual["churn"] = (actual["orders"] == 0).astype(int)
    bg, gg = btyd.bgnbd_fit(summary), btyd.gamma_gamma_fit(summary)
    baseline = ltv.baseline_predictions(bg, gg, summary, horizon_days=case.horizon_days)
    rfm = rfm_rule_scores(summary, counted.groupby("customer_id")["value"].sum().reindex(customers))

    ours = ours.reindex(customers)
    median = ltv.median_from_mean(ours["predicted_spend"], ours["p_purchase"], bundle.ltv.shape)
    answers = {
        "ours": (ours["churn_probability"].to_numpy(), ours["predicted_spend"].to_numpy(), median),
        "bgnbd_gg": (baseline["churn_probability"].to_numpy(), baseline["predicted_spend"].to_numpy(), None),
        "rfm_rule": (rfm, None, None),
    }
    table = pd.DataFrame({name: _metrics(actual, *a) for name, a in answers.items()}).T.reindex(
        columns=COLUMNS
    )
    intervals = _intervals(actual, answers, bootstrap) if bootstrap else {}
    return {
        "case": case,
        "bundle": bundle,
        "customers": len(customers),
        "table": table,
        "intervals": intervals,
        "zero_mae": float(actual["spend"].mean()),
        "train_seconds": trained - started,
        "score_seconds": scored - trained,
        "churn_model": ours["churn_model"].iloc[0],
        "ltv_model": ours["ltv_model"].iloc[0],
    }


def _intervals(actual: pd.DataFrame, answers: dict, n: int) -> dict[str, tuple[float, float, float]]:
    """Paired bootstrap (customers resampled) 95% intervals of ours minus the others."""
    from intelligence.ml import evaluation

    y = actual["churn"].to_numpy()
    spend = actual["spend"].to_numpy()
    ours_c, ours_m, ours_med = answers["ours"]
    base_c, base_m, _ = answers["bgnbd_gg"]
    rfm = answers["rfm_rule"][0]
    metric_fns = {
        "roc_auc": lambda i: _auc(y[i], ours_c[i]) - _auc(y[i], base_c[i]),
        "pr_auc": lambda i: _ap(y[i], ours_c[i]) - _ap(y[i], base_c[i]),
        "brier": lambda i: np.mean((ours_c[i] - y[i]) ** 2) - np.mean((base_c[i] - y[i]) ** 2),
        "spearman": lambda i: _rho(spend[i], ours_m[i]) - _rho(spend[i], base_m[i]),
        "mae": lambda i: np.mean(np.abs(spend[i] - ours_med[i])) - np.mean(np.abs(spend[i] - base_m[i])),
        "total_ratio": lambda i: (
            abs(np.log(ours_m[i].sum() / spend[i].sum())) - abs(np.log(base_m[i].sum() / spend[i].sum()))
        ),
        "top_decile_capture": lambda i: (
            evaluation.top_decile_capture(spend[i], ours_m[i])
            - evaluation.top_decile_capture(spend[i], base_m[i])
        ),
        "roc_auc_vs_rfm": lambda i: _auc(y[i], ours_c[i]) - _auc(y[i], rfm[i]),
    }
    rng = np.random.default_rng(0)
    draws = [rng.integers(0, len(y), len(y)) for _ in range(n)]
    full = np.arange(len(y))
    out = {}
    for name, fn in metric_fns.items():
        values = np.array([fn(i) for i in draws])
        out[name] = (float(fn(full)), float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5)))
    return out


def _auc(y, p):
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(y, p)


def _ap(y, p):
    from sklearn.metrics import average_precision_score

    return average_precision_score(y, p)


def _rho(a, b):
    from scipy.stats import spearmanr

    return spearmanr(a, b).statistic


def report(result: dict) -> None:
    case, table, bundle = result["case"], result["table"], result["bundle"]
    print(f"\n== {case.name}: {result['customers']} customers with orders before {case.as_of.date()}")
    print(
        f"churn model {result['churn_model']} (carry weight {bundle.churn.carry_weight}), "
        f"ltv model {result['ltv_model']}; label window {bundle.plan.label_days} days, "
        f"cutoffs {[str(c.date()) for c in bundle.plan.cutoffs]}"
    )
    print(table.round(4).to_string())
    print(
        f"mae: ours = the median of our predictive spend distribution (the Bayes-optimal point "
        f"forecast under absolute error), bgnbd_gg = its mean as published; mae_mean: both means. "
        f"All-zero forecast MAE: {result['zero_mae']:.4f}"
    )
    if result["intervals"]:
        print(
            "ours minus bgnbd_gg (paired bootstrap 95%; brier, mae and |log total_ratio|: lower is better):"
        )
        for name, (point, low, high) in result["intervals"].items():
            better = (low > 0) if name not in ("brier", "mae", "total_ratio") else (high < 0)
            worse = (high < 0) if name not in ("brier", "mae", "total_ratio") else (low > 0)
            verdict = "better" if better else ("WORSE" if worse else "within noise")
            print(f"  {name:20s} {point:+.4f}  [{low:+.4f}, {high:+.4f}]  {verdict}")
    stored = {
        kind: {k: _round(bundle.metrics[kind].get(k)) for k in keys}
        for kind, keys in (
            ("churn", ("roc_auc", "pr_auc", "brier")),
            ("ltv", ("spend_spearman", "top_decile_capture", "mae")),
        )
    }
    print(f"stored with the model (time-split validation, {bundle.plan.label_days}-day window): {stored}")
    print(f"train {result['train_seconds']:.1f}s, score {result['score_seconds']:.1f}s")


def _round(value):
    return round(value, 4) if isinstance(value, float) else value


def main(*, robustness: bool = False, bootstrap: int = 200) -> pd.DataFrame:
    cases = [cdnow_case()] + (robustness_cases() if robustness else [])
    tables = []
    for case in cases:
        result = evaluate(case, bootstrap=bootstrap)
        report(result)
        tables.append(result["table"])
    return tables[0]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--robustness", action="store_true", help="also CDNOW at other dates and a generated shop"
    )
    parser.add_argument("--bootstrap", type=int, default=200, help="paired bootstrap draws (0: none)")
    args = parser.parse_args()
    main(robustness=args.robustness, bootstrap=args.bootstrap)
