"""Exact path-dependent TreeSHAP for shallow LightGBM trees, from per-leaf tables.

LightGBM's `pred_contrib` walks every tree with the general TreeSHAP recursion
(cost ~ leaves x depth^2 per tree and row), which was half of a batch scoring.
For a tree, the expectation that TreeSHAP explains is a sum over leaves of
`value x prod over the leaf's path of (x goes this way, for a feature in the
coalition; else the cover share of this branch)`. So a leaf's share of every
SHAP value depends on the row only through which of the leaf's (at most depth)
path features the row agrees with. Those 2^k answers are tabled once per model
(FastTreeSHAP's "v2" idea); a row then costs a comparison per split and a table
look-up per leaf. The values are those of LightGBM (tests compare them), and
models with a categorical split or paths too deep to table go to LightGBM.

Kernels are compiled with numba (cached on disk), the rows spread over all cores.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numba
import numpy as np

MAX_PATH_FEATURES = 8  # 2^8 table rows per leaf; deeper models use LightGBM's own TreeSHAP
_MISSING = {"None": 0, "Zero": 1, "NaN": 2}
_ZERO = 1e-35  # LightGBM's kZeroThreshold


@dataclass(frozen=True)
class TreeTables:
    """Every tree's splits and its leaves' SHAP tables, as flat arrays for the kernel."""

    n_features: int
    expected_value: float  # the trees' mean output (LightGBM's last contribution column)
    # splits [tree, node]
    split_feature: np.ndarray
    threshold: np.ndarray
    default_left: np.ndarray
    missing: np.ndarray
    # leaves [tree, leaf, step] along the path from the root
    path_length: np.ndarray
    path_node: np.ndarray
    path_left: np.ndarray  # the path goes to the left child at this step
    path_slot: np.ndarray  # index of the step's feature among the leaf's path features
    slot_feature: np.ndarray  # [tree, leaf, slot]
    n_slots: np.ndarray  # [tree, leaf]
    table: np.ndarray  # [tree, leaf, pattern, slot]: the leaf's share of that slot's SHAP value


def tables_from_booster(booster) -> TreeTables | None:
    """The tables of a LightGBM booster; None when a tree has a categorical split or a leaf
    path with more distinct features than MAX_PATH_FEATURES."""
    model = booster.dump_model()
    trees = [t["tree_structure"] for t in model["tree_info"]]
    parsed = [_tree_paths(root) for root in trees]
    if any(p is None for p in parsed):
        return None
    n_trees = len(parsed)
    max_nodes = max([len(nodes) for nodes, _ in parsed] + [1])
    max_leaves = max(len(leaves) for _, leaves in parsed)
    max_depth = max([len(path) for _, leaves in parsed for _, path in leaves] + [1])
    max_slots = max(
        [len({nodes[n][0] for n, _ in path}) for nodes, leaves in parsed for _, path in leaves] + [1]
    )
    if max_slots > MAX_PATH_FEATURES:
        return None
    split_feature = np.zeros((n_trees, max_nodes), np.int64)
    threshold = np.zeros((n_trees, max_nodes), np.float64)
    default_left = np.zeros((n_trees, max_nodes), np.bool_)
    missing = np.zeros((n_trees, max_nodes), np.int64)
    path_length = np.zeros((n_trees, max_leaves), np.int64)
    path_node = np.zeros((n_trees, max_leaves, max_depth), np.int64)
    path_left = np.zeros((n_trees, max_leaves, max_depth), np.bool_)
    path_slot = np.zeros((n_trees, max_leaves, max_depth), np.int64)
    slot_feature = np.zeros((n_trees, max_leaves, max_slots), np.int64)
    n_slots = np.zeros((n_trees, max_leaves), np.int64)
    leaf_value = np.zeros((n_trees, max_leaves), np.float64)
    slot_share = np.ones((n_trees, max_leaves, max_slots), np.float64)
    expected = 0.0
    for t, (nodes, leaves) in enumerate(parsed):
        for n, (feature, thr, left_default, miss, _) in enumerate(nodes):
            split_feature[t, n], threshold[t, n] = feature, thr
            default_left[t, n], missing[t, n] = left_default, miss
        for leaf, (value, path) in enumerate(leaves):
            features: list[int] = []
            share: list[float] = []  # per slot: product of the cover shares of its steps
            for step, (node, left) in enumerate(path):
                feature, _, _, _, counts = nodes[node]
                if feature not in features:
                    features.append(feature)
                    share.append(1.0)
                slot = features.index(feature)
                share[slot] *= counts[0 if left else 1] / (counts[0] + counts[1])
                path_node[t, leaf, step] = node
                path_left[t, leaf, step] = left
                path_slot[t, leaf, step] = slot
            path_length[t, leaf], n_slots[t, leaf] = len(path), len(features)
            slot_feature[t, leaf, : len(features)] = features
            slot_share[t, leaf, : len(features)] = share
            leaf_value[t, leaf] = value
            expected += value * float(np.prod(share))
    table = np.zeros((n_trees, max_leaves, 1 << max_slots, max_slots), np.float64)
    _fill_tables(leaf_value, slot_share, n_slots, table)
    return TreeTables(
        n_features=booster.num_feature(),
        expected_value=expected,
        split_feature=split_feature,
        threshold=threshold,
        default_left=default_left,
        missing=missing,
        path_length=path_length,
        path_node=path_node,
        path_left=path_left,
        path_slot=path_slot,
        slot_feature=slot_feature,
        n_slots=n_slots,
        table=table,
    )


def _tree_paths(root: dict):
    """(splits, leaves): splits as (feature, threshold, default_left, missing, (left count, right
    count)) by node number; leaves as (value, [(node, went left)] from the root). None when a
    split is categorical."""
    nodes: list = []
    leaves: list = []

    def count(node: dict) -> float:
        return float(node["internal_count"] if "split_index" in node else node["leaf_count"])

    def walk(node: dict, path: list) -> bool:
        if "leaf_value" in node:
            leaves.append((float(node["leaf_value"]), path))
            return True
        if node["decision_type"] != "<=":
            return False
        number = len(nodes)
        left, right = node["left_child"], node["right_child"]
        nodes.append(
            (
                int(node["split_feature"]),
                float(node["threshold"]),
                bool(node["default_left"]),
                _MISSING[node["missing_type"]],
                (count(left), count(right)),
            )
        )
        return walk(left, [*path, (number, True)]) and walk(right, [*path, (number, False)])

    return (nodes, leaves) if walk(root, []) else None


@numba.njit(cache=True)
def _fill_tables(leaf_value, slot_share, n_slots, table):
    """table[tree, leaf, pattern, slot]: the leaf's contribution to each path feature's SHAP
    value, for each pattern of agreement (bit j: the row follows this path at every split on
    slot j's feature).

    The leaf's part of E[f | x_S] is value x prod(j in S: agrees_j) x prod(j not in S: share_j);
    the Shapley value over the leaf's k path features (the others change nothing) weighs each
    coalition S without j by |S|! (k - |S| - 1)! / k!. The sum over coalitions is grown one
    feature at a time as a polynomial in the coalition size.
    """
    n_trees, n_leaves = n_slots.shape
    poly = np.zeros(MAX_PATH_FEATURES + 1)
    for t in range(n_trees):
        for leaf in range(n_leaves):
            k = n_slots[t, leaf]
            for pattern in range(1 << k):
                for j in range(k):
                    poly[:] = 0.0
                    poly[0] = 1.0
                    size = 0
                    for i in range(k):
                        if i == j:
                            continue
                        agree = (pattern >> i) & 1
                        size += 1
                        for s in range(size, 0, -1):
                            poly[s] = poly[s] * slot_share[t, leaf, i] + poly[s - 1] * agree
                        poly[0] *= slot_share[t, leaf, i]
                    total = 0.0
                    for s in range(k):
                        total += poly[s] * _weight(s, k)
                    agree_j = (pattern >> j) & 1
                    table[t, leaf, pattern, j] = (
                        leaf_value[t, leaf] * total * (agree_j - slot_share[t, leaf, j])
                    )


@numba.njit(cache=True)
def _weight(size, k):
    """|S|! (k - |S| - 1)! / k!"""
    out = 1.0 / k
    for i in range(1, size + 1):
        out *= i / (k - i)
    return out


def shap_values(tables: TreeTables, X: np.ndarray) -> np.ndarray:
    """[row, feature + 1]: SHAP values in the model's raw (log-odds) scale, last column the
    expected value, as LightGBM's `predict(X, pred_contrib=True)`."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    out = np.zeros((X.shape[0], tables.n_features + 1))
    _rows_shap(
        X,
        tables.split_feature,
        tables.threshold,
        tables.default_left,
        tables.missing,
        tables.path_length,
        tables.path_node,
        tables.path_left,
        tables.path_slot,
        tables.slot_feature,
        tables.n_slots,
        tables.table,
        out,
    )
    out[:, -1] = tables.expected_value
    return out


_BLOCK = 256  # rows per task: each tree's splits and tables stay in cache across a block


@numba.njit(parallel=True, cache=True, nogil=True)
def _rows_shap(
    X, split_feature, threshold, default_left, missing, path_length, path_node, path_left, path_slot,
    slot_feature, n_slots, table, out,
):  # fmt: skip
    n_rows = X.shape[0]
    n_trees, n_nodes = split_feature.shape
    n_leaves = path_length.shape[1]
    for block in numba.prange((n_rows + _BLOCK - 1) // _BLOCK):
        goes_left = np.empty(n_nodes, np.bool_)
        for t in range(n_trees):
            for r in range(block * _BLOCK, min(n_rows, (block + 1) * _BLOCK)):
                for n in range(n_nodes):
                    goes_left[n] = _decision(
                        X[r, split_feature[t, n]], threshold[t, n], default_left[t, n], missing[t, n]
                    )
                for leaf in range(n_leaves):
                    k = n_slots[t, leaf]
                    length = path_length[t, leaf]
                    if length == 0 and leaf > 0:
                        break  # past this tree's leaves
                    pattern = (1 << k) - 1
                    for s in range(length):
                        if goes_left[path_node[t, leaf, s]] != path_left[t, leaf, s]:
                            pattern &= ~(1 << path_slot[t, leaf, s])
                    for j in range(k):
                        out[r, slot_feature[t, leaf, j]] += table[t, leaf, pattern, j]


@numba.njit(cache=True, inline="always")
def _decision(value, threshold, default_left, missing):
    """LightGBM's numerical split: True when the row goes to the left child."""
    if np.isnan(value) and missing != 2:
        value = 0.0
    if (missing == 1 and abs(value) <= _ZERO) or (missing == 2 and np.isnan(value)):
        return default_left
    return value <= threshold


# booster -> its tables (None: not tabled); weak, so a replaced model's tables go with it.
_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_TABLES_LOCK = threading.Lock()


def tables_for(booster) -> TreeTables | None:
    """The booster's tables, built once per process."""
    try:
        return _TABLES[booster]
    except KeyError:
        pass
    tables = tables_from_booster(booster)
    with _TABLES_LOCK:
        _TABLES[booster] = tables
    return tables
