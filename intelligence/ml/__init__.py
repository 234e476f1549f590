"""Machine learning internals of the intelligence app (pure pandas/numpy/scipy/
scikit-learn/LightGBM; no Django models imported here).

Contract with the Django side (intelligence/services/*):

features.build_features(orders, lines, interactions, events, *, as_of) -> DataFrame
    Index: customer_id (str). About 66 float columns (NaN where a source lacks
    the input). Frames are those of ingestion.interface (*_frame); lines,
    interactions and events may be empty frames.
features.FEATURE_CATALOGUE: tuple[FeatureSpec(name, axis, definition, unit), ...]
features.AXES: tuple of the 14 axis names.

training.train_all(orders, lines, interactions, events, *, as_of, horizon_days,
                   progress=None) -> TrainedBundle
    Picklable. .segmentation, .churn, .ltv, .metrics (dict per kind:
    roc_auc, pr_auc, brier, spearman, top_decile_capture, mae, ...),
    .params (dict per kind), .training_window (start, end dates),
    .archetypes (list of dicts: archetype_id, name, centroid, size).
    `progress` is an optional callable(step: str, done: int, total: int).

training.score_all(bundle, orders, lines, interactions, events, *, as_of,
                   horizon_days=None) -> DataFrame
    Index customer_id (str); columns:
      churn_probability (float, P(no order in horizon_days after as_of)),
      risk_band ("low" | "medium" | "high"), churn_model (str),
      churn_confidence ("low" | "medium" | "high"),
      top_factors (list of dicts: feature, label, value, contribution, direction),
      recommendations (list of str),
      predicted_spend, spend_p10, spend_p90, expected_orders, p_purchase (floats),
      expected_next_order_date (datetime64 or NaT), ltv_model, ltv_confidence,
      archetype (str), archetype_id (str), axes (dict axis -> {"label", "strength"}),
      horizon_days (int)
    plus every feature column.
"""
