"""Model quality on CDNOW: our models vs BG/NBD + Gamma-Gamma and an RFM rule.

as_of 1997-09-30 (orders up to and including that day are history), horizon 273 days
(39 weeks), holdout = the orders after as_of. Run: .venv/bin/python -m bench.model_quality
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

AS_OF = pd.Timestamp("1997-10-01", tz="UTC")  # end of 1997-09-30
HORIZON_DAYS = 273


def holdout_outcomes(orders: pd.DataFrame, customers: pd.Index) -> pd.DataFrame:
    from intelligence.ml import panel

    actual = panel.window_outcomes(orders, start=AS_OF, days=HORIZON_DAYS).reindex(customers).fillna(0.0)
    actual["churn"] = (actual["orders"] == 0).astype(int)
    return actual


def rfm_rule_scores(orders: pd.DataFrame, customers: pd.Index) -> np.ndarray:
    """Classic RFM cells (quintiles of recency, frequency, monetary; 1-5 each): churn score."""
    from intelligence.ml import btyd

    summary = btyd.rfm_summary(orders.assign(value=orders["total"]), as_of=AS_OF).reindex(customers)
    recency_days = (summary["T"] - summary["t_x"]) * 7.0
    frequency = summary["x"] + 1
    monetary = (
        orders.loc[orders["placed_at"] < AS_OF].groupby("customer_id")["total"].sum().reindex(customers)
    )

    def quintile(values: pd.Series) -> pd.Series:
        return pd.qcut(values.rank(method="first"), 5, labels=False) + 1

    score = quintile(-recency_days) + quintile(frequency) + quintile(monetary)
    return (15.0 - score.to_numpy(float)) / 12.0  # a lower RFM score means more likely to churn


def evaluate(models: dict[str, pd.DataFrame], actual: pd.DataFrame) -> pd.DataFrame:
    from intelligence.ml import evaluation

    rows = {}
    for name, pred in models.items():
        pred = pred.reindex(actual.index)
        row = evaluation.churn_metrics(actual["churn"], pred["churn_probability"])
        if "predicted_spend" in pred:
            row.update(evaluation.spend_metrics(actual["spend"], pred["predicted_spend"]))
        rows[name] = row
    return pd.DataFrame(rows).T


def main() -> pd.DataFrame:
    from intelligence.ml import btyd, cdnow, evaluation, ltv, training

    frames = cdnow.load_cdnow_frames()
    orders = frames["orders"]
    history = orders.loc[orders["placed_at"] < AS_OF]
    customers = pd.Index(sorted(history["customer_id"].unique()), name="customer_id")
    actual = holdout_outcomes(orders, customers)

    started = time.perf_counter()
    bundle = training.train_all(
        history,
        frames["lines"],
        frames["interactions"],
        frames["events"],
        as_of=AS_OF,
        horizon_days=HORIZON_DAYS,
    )
    trained = time.perf_counter()
    ours = training.score_all(
        bundle, history, frames["lines"], frames["interactions"], frames["events"], as_of=AS_OF
    )
    scored = time.perf_counter()

    # Baseline as published: every order counts (one transaction per customer-day).
    summary = btyd.rfm_summary(history.assign(value=history["total"]), as_of=AS_OF)
    bg, gg = btyd.bgnbd_fit(summary), btyd.gamma_gamma_fit(summary)
    baseline = ltv.baseline_predictions(bg, gg, summary, horizon_days=HORIZON_DAYS)
    rfm = pd.DataFrame({"churn_probability": rfm_rule_scores(history, customers)}, index=customers)
    rfm_auc = evaluation.churn_metrics(actual["churn"], rfm["churn_probability"])["roc_auc"]

    table = evaluate({"ours": ours, "bgnbd_gg": baseline}, actual)
    pd.set_option("display.width", 160)
    print(f"CDNOW: {len(customers)} customers, history before {AS_OF.date()}, horizon {HORIZON_DAYS} days")
    print(f"churn model: {ours['churn_model'].iloc[0]}, ltv model: {ours['ltv_model'].iloc[0]}")
    print(
        f"label window {bundle.plan.label_days} days, cutoffs {[str(c.date()) for c in bundle.plan.cutoffs]}"
    )
    print(f"BG/NBD {bg.as_dict()}  Gamma-Gamma {gg.as_dict()}")
    columns = [
        "roc_auc", "pr_auc", "brier", "spearman", "mae", "total_predicted", "total_actual", "total_ratio",
        "top_decile_capture",
    ]  # fmt: skip
    print(table[columns].round(4).to_string())
    print(f"RFM rules ROC AUC: {rfm_auc:.4f}")
    # MAE is not a proper score for an expected value: most customers spend nothing, so
    # the MAE-optimal answer is the conditional median (0 for anyone with P(buy) < 1/2)
    # and a lower total scores better. Context for the MAE column:
    spend = actual["spend"].to_numpy()
    ours_spend = ours.reindex(actual.index)["predicted_spend"].to_numpy()
    matched = ours_spend * table.loc["bgnbd_gg", "total_ratio"] / table.loc["ours", "total_ratio"]
    print(
        f"MAE of an all-zero forecast: {np.mean(np.abs(spend)):.4f}; "
        f"ours scaled to the baseline's total: {np.mean(np.abs(spend - matched)):.4f}"
    )
    wins = {
        "roc_auc": table.loc["ours", "roc_auc"] > table.loc["bgnbd_gg", "roc_auc"],
        "pr_auc": table.loc["ours", "pr_auc"] > table.loc["bgnbd_gg", "pr_auc"],
        "brier": table.loc["ours", "brier"] < table.loc["bgnbd_gg", "brier"],
        "spearman": table.loc["ours", "spearman"] > table.loc["bgnbd_gg", "spearman"],
        "mae": table.loc["ours", "mae"] < table.loc["bgnbd_gg", "mae"],
        "total_ratio": abs(np.log(table.loc["ours", "total_ratio"]))
        < abs(np.log(table.loc["bgnbd_gg", "total_ratio"])),
        "top_decile_capture": table.loc["ours", "top_decile_capture"]
        > table.loc["bgnbd_gg", "top_decile_capture"],
        "roc_auc_vs_rfm": table.loc["ours", "roc_auc"] > rfm_auc,
    }
    print("beats baseline: " + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in wins.items()))
    print(f"train {trained - started:.1f}s, score {scored - trained:.1f}s")
    return table


if __name__ == "__main__":
    main()
