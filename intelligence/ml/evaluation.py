"""Model quality metrics (the same figures for our models and the baselines)."""

from __future__ import annotations

import numpy as np


def churn_metrics(y_churn, p_churn) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision, churn = positive class) and Brier score."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(y_churn, int)
    p = np.clip(np.asarray(p_churn, float), 0.0, 1.0)
    if len(np.unique(y)) < 2:
        return {"roc_auc": float("nan"), "pr_auc": float("nan"), "brier": float(brier_score_loss(y, p))}
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
    }


def top_decile_capture(actual, predicted) -> float:
    """Share of the actual total held by the top 10% of customers by prediction."""
    actual = np.asarray(actual, float)
    predicted = np.asarray(predicted, float)
    total = actual.sum()
    if total <= 0 or len(actual) == 0:
        return float("nan")
    n_top = max(1, int(np.ceil(0.1 * len(actual))))
    order = np.argsort(-predicted, kind="mergesort")
    return float(actual[order[:n_top]].sum() / total)


def spend_metrics(actual_spend, predicted_spend) -> dict[str, float]:
    from scipy.stats import spearmanr

    actual = np.asarray(actual_spend, float)
    predicted = np.asarray(predicted_spend, float)
    total_actual = actual.sum()
    return {
        "spearman": float(spearmanr(actual, predicted).statistic) if len(actual) > 1 else float("nan"),
        "mae": float(np.mean(np.abs(actual - predicted))),
        "total_predicted": float(predicted.sum()),
        "total_actual": float(total_actual),
        "total_ratio": float(predicted.sum() / total_actual) if total_actual > 0 else float("nan"),
        "top_decile_capture": top_decile_capture(actual, predicted),
    }
