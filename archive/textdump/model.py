"""The learned line classifier: two stacked logistic regressions over line features.

Stage one scores each line from its own features and its neighbours'. Stage two sees stage
one's scores around the line (is it inside a run of article lines, how far from the nearest
one), which is what a person uses to tell an in-article heading from a menu item.
Weights are plain JSON trained by tools/train_textdump.py; inference is numpy only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from archive.textdump.features import FEATURES, densest_block

MODEL_FILE = "textdump_model.json"
STAGE2_FEATURES = (
    "p", "logit", "p_prev", "p_next", "p_win2", "p_win5", "p_win12", "p_max_before",
    "p_max_after", "in_p_block", "dist_p_block_start", "dist_p_block_end", "p_block_share",
)


@dataclass(frozen=True, slots=True)
class LogisticLayer:
    """Standardise, then a linear score squashed to a probability."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float

    def logits(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.weights + self.bias

    def to_json(self) -> dict[str, Any]:
        return {"kind": "logistic", "mean": _rounded(self.mean), "scale": _rounded(self.scale),
                "weights": _rounded(self.weights), "bias": round(float(self.bias), 6)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LogisticLayer:
        return cls(np.asarray(data["mean"], dtype=float), np.asarray(data["scale"], dtype=float),
                   np.asarray(data["weights"], dtype=float), float(data["bias"]))


@dataclass(frozen=True, slots=True)
class TreeLayer:
    """Boosted regression trees over raw features, summed into a logit.

    All trees are walked at once: one array of current nodes per (row, tree), advanced one
    level per step, so the cost is a few numpy operations per level, not per tree.
    """

    feature: np.ndarray  # per node, over all trees; -1 marks a leaf
    threshold: np.ndarray
    left: np.ndarray  # absolute node indexes; a leaf points to itself
    right: np.ndarray
    value: np.ndarray  # leaf contributions (already scaled by the learning rate)
    roots: np.ndarray
    depth: int
    bias: float

    def logits(self, x: np.ndarray) -> np.ndarray:
        x32 = x.astype(np.float32).astype(float)  # split points were chosen on float32 data
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        rows = np.arange(len(x))[:, None]
        feature = np.maximum(self.feature, 0)
        for _ in range(self.depth):
            go_left = x32[rows, feature[node]] <= self.threshold[node]
            node = np.where(go_left, self.left[node], self.right[node])
        return self.value[node].sum(axis=1) + self.bias

    def to_json(self) -> dict[str, Any]:
        return {"kind": "trees", "feature": self.feature.tolist(),
                "threshold": _rounded(self.threshold), "left": self.left.tolist(),
                "right": self.right.tolist(), "value": _rounded(self.value),
                "roots": self.roots.tolist(), "depth": self.depth, "bias": round(self.bias, 6)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TreeLayer:
        return cls(np.asarray(data["feature"], dtype=np.int64),
                   np.asarray(data["threshold"], dtype=float),
                   np.asarray(data["left"], dtype=np.int64),
                   np.asarray(data["right"], dtype=np.int64),
                   np.asarray(data["value"], dtype=float),
                   np.asarray(data["roots"], dtype=np.int64), int(data["depth"]),
                   float(data["bias"]))


Layer = LogisticLayer | TreeLayer


@dataclass(frozen=True, slots=True)
class Ranker:
    """A linear score over the features of competing candidates (headline lines, outlet
    names); the page's best-scoring candidate wins."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray

    def scores(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.weights

    def contributions(self, row: np.ndarray) -> dict[str, float]:
        """How much each feature adds to one candidate's score (for provenance)."""
        parts = (row - self.mean) / self.scale * self.weights
        return dict(zip(self.features, parts.tolist(), strict=True))

    def to_json(self) -> dict[str, Any]:
        return {"features": list(self.features), "mean": _rounded(self.mean),
                "scale": _rounded(self.scale), "weights": _rounded(self.weights)}

    @classmethod
    def from_json(cls, data: dict[str, Any], features: tuple[str, ...]) -> Ranker:
        if tuple(data["features"]) != tuple(features):
            raise ValueError("a ranker was trained on other features; retrain the model")
        return cls(tuple(features), np.asarray(data["mean"], dtype=float),
                   np.asarray(data["scale"], dtype=float), np.asarray(data["weights"], dtype=float))


# What an acceptor sees of a ranked field besides the winner's own features: how sure the
# ranker is (its softmax share and its lead over the runner-up) and how crowded the field is.
ACCEPT_CONTEXT = ("share", "lead", "log_candidates")


def ranking_context(scores: np.ndarray) -> np.ndarray:
    """The ranker's certainty about its best candidate, as the acceptor's first features.

    `scores` holds the winner's and its rivals' only (see `rivals`)."""
    order = np.argsort(-scores)
    top = float(scores[order[0]])
    shares = np.exp(scores - top)
    lead = top - float(scores[order[1]]) if len(scores) > 1 else 10.0
    return np.array([1.0 / float(shares.sum()), min(lead, 10.0), np.log(len(scores))])


def rivals(values: list[str], best: int) -> np.ndarray:
    """Which candidates compete with the winner: a name that extends the winner's ("CityLab
    Daily" beside "CityLab", a newsletter or section of the same site) backs it up."""
    stem = values[best].casefold() + " "
    return np.array([k == best or not value.casefold().startswith(stem)
                     for k, value in enumerate(values)])


@dataclass(frozen=True, slots=True)
class Acceptor:
    """Whether a ranker's winner is right: a probability, and the cut below which the archive
    stores nothing rather than a guess (fitted on pages the ranker was not trained on)."""

    features: tuple[str, ...]
    layer: LogisticLayer
    threshold: float

    def confidence(self, scores: np.ndarray, row: np.ndarray) -> float:
        x = np.concatenate([ranking_context(scores), row])[None, :]
        return float(sigmoid(self.layer.logits(x))[0])

    def to_json(self) -> dict[str, Any]:
        return {"features": list(self.features), "layer": self.layer.to_json(),
                "threshold": round(self.threshold, 6)}

    @classmethod
    def from_json(cls, data: dict[str, Any], features: tuple[str, ...]) -> Acceptor:
        expected = (*ACCEPT_CONTEXT, *features)
        if tuple(data["features"]) != expected:
            raise ValueError("an acceptor was trained on other features; retrain the model")
        return cls(expected, LogisticLayer.from_json(data["layer"]), float(data["threshold"]))


def layer_from_json(data: dict[str, Any]) -> Layer:
    if data.get("kind") == "trees":
        return TreeLayer.from_json(data)
    return LogisticLayer.from_json(data)


@dataclass(frozen=True, slots=True)
class LineModel:
    stage1: Layer
    stage2: Layer
    threshold: float = 0.5
    title_ranker: Ranker | None = None
    outlet_ranker: Ranker | None = None
    title_accept: Acceptor | None = None
    outlet_accept: Acceptor | None = None

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Probability that each row (a non-empty line) belongs to the article."""
        if not len(x):
            return np.zeros(0)
        first = sigmoid(self.stage1.logits(x))
        return sigmoid(self.stage2.logits(np.hstack([x, stage2_context(first)])))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "features": list(FEATURES), "stage2_features": list(STAGE2_FEATURES),
            "stage1": self.stage1.to_json(), "stage2": self.stage2.to_json(),
            "threshold": self.threshold}
        if self.title_ranker is not None:
            data["title_ranker"] = self.title_ranker.to_json()
        if self.outlet_ranker is not None:
            data["outlet_ranker"] = self.outlet_ranker.to_json()
        for name, acceptor in (("title_accept", self.title_accept),
                               ("outlet_accept", self.outlet_accept)):
            if acceptor is not None:
                data[name] = acceptor.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LineModel:
        if list(data["features"]) != list(FEATURES) or \
                list(data["stage2_features"]) != list(STAGE2_FEATURES):
            raise ValueError("the line model was trained on other features; retrain it")
        from archive.textdump.outlet import OUTLET_ACCEPT, OUTLET_FEATURES
        from archive.textdump.title import TITLE_ACCEPT, TITLE_FEATURES

        title = data.get("title_ranker")
        outlet = data.get("outlet_ranker")
        title_accept = data.get("title_accept")
        outlet_accept = data.get("outlet_accept")
        return cls(layer_from_json(data["stage1"]), layer_from_json(data["stage2"]),
                   float(data.get("threshold", 0.5)),
                   Ranker.from_json(title, TITLE_FEATURES) if title else None,
                   Ranker.from_json(outlet, OUTLET_FEATURES) if outlet else None,
                   Acceptor.from_json(title_accept, TITLE_ACCEPT) if title_accept else None,
                   Acceptor.from_json(outlet_accept, OUTLET_ACCEPT) if outlet_accept else None)


@lru_cache(maxsize=1)
def shipped_model() -> LineModel:
    """The model in archive/data, loaded once per process."""
    text = (resources.files("archive") / "data" / MODEL_FILE).read_text(encoding="utf-8")
    return LineModel.from_json(json.loads(text))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def stage2_context(p: np.ndarray) -> np.ndarray:
    """Features of each row built from the stage-one probabilities around it."""
    n = len(p)
    idx = np.arange(n)
    logit = np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1))
    prev = np.concatenate([[0.0], p[:-1]])
    nxt = np.concatenate([p[1:], [0.0]])
    cum = np.concatenate([[0.0], np.cumsum(p)])

    def window(radius: int) -> np.ndarray:
        lo = np.maximum(0, idx - radius)
        hi = np.minimum(n, idx + radius + 1)
        return (cum[hi] - cum[lo] - p) / np.maximum(1, hi - lo - 1)

    max_before = np.concatenate([[0.0], np.maximum.accumulate(p)[:-1]])
    max_after = np.concatenate([np.maximum.accumulate(p[::-1])[::-1][1:], [0.0]])
    start, end = densest_block(p - 0.5)
    in_block = ((idx >= start) & (idx <= end)).astype(float)
    return np.column_stack([
        p, logit, prev, nxt, window(2), window(5), window(12), max_before, max_after, in_block,
        np.log1p(np.maximum(0, start - idx)), np.log1p(np.maximum(0, idx - end)),
        np.full(n, (end - start + 1) / max(1, n)),
    ])


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]
