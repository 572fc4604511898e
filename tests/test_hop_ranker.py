"""sgmcp/hop_ranker.py (the shipped weights, their checks) and its fitter evals/multihop_fit.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evals import multihop_fit
from sgmcp import hop_ranker
from sgmcp.hop_ranker import FEATURES, HopRanker, RankerError


def test_shipped_weights_fit_the_features_and_say_how_they_were_fitted() -> None:
    ranker = hop_ranker.load()
    assert ranker.weights.shape == (len(FEATURES),)
    meta = ranker.meta
    assert meta["questions"] >= 700 and len(meta["trained_on"]) >= 20
    assert meta["loso"]["learned"] > meta["loso"]["hand"]
    p = ranker.probabilities(np.random.default_rng(0).normal(size=(7, len(FEATURES))))
    assert p.shape == (7,) and p.sum() == pytest.approx(1.0) and (p > 0).all()


def test_adjustment_features_name_reasons_the_walk_gives() -> None:
    source = (Path(hop_ranker.__file__).parent / "multihop.py").read_text()
    for reason in hop_ranker.ADJ_REASONS + hop_ranker.ADJ_FLAGS:
        assert f'"{reason}"' in source, reason


def test_weights_for_other_features_or_malformed_are_refused(tmp_path: Path) -> None:
    good = hop_ranker.load().as_json()
    assert HopRanker.from_json(json.loads(json.dumps(good))).weights.tolist() == good["weights"]
    with pytest.raises(RankerError, match="refit"):
        HopRanker.from_json(good | {"features": good["features"][:-1]})
    with pytest.raises(RankerError, match="malformed"):
        HopRanker.from_json(good | {"scale": [0.0] * len(FEATURES)})
    with pytest.raises(RankerError, match="malformed"):
        HopRanker.from_json(good | {"weights": good["weights"][:3]})
    bad = tmp_path / "w.json"
    bad.write_text("{not json")
    with pytest.raises(RankerError, match="cannot read"):
        hop_ranker.load(bad)


def _questions(rng: np.random.Generator, n: int, signal: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Candidates whose hand score is noise and whose gold has the highest ``signal`` feature."""
    groups = []
    for _ in range(n):
        x = rng.normal(size=(8, len(FEATURES)))
        y = np.zeros(8)
        y[int(np.argmax(x[:, signal]))] = 1.0
        groups.append((x, y))
    return groups


def test_the_fit_learns_what_picks_the_gold_over_the_hand_score() -> None:
    rng = np.random.default_rng(1)
    signal = FEATURES.index("target_cos_gap")
    ranker = HopRanker(**multihop_fit.fit(_questions(rng, 200, signal)), meta={})
    test = _questions(rng, 100, signal)
    right = sum(bool(y[int(np.argmax(ranker.probabilities(x)))]) for x, y in test)
    hand = sum(bool(y[int(np.argmax(x[:, FEATURES.index("score")]))]) for x, y in test)
    assert right >= 70 and hand < 25  # chance: 1 in 8 (seeds 0-3: 83-92)


def test_leave_one_set_out_reports_each_set_and_the_calibration() -> None:
    rng = np.random.default_rng(2)
    signal = FEATURES.index("log_lines")
    rows = [{"id": f"{s}/{i}", "set": s, "features": x.tolist(), "gold": [bool(v) for v in y]}
            for s in ("a", "b", "c") for i, (x, y) in enumerate(_questions(rng, 20, signal))]
    rows.append({"id": "c/unreached", "set": "c", "features": [], "gold": []})  # the walk found nothing
    report = multihop_fit.loso(rows, iters=200)
    assert report["n"] == 61 and set(report["by_set"]) == {"a", "b", "c"}
    assert report["by_set"]["c"]["n"] == 21
    assert report["learned"] >= 30 and report["hand"] <= 15  # chance: 1 in 8
    assert sum(b["n"] for b in report["calibration"]) == 60


def test_a_cache_collected_with_other_features_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    cache = tmp_path / "cache.json"
    cache.write_text(json.dumps([{"id": "a/1", "set": "a", "features": [[0.0] * (len(FEATURES) + 1)],
                                  "gold": [True]}]))
    with pytest.raises(SystemExit) as exit_info:
        multihop_fit.main(["--sets", "a", "--cache", str(cache)])
    assert exit_info.value.code == 2 and "other features" in capsys.readouterr().err
