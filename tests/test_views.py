"""evals/views.py: the view texts and the fusion / weight search, on a tiny in-memory example (no model)."""

from __future__ import annotations

import numpy as np

from evals.views import (VIEWS, Corpus, check_fast_path, compare, dense_lists, gold_rank, grid_search, pick, ranked,
                         settings_grid, stratified_bootstrap, struct_text, symbol_text, top_offsets)

ROW = {"id": "a", "path": "auth.py", "kind": "method", "name": "authenticate_user", "qualname": "UserService.authenticate_user",
       "container": "UserService", "signature": "def authenticate_user(self, userName: str, password: str) -> bool:",
       "parameters": "(self, userName: str, password: str)", "return_type": "bool",
       "calls": ["check_password", "getUser", "check_password"], "imports": ["hashlib"]}


def test_struct_text():
    assert struct_text(ROW) == ("method authenticate_user of UserService\n"
                                "parameters: (self, userName: str, password: str)\nreturns: bool\n"
                                "calls: check_password, getUser\nimports: hashlib")
    # no parameters column: the signature; empty parts left out
    bare = {"kind": "function", "name": "f", "signature": "fn f()", "parameters": "", "calls": [], "imports": None}
    assert struct_text(bare) == "function f\nparameters: fn f()"


def test_symbol_text():
    assert symbol_text(ROW) == "authenticate user service self name str password bool check get hashlib"
    assert symbol_text({"name": "parseHTTPResponse_v2"}) == "parse http response"  # one-letter words dropped
    assert symbol_text({}) == ""


def test_top_offsets():
    scores = np.array([0.1, 0.9, 0.5, 0.9, -1.0], dtype=np.float32)
    assert top_offsets(scores, 3) == [1, 3, 2]  # ties: lower offset first
    assert top_offsets(scores, 10) == [1, 3, 2, 0, 4]
    assert top_offsets(np.array([], dtype=np.float32), 3) == []


def _example():
    """3 chunks in 3 files; view rows of ``cos`` are text, struct, sym. Query 0's gold (f1) wins on struct,
    query 1's (f2) on text, query 2's (f0) on sym; the text view alone ranks f0 first everywhere but query 1."""
    rows = [{"id": f"c{i}", "path": f"f{i}.py", "kind": "function", "start_line": 1, "end_line": 3} for i in range(3)]
    cos = {0: [[0.9, 0.8, 0.1], [0.1, 0.9, 0.2], [0.5, 0.1, 0.2]],
           1: [[0.3, 0.2, 0.9], [0.3, 0.2, 0.3], [0.3, 0.3, 0.1]],
           2: [[0.6, 0.2, 0.55], [0.3, 0.1, 0.2], [0.9, 0.1, 0.1]]}
    items = []
    for n in range(6):  # queries 0..5 -> patterns 0, 1, 2, 0, 1, 2; even = tune
        q = n % 3
        items.append({"set": "python" if n < 4 else "cosqa", "i": n, "half": "tune" if n % 2 == 0 else "check",
                      "query": f"query {n}", "gold": ["f1.py", "f2.py", "f0.py"][q],
                      "cos": np.array(cos[q], dtype=np.float32), "others": {}})
    return rows, items


def test_dense_lists_modes():
    rows, items = _example()
    cos = items[0]["cos"]
    lists, w = dense_lists(cos, {"mode": "score", "struct": 0.0, "sym": 0.0}, rows)
    assert [r["id"] for r in lists["dense"]] == ["c0", "c1", "c2"] and w == {"dense": 1.0}
    lists, w = dense_lists(cos, {"mode": "score", "struct": 1.0, "sym": 0.0}, rows)
    assert [r["id"] for r in lists["dense"]][0] == "c1"  # 0.8 + 0.9 beats 0.9 + 0.1
    lists, w = dense_lists(cos, {"mode": "rrf", "struct": 0.5, "sym": 0.0}, rows)
    assert set(lists) == {"dense", "struct"} and w == {"dense": 1.0, "struct": 0.5}
    assert [r["id"] for r in lists["struct"]] == ["c1", "c2", "c0"]
    assert ranked(items[0], {"mode": "rrf", "struct": 2.0, "sym": 0.0}, rows, hybrid=False, hybrid_weights={})[0] == "f1.py"
    assert len(VIEWS) == cos.shape[0]


def test_grid_search_picks_on_tune_and_reports_check():
    rows, items = _example()
    grid = settings_grid((0.0, 0.5, 1.0))
    assert len(grid) == 18 and grid[0] == {"mode": "score", "text": 1.0, "struct": 0.0, "sym": 0.0}
    corpora = {"python": Corpus(rows), "cosqa": Corpus(rows)}
    res = grid_search(items, corpora, grid, hybrid=True, hybrid_weights={"bm25": 0.1})
    text = next(r for r in res if r["family"] == "text")
    best = pick(res)
    assert best["tune"] > text["tune"] and best["setting"]["struct"] > 0
    assert pick(res, "score:sym")["family"] == "score:sym"
    cmp = compare(text["_pq"], best["_pq"], items)
    assert set(cmp) == {"python", "cosqa", "csn_macro"}
    assert cmp["python"]["n"] == 2 and cmp["cosqa"]["n"] == 1
    assert cmp["csn_macro"]["diff"]["mean_diff"] == round(cmp["python"]["views"]["mrr"] - cmp["python"]["text"]["mrr"], 4)
    again = grid_search(items, corpora, grid, hybrid=True, hybrid_weights={"bm25": 0.1})
    assert [r["tune"] for r in again] == [r["tune"] for r in res]  # deterministic


def test_stratified_bootstrap():
    out = stratified_bootstrap([([0.0, 0.0], [1.0, 1.0]), ([0.5], [0.5])])
    assert out["mean_diff"] == 0.5 and out["ci95_low"] == 0.5 and out["ci95_high"] == 0.5


def test_gold_rank_matches_the_product_fusion():
    """The vectorised rank equals the rank through sgmcp.ranking's fuse / code rules / overlap drop, with an
    extra list, a duplicate row, a test file, a module chunk and overlapping chunks in one file."""
    rows, items = _example()
    rows = rows + [{"id": "c3", "path": "tests/test_x.py", "kind": "function", "start_line": 1, "end_line": 2},
                   {"id": "c4", "path": "f0.py", "kind": "module", "start_line": 1, "end_line": 9},
                   {"id": "c5", "path": "f1.py", "kind": "function", "start_line": 5, "end_line": 6}]
    corpus = Corpus(rows)
    rng = np.random.default_rng(0)
    for it in items:
        it["cos"] = rng.random((3, len(rows))).astype(np.float32)
        it["others"] = {"bm25": [3, 4, 4, 0], "path": [5]}
    weights = {"bm25": 0.5, "path": 0.3, "name": 0.0}
    grid = settings_grid((0.0, 0.5, 1.0))
    assert check_fast_path(items, {s: corpus for s in ("python", "cosqa")}, grid, weights, per_set=10)["differ"] == 0
    for it in items:
        files = ranked(it, grid[4], rows, hybrid=True, hybrid_weights=weights)
        assert gold_rank(it, grid[4], corpus, hybrid=True, hybrid_weights=weights) == files.index(it["gold"]) + 1
