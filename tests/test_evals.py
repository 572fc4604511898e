"""The evaluation harness: metrics, the hit rule, transcript parsers, reports, and one suite run through the
real MCP server subprocess on the sample repository (structural index, no model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.check_gold import CorpusFacts, check_query
from evals.replay import load_transcript, our_tool, parse_claude_code, parse_sgmcp, relative_to, to_queries
from evals.report import compare, markdown, write_reports
from evals.suite import build_report, hits, query_from_suite, record, run_suites, score_query, Answer

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "examples" / "sample_repo"


def res(path: str, symbol: str, start: int, end: int, **kw) -> dict:
    return {"path": path, "symbol": symbol, "start_line": start, "end_line": end, **kw}


# ---------------------------------------------------------------------------------------------
# The hit rule


def test_hit_same_symbol_anywhere_in_the_file() -> None:
    gold = {"path": "a.py", "symbol": "Store.save", "line": 40}
    assert hits(res("a.py", "Store.save", 10, 12), gold)  # an overload elsewhere in the file
    assert hits(res("a.py", "Store::save", 90, 95), gold)  # notation does not matter
    assert not hits(res("b.py", "Store.save", 40, 45), gold)  # another file never hits


@pytest.mark.parametrize("start,end,expected", [
    (40, 50, True),    # starts on the line
    (35, 41, True),    # starts 5 lines before and spans it
    (34, 60, False),   # starts 6 lines before
    (36, 39, False),   # ends before the line
    (41, 60, False),   # starts after
])
def test_hit_by_span_within_five_lines(start: int, end: int, expected: bool) -> None:
    gold = {"path": "a.py", "symbol": "save", "line": 40}
    assert hits(res("a.py", "other", start, end), gold) is expected


def test_file_level_gold_matches_on_the_path() -> None:
    assert hits(res("pkg/mod.go", "x", 1, 2), {"path": "pkg/mod.go"})
    assert hits(res("./pkg/mod.go", "x", 1, 2), {"path": "pkg/mod.go"})
    assert not hits(res("pkg/other.go", "x", 1, 2), {"path": "pkg/mod.go"})


# ---------------------------------------------------------------------------------------------
# Metrics on synthetic answers


def _q(intent: str, gold: list[dict], **extra) -> object:
    rec = {"id": "q", "intent": intent, "query": "x", "symbol": "x", "gold": gold, "context": None, **extra}
    return query_from_suite(rec)


def test_ranking_metrics() -> None:
    gold = [{"path": "a.py", "symbol": "f", "line": 10}, {"path": "b.py", "symbol": "g", "line": 5}]
    q = _q("semantic", gold)
    results = [res("c.py", "h", 1, 3), res("a.py", "f", 10, 20), res("a.py", "f", 10, 20),  # duplicate counts once
               res("d.py", "i", 1, 2), res("e.py", "j", 1, 2), res("f.py", "k", 1, 2), res("b.py", "g", 5, 9)]
    m = score_query(q, results)
    assert m["p1"] == 0.0
    assert m["rr"] == pytest.approx(0.5)
    assert m["r5"] == pytest.approx(0.5)  # b.py:g is 6th after de-duplication
    ideal = 1 + 1 / 1.5849625
    assert m["ndcg10"] == pytest.approx((1 / 1.5849625 + 1 / 2.807355) / ideal, rel=1e-4)
    assert score_query(q, [])["p1"] == 0.0


def test_usages_recall_and_precision() -> None:
    gold = [{"path": "a.py", "symbol": "caller1", "line": 3}, {"path": "a.py", "symbol": "caller2", "line": 30},
            {"path": "b.py", "symbol": "caller3", "line": 7}]
    q = _q("usages", gold)
    results = [res("a.py", "caller1", 3, 9, line=5), res("z.py", "noise", 1, 4, line=2),
               res("b.py", "caller3", 7, 12, line=8), res("y.py", "noise2", 1, 4, line=3)]
    m = score_query(q, results)
    assert m["usages_recall"] == pytest.approx(2 / 3)
    assert m["usages_precision"] == pytest.approx(0.5)


def test_multi_hop_success_needs_every_gold_in_top_ten() -> None:
    gold = [{"path": "a.py", "symbol": "f", "line": 1}, {"path": "b.py", "symbol": "g", "line": 1}]
    q = _q("multi_hop", gold)
    both = [res("a.py", "f", 1, 5)] + [res(f"n{i}.py", "n", 1, 2) for i in range(8)] + [res("b.py", "g", 1, 4)]
    assert score_query(q, both)["multi_hop_success"] == 1.0
    late = [res("a.py", "f", 1, 5)] + [res(f"n{i}.py", "n", 1, 2) for i in range(9)] + [res("b.py", "g", 1, 4)]
    assert score_query(q, late)["multi_hop_success"] == 0.0


def test_intents_go_to_their_tools_with_context() -> None:
    ctx = {"current_file": "a.py", "recent_files": ["b.py"]}
    assert query_from_suite({"id": "1", "intent": "definition", "query": "where is f", "symbol": "f", "gold": []}).tool == "find_definition"
    assert query_from_suite({"id": "2", "intent": "usages", "query": "who calls f", "symbol": "f", "gold": []}).arguments == {"symbol": "f", "k": 50}
    assert query_from_suite({"id": "3", "intent": "semantic", "query": "q", "gold": []}).tool == "semantic_search"
    assert query_from_suite({"id": "4", "intent": "multi_hop", "query": "q", "gold": []}).tool == "multi_hop_search"
    q = query_from_suite({"id": "5", "intent": "change", "query": "q", "gold": [], "context": ctx})
    assert q.tool == "search" and q.arguments["current_file"] == "a.py" and q.arguments["recent_files"] == ["b.py"]


def _records() -> list[dict]:
    g = [{"path": "a.py", "symbol": "f", "line": 1}]
    recs = []
    for i, (intent, results, ms) in enumerate([
        ("definition", [res("a.py", "f", 1, 3)], 5.0),
        ("semantic", [res("x.py", "z", 1, 3), res("a.py", "f", 1, 3)], 40.0),
        ("usages", [res("a.py", "f", 1, 3)], 8.0),
        ("context", [res("a.py", "f", 1, 3)], 30.0),
    ]):
        q = query_from_suite({"id": f"c/{i}", "intent": intent, "query": "x", "symbol": "x", "gold": g,
                              "context": {"current_file": "a.py"} if intent == "context" else None}, corpus="c")
        r = record(q, Answer(results=results, client_ms=ms, server_ms=ms / 2))
        if intent == "context":
            r["context_gain"], r["context_gain_rr"] = 1.0, 0.5
            r["no_context"] = {"p1": 0.0, "rr": 0.5}
        recs.append(r)
    return recs


def test_report_aggregates_per_intent_and_overall(tmp_path: Path) -> None:
    report = build_report(_records(), {"kind": "suite", "suites": {}, "model": "none"})
    assert report["p1"] == pytest.approx(2 / 3, abs=1e-4)  # usages excluded
    assert report["usages_recall"] == 1.0
    assert report["intents"]["semantic"]["mrr"] == 0.5
    assert report["overall"]["context_gain"] == 1.0
    assert report["overall"]["latency"]["client"]["p50_ms"] == 8.0
    text = markdown(report)
    assert "| definition | 1 |" in text and "context gain" in text
    paths = write_reports(report, tmp_path, "t")
    assert json.loads(Path(paths["json"]).read_text())["p1"] == report["p1"]
    assert Path(paths["markdown"]).exists()
    worse = json.loads(json.dumps(report))
    worse["intents"]["semantic"]["p1"] = 0.0
    worse["queries"][1]["metrics"]["p1"] = 1.0
    delta = compare(report, worse)
    assert "semantic" in delta and "Queries that changed (1)" in delta


# ---------------------------------------------------------------------------------------------
# Transcript parsers


def test_parse_sgmcp_transcript(tmp_path: Path) -> None:
    t = tmp_path / "t.jsonl"
    t.write_text("\n".join(json.dumps(x) for x in [
        {"tool": "find_definition", "arguments": {"symbol": "f"}, "relevant": [{"path": "a.py", "line": 3}]},
        {"tool": "outline", "arguments": {"path": "a.py"}, "relevant": [{"path": "a.py"}]},  # not a search
        {"id": "x", "tool": "search", "arguments": {"query": "q", "current_file": "a.py"}, "relevant": []},
    ]) + "\n")
    fmt, calls = load_transcript(t)
    assert fmt == "sgmcp" and [c["tool"] for c in calls] == ["find_definition", "search"]
    assert calls[0]["relevant"] == [{"path": "a.py", "line": 3}]
    qs = to_queries(calls)
    assert len(qs) == 1 and qs[0].intent == "definition" and not qs[0].file_level  # no relevant: unjudged


def _cc(kind: str, content, cwd: str = "/home/me/proj") -> str:
    return json.dumps({"type": kind, "cwd": cwd, "sessionId": "s", "message": {"role": kind, "content": content}})


def test_parse_claude_code_session(tmp_path: Path) -> None:
    use = lambda i, name, inp: {"type": "tool_use", "id": i, "name": name, "input": inp}  # noqa: E731
    lines = [
        _cc("user", "fix the bug"),
        _cc("assistant", [{"type": "text", "text": "looking"}, use("t1", "mcp__sgmcp__search", {"query": "retry"})]),
        _cc("user", [{"type": "tool_result", "tool_use_id": "t1", "content": "..."}]),
        _cc("assistant", [use("t2", "Read", {"file_path": "/home/me/proj/src/net.py"}),
                          use("t3", "Read", {"file_path": "/etc/hosts"}),  # outside the repository
                          use("t4", "Bash", {"command": "ls"})]),
        _cc("assistant", [use("t5", "mcp__code__find_usages", {"symbol": "retry"})]),
        _cc("assistant", [use("t6", "Edit", {"file_path": "/home/me/proj/src/client.py", "old_string": "a", "new_string": "b"}),
                          use("t7", "Read", {"file_path": "/home/me/proj/src/net.py"})]),
        _cc("assistant", [use("t8", "mcp__sgmcp__semantic_search", {"query": "nothing read after"})]),
        _cc("assistant", "plain text"),
    ]
    t = tmp_path / "session.jsonl"
    t.write_text("\n".join(lines) + "\n")
    fmt, calls = load_transcript(t)
    assert fmt == "claude-code"
    assert [(c["tool"], [r["path"] for r in c["relevant"]]) for c in calls] == [
        ("search", ["src/net.py"]), ("find_usages", ["src/client.py", "src/net.py"]), ("semantic_search", [])]
    whole = parse_claude_code(t, window="session")
    assert [r["path"] for r in whole[0]["relevant"]] == ["src/net.py", "src/client.py"]
    assert [c["tool"] for c in parse_claude_code(t, server="sgmcp")] == ["search", "semantic_search"]
    qs = to_queries(calls)
    assert len(qs) == 2 and all(q.file_level for q in qs)


def test_path_and_tool_helpers() -> None:
    assert our_tool("mcp__sgmcp__multi_hop_search") == "multi_hop_search"
    assert our_tool("mcp__sgmcp__outline") is None and our_tool("Read") is None
    assert relative_to("/r/p/a/b.py", ["/r/p"]) == "a/b.py"
    assert relative_to("/r/px/b.py", ["/r/p"]) is None
    assert relative_to("./a.py", []) == "a.py" and relative_to(".github/x.yml", []) == ".github/x.yml"


def test_shipped_transcripts_parse() -> None:
    for name, fmt in (("gorilla-mux-session.jsonl", "sgmcp"), ("gorilla-mux-claude-code.jsonl", "claude-code")):
        got, calls = load_transcript(REPO / "evals" / "transcripts" / name)
        assert got == fmt and to_queries(calls)
    assert parse_sgmcp(REPO / "evals" / "transcripts" / "gorilla-mux-session.jsonl")[0]["relevant"][0]["line"] == 173


# ---------------------------------------------------------------------------------------------
# Gold checker and an end-to-end run through the server


TINY_SUITE = [
    {"id": "tiny/def-save", "intent": "definition", "query": "where is NoteStore.save", "symbol": "NoteStore.save",
     "gold": [{"path": "notes/storage.py", "symbol": "NoteStore.save", "line": 69, "container": "NoteStore"}], "context": None},
    {"id": "tiny/def-slugify", "intent": "definition", "query": "slugify", "symbol": "slugify",
     "gold": [{"path": "notes/markdown.py", "symbol": "slugify", "line": 20}], "context": None},
    {"id": "tiny/use-hash", "intent": "usages", "query": "who calls hash_password", "symbol": "hash_password",
     "gold": [{"path": "notes/auth.py", "symbol": "register_user", "line": 25},
              {"path": "notes/auth.py", "symbol": "authenticate_user", "line": 34}], "context": None},
    {"id": "tiny/use-slugify", "intent": "usages", "query": "callers of slugify", "symbol": "slugify",
     "gold": [{"path": "notes/cli.py", "symbol": "cmd_publish", "line": 35},
              {"path": "notes/markdown.py", "symbol": "render_heading", "line": 91},
              {"path": "notes/search.py", "symbol": "normalize_tag", "line": 14},
              {"path": "notes/storage.py", "symbol": "Note.slug", "line": 23},
              {"path": "notes/storage.py", "symbol": "NoteStore._path_for", "line": 57},
              {"path": "tests/test_markdown.py", "symbol": "test_slugify_collapses_punctuation_and_accents", "line": 6}],
     "context": None},
]


def test_gold_checker_on_the_sample_repo() -> None:
    facts = CorpusFacts.load(SAMPLE)
    for q in TINY_SUITE:
        assert check_query(q, facts) == [], q["id"]
    wrong_line = {**TINY_SUITE[0], "gold": [{"path": "notes/storage.py", "symbol": "NoteStore.save", "line": 5}]}
    assert check_query(wrong_line, facts)
    missing = {**TINY_SUITE[2], "gold": TINY_SUITE[2]["gold"][:1]}
    assert any("gold misses authenticate_user" in p for p in check_query(missing, facts))


def test_tiny_suite_through_the_server(tmp_path: Path, sample_index: tuple[Path, str]) -> None:
    repo, index_dir = sample_index
    suite = tmp_path / "tiny.jsonl"
    suite.write_text("".join(json.dumps(q) + "\n" for q in TINY_SUITE))
    report = run_suites([suite], repo, index_dir=index_dir, vectors=False, quiet=True, timeout=60)
    assert report["overall"]["errors"] == 0
    assert report["p1"] == 1.0
    assert report["usages_recall"] == 1.0
    assert set(report["intents"]) == {"definition", "usages"}
    q = {r["id"]: r for r in report["queries"]}
    assert q["tiny/use-hash"]["tool"] == "find_usages" and q["tiny/use-hash"]["gold_ranks"][0] is not None
    assert all(r["server_ms"] is not None and r["client_ms"] > 0 for r in report["queries"])
    assert report["meta"]["suites"]["tiny"]["index"]["state"] in ("fresh", "stale")


def test_suite_files_map_to_pinned_corpora() -> None:
    from evals.corpora import CORPORA, corpus_for

    assert corpus_for("evals/suites/rxjs.jsonl") is CORPORA["rxjs"]
    assert corpus_for("x/multihop-gorilla-mux.jsonl") is CORPORA["gorilla-mux"]
    assert corpus_for("x/unknown.jsonl") is None
    assert len({c.language for c in CORPORA.values()}) >= 4
    assert all(c.version and c.registry in ("pypi", "npm", "debian") for c in CORPORA.values())
    shipped = sorted(p.stem for p in (REPO / "evals" / "suites").glob("*.jsonl") if p.stem in CORPORA)
    assert sum(sum(1 for line in open(REPO / "evals" / "suites" / f"{s}.jsonl") if line.strip()) for s in shipped) >= 150
