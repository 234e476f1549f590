"""Machine learning internals of the intelligence app (pure pandas/numpy/scipy/
scikit-learn/LightGBM; no Django models imported here).

Contract with the Django side (intelligence/services/*):

features.build_features(orders, lines, interactions, events, *, as_of,
                        btyd_params=None, gg_params=None) -> DataFrame
    Index: customer_id (str). 73 float columns in catalogue order (NaN where a
    source lacks the input). Frames are those of ingestion.interface (*_frame);
    lines, interactions and events may be empty frames (or None).
    `as_of` is an exclusive instant: only rows placed/occurring before it count
    (a `date` means 00:00 UTC of that date).
features.FEATURE_CATALOGUE: tuple[FeatureSpec(name, axis, definition, unit), ...]
features.AXES: tuple of the 14 axis names.

training.train_all(orders, lines, interactions, events, *, as_of, horizon_days,
                   progress=None) -> TrainedBundle
    Picklable. .plan (label window, cutoffs; label_days < horizon_days when the
    history is short and answers are carried to the horizon with BG/NBD),
    .segmentation, .churn, .ltv, .metrics (dict per kind:
    roc_auc, pr_auc, brier, spend_spearman, top_decile_capture, mae, ...),
    .params (dict per kind), .training_window (start, end dates),
    .archetypes (list of dicts: archetype_id, name, centroid, size).
    .params also holds "bgnbd" and "gamma_gamma" (population BTYD parameters,
    reused at scoring so one customer scores like everyone).
    Everything is learned from the active customers (an order within
    panel.ACTIVE_LOOKBACK_DAYS); long-lapsed ones are scored, never learned from.
    `progress` is an optional callable(step: str, done: int, total: int);
    `threads` (optional int) caps LightGBM threads.

training.score_all(bundle, orders, lines, interactions, events, *, as_of,
                   horizon_days=None) -> DataFrame
    Index customer_id (str); columns:
      churn_probability (float, P(no order in horizon_days after as_of)),
      risk_band ("low" | "medium" | "high"), churn_model (str),
      churn_confidence ("low" | "medium" | "high"),
      top_factors (list of dicts: feature, label, value, contribution, direction),
      recommendations (list of str),
      predicted_spend, spend_p10, spend_p90 (p10-p90 widened to hold predicted_spend),
      expected_orders, p_purchase (floats),
      expected_next_order_date (datetime64 or NaT), ltv_model, ltv_confidence,
      archetype (str), archetype_id (str), axes (dict axis -> {"label", "strength"}),
      horizon_days (int)
    plus every feature column and bg_p_none_window / bg_expected_window.
    A horizon shorter than the trained label window is answered by BG/NBD
    (churn_model "bgnbd"), never by a model trained for another window.

training.score_chunks(..., chunk_size=None) -> ScoreChunks(total, parts)
    The same rows as consecutive frames of chunk_size customers: the numbers are
    computed for everyone at once, the per-customer objects chunk by chunk.

Other modules: btyd (BG/NBD, Gamma-Gamma), panel (windows, cutoffs, horizon
carry), churn, ltv, segmentation, explain (factor_label, recommendations),
evaluation (metrics), cdnow (CDNOW loader for tests and bench/model_quality.py).
"""
