"""The learned last step of multi-hop search: re-rank the best candidates of the hand-scored walk.

The walk (:mod:`sgmcp.multihop`) scores every definition it reaches by similarity to the question plus
hand-set graph priors. Its first answers are often near ties between a function and its caller, callee or
sibling. A conditional logit over the first ``RERANK_N`` candidates, on the walk's own evidence (the hand
score and its parts, each prior, how the candidate was reached, its kind, size and fan-in, how it relates
to the first candidate), picks among them and states the probability that its first answer is right.

The weights are fitted by ``python -m evals.multihop_fit --write`` on the spent multi-hop question sets and
shipped as ``hop_ranker.json`` next to this file. Inference is one small matrix product.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the walk imports this module
    from .multihop import _Node, _Walk

WEIGHTS_PATH = Path(__file__).with_name("hop_ranker.json")
RERANK_N = 15  # candidates of the hand ranking the model re-ranks (the rest follow in hand order)

# The walk's prior adjustments (``_Node.adj`` reasons), each a feature of its own: the model re-weighs them.
ADJ_REASONS = (
    "depth", "on a path from a named definition", "target search rank", "a method, as asked",
    "a utility called from many places", "not connected to the anchor", "not a method",
    "near the anchor by text only", "not a function", "not an inner function", "an inner function, as asked",
    "the starting point", "calls what the question names", "not a method of the type asked for",
    "a method of the type asked for", "named in the question",
)
# ... and the moves that reorder after scoring (recorded as flags).
ADJ_FLAGS = ("answers for its nested helpers", "what a thin wrapper forwards to")
VIAS = ("callee", "member", "subquery", "caller", "bridge", "ref", "search", "seed")
PARTS = ("target_cos", "question_cos", "target_overlap", "question_overlap")
FEATURES: tuple[str, ...] = (
    ("score", "score_gap") + PARTS + tuple(f"{p}_gap" for p in PARTS)
    + tuple(f"adj:{r}" for r in ADJ_REASONS) + tuple(f"flag:{r}" for r in ADJ_FLAGS)
    + tuple(f"via:{v}" for v in VIAS)
    + ("dist", "unreached", "log_fan_in", "log_callees", "log_lines", "method", "callable", "documented",
       "connected", "called_in_walk", "callee_of_first", "caller_of_first")
)
# Not a feature: how many words of the candidate's name the question uses. Fitted, it took a negative weight
# (+9 of 1,041 left out), learnt from how the suites are written (a question never names its answer); an
# agent describing what it wants often does use the words of its name.


class RankerError(ValueError):
    """The shipped weights do not fit this version's features."""


def features(walk: _Walk, nodes: list[_Node]) -> np.ndarray:
    """One row of ``FEATURES`` per node, for nodes in the walk's hand order (best first)."""
    from .multihop import _CALLABLE, UNREACHED

    if not nodes:
        return np.zeros((0, len(FEATURES)))
    parts = np.array([(n.parts or (0.0,) * 5)[:4] for n in nodes], dtype=float)
    best_parts, best_score = parts.max(axis=0), max(n.score for n in nodes)
    first = nodes[0].sym
    first_callees = {s.id for s in walk.callees(first)}
    connected = {i for i, n in walk.nodes.items() if n.connected}
    rows = []
    for rank, n in enumerate(nodes):
        sym, callees = n.sym, walk.callees(n.sym)
        row: list[float] = [n.score, n.score - best_score, *parts[rank], *(parts[rank] - best_parts)]
        row += [float(n.adj.get(r, 0.0)) for r in ADJ_REASONS]
        row += [float(r in n.adj) for r in ADJ_FLAGS]
        row += [float(n.via == v) for v in VIAS]
        others = rank > 0
        row += [
            float(min(n.dist, 5) if n.dist != UNREACHED else 6), float(n.dist == UNREACHED),
            math.log1p(walk.fan_in(sym)), math.log1p(len(callees)),
            math.log(sym.end_line - sym.start_line + 2), float(sym.kind == "method"),
            float(sym.kind in _CALLABLE), float(bool(sym.doc)), float(n.connected),
            float(any(c.id in connected for c in walk.callers(sym))),
            float(others and sym.id in first_callees),
            float(others and any(c.id == first.id for c in callees)),
        ]
        rows.append(row)
    return np.array(rows, dtype=float)


@dataclass(frozen=True)
class HopRanker:
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    meta: dict[str, Any]

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Softmax over the candidates (rows of ``x``): how likely each is the answer."""
        z = ((x - self.mean) / self.scale) @ self.weights
        z = np.exp(z - z.max())
        return z / z.sum()

    def as_json(self) -> dict[str, Any]:
        return {"format": 1, "features": list(FEATURES), "mean": self.mean.round(6).tolist(),
                "scale": self.scale.round(6).tolist(), "weights": self.weights.round(6).tolist(), "meta": self.meta}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> HopRanker:
        if data.get("format") != 1 or data.get("features") != list(FEATURES):
            raise RankerError("the multi-hop ranker's weights were fitted for other features: refit them with "
                              "`python -m evals.multihop_fit --write`")
        arrays = [np.asarray(data[k], dtype=float) for k in ("mean", "scale", "weights")]
        if any(a.shape != (len(FEATURES),) for a in arrays) or not all(np.isfinite(a).all() for a in arrays) \
                or (arrays[1] <= 0).any():
            raise RankerError("the multi-hop ranker's weights are malformed")
        return cls(*arrays, meta=dict(data.get("meta") or {}))


_LOADED: dict[Path, HopRanker] = {}


def load(path: Path = WEIGHTS_PATH) -> HopRanker:
    if path not in _LOADED:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise RankerError(f"cannot read the multi-hop ranker's weights {path}: {e}") from e
        _LOADED[path] = HopRanker.from_json(data)
    return _LOADED[path]
