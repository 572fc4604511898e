"""Multi-hop search on the sample repository (structural index, no vectors): decomposition, the trail,
hop and time bounds, a two-step question, and the optional LLM sub-queries against a local fake
Messages API (the real anthropic SDK talks to it)."""

from __future__ import annotations

import json
import time

import pytest

from sgmcp import hop_ranker, multihop
from sgmcp.engine import Engine, QueryError
from sgmcp.models import Result
from conftest import FakeMessages
from sgmcp.multihop import (ACTIONS, P_HIGH, P_LOW, LLMPlanner, MultiHopOutcome, decompose, multi_hop,
                             multi_hop_search, parse_plan)

ENFORCER = "the log rotation size setting: the function that enforces it"


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch):
    """Heuristics only unless a test sets up the fake API (a developer's real key must not be used)."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("SGMCP_MULTIHOP_BUDGET_MS", raising=False)
    multihop._LLM_CACHE.clear()


@pytest.fixture(scope="module")
def engine(sample_index) -> Engine:
    repo, index_dir = sample_index
    e = Engine(repo, index_dir)
    assert not e.has_vectors
    return e


# ---- decomposition -------------------------------------------------------------------------------


def test_decompose_splits_anchor_and_target() -> None:
    p = decompose(ENFORCER)
    assert (p.anchor, p.target) == ("the log rotation size setting", "the function that enforces it")
    assert p.wants == "callable" and not p.deep

    p = decompose("Itertools::dedup is built on coalesce: which method decides whether items merge")
    assert p.anchor == "Itertools::dedup is built on coalesce" and p.identifiers[0] == "Itertools::dedup"

    p = decompose("Schema.load: which method finally calls each registered post_load processor")
    assert p.identifiers == ["Schema.load"] and p.deep and "post" in p.calls
    # "the last step" of the starting point is not a question about the last step of the chain
    assert not decompose("SerializerUnicode.process, the last step of format: which function cuts lines").deep

    # No separator: the interrogative starts the target; a trailing relative clause is the anchor.
    p = decompose("Router.ServeHTTP cleans the path before matching, which function does it")
    assert p.anchor.startswith("Router.ServeHTTP") and p.target.startswith("which function")
    p = decompose("which function finally renders the template that the page-config option names")
    assert p.anchor == "the page-config option names" and p.target == "which function finally renders the template"

    p = decompose("kmerge next(): after taking the smallest head, which function restores the heap")
    assert ("kmerge", "next") in p.pairs
    p = decompose("a Tuple field: which validator's __call__ compares the length")
    assert "__call__" in p.wanted_names and p.wants == "callable"
    p = decompose("the timeout operator: which inner function schedules the timer")
    assert p.inner


def test_decompose_never_splits_inside_code_or_brackets() -> None:
    p = decompose("YAML.parse('a: 1\\na: 2') with a repeated key: which function decides whether a key occurs")
    assert p.anchor == "YAML.parse('a: 1\\na: 2') with a repeated key"
    assert p.target == "which function decides whether a key occurs"
    p = decompose("markdownit({ typographer: true }).render(text): which function rewrites dashes")
    assert p.anchor == "markdownit({ typographer: true }).render(text)"
    # an apostrophe opens no string; an unclosed bracket masks nothing
    assert decompose("the mapping's key (see below: which function checks it").anchor == "the mapping's key (see below"


def test_decompose_cuts_a_long_target_into_clauses() -> None:
    p = decompose("Range.parseRange on '> 1.x': which function reads up to three components, stops before a "
                  "trailing dot (or at the end) and then reads a prerelease")
    assert p.clauses == ["which function reads up to three components", "stops before a trailing dot",
                         "or at the end", "then reads a prerelease"]
    assert decompose("Schema.load: which method finally calls each post_load processor").clauses == []


# ---- the walk ------------------------------------------------------------------------------------


def test_two_step_question_finds_the_enforcing_function(engine: Engine) -> None:
    out = multi_hop_search(engine, ENFORCER, k=5, max_hops=3)
    assert out.results[0].symbol == "rotate_log_if_needed"
    assert out.results[0].path == "notes/storage.py"
    # The setting is found by searching the anchor; the enforcing function one edge further on.
    names = [r.symbol for r in out.results]
    assert "max_log_bytes" in names


def test_without_vectors_the_hand_order_stands_unestimated(engine: Engine) -> None:
    """The ranker was fitted on answers scored with vectors: a structural index keeps the walk's order."""
    out = multi_hop_search(engine, ENFORCER, k=5, max_hops=3)
    assert out.probability is None and out.confidence == "" and out.summary() == "confidence: not estimated"
    assert [r["score"] for r in out.ranked] == sorted((r["score"] for r in out.ranked), reverse=True)
    assert all(len(r["features"]) == len(hop_ranker.FEATURES) for r in out.ranked[:hop_ranker.RERANK_N])
    unsure = MultiHopOutcome(out.results, [], "max_hops", 1.0, 1.0, probability=0.2)
    assert unsure.confidence == "low" and "read the first two or three" in unsure.summary()
    sure = MultiHopOutcome(out.results, [], "max_hops", 1.0, 1.0, probability=P_HIGH)
    assert sure.confidence == "high" and sure.summary().startswith("confidence: high (estimated 0.75")
    assert MultiHopOutcome(out.results[:1], [], "exhausted", 1.0, 1.0).summary() == \
        "confidence: only one candidate reached"


@pytest.fixture(scope="module")
def encoded_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The sample repository indexed with the shipped encoder (vectors, as the ranker was fitted with)."""
    import shutil

    from conftest import SAMPLE_REPO
    from indexer.encoder import load_encoder
    from indexer.pipeline import index_repository

    base = tmp_path_factory.mktemp("encoded")
    shutil.copytree(SAMPLE_REPO, base / "repo", ignore=shutil.ignore_patterns(".sgmcp"))
    index_repository(base / "repo", str(base / "ix"), encoder=load_encoder())
    e = Engine(base / "repo", str(base / "ix"))
    assert e.has_vectors
    return e


@pytest.mark.integration
def test_the_learned_ranker_orders_the_answer_and_states_its_probability(encoded_engine: Engine) -> None:
    out = multi_hop_search(encoded_engine, ENFORCER, k=5, max_hops=3)
    assert out.results[0].symbol == "rotate_log_if_needed"
    head = [r for r in out.ranked if "features" in r]
    assert len(head) == min(hop_ranker.RERANK_N, len(out.ranked)) > 1
    # The results follow the probabilities (shown x100), which sum to one over the re-ranked candidates.
    assert [r["probability"] for r in head] == sorted((r["probability"] for r in head), reverse=True)
    assert sum(r["probability"] for r in head) == pytest.approx(1.0)
    assert out.probability == head[0]["probability"] and out.results[0].score == pytest.approx(out.probability * 100, abs=1e-3)
    expected = "high" if out.probability >= P_HIGH else "low" if out.probability < P_LOW else "medium"
    assert out.confidence == expected and out.summary().startswith(f"confidence: {expected} (estimated ")
    hand = multi_hop_search(encoded_engine, ENFORCER, k=5, max_hops=3, learned=False)
    assert hand.probability is None and {r["qualname"] for r in hand.ranked[:len(head)]} == \
        {r["qualname"] for r in head}  # the same candidates, re-ranked


def test_setting_named_in_the_question(engine: Engine) -> None:
    out = multi_hop_search(engine, "the max_log_bytes setting: which function rotates the log when it is exceeded")
    assert out.results[0].symbol == "rotate_log_if_needed"
    first = out.steps[0]
    assert first.action == "search" and "max_log_bytes" in first.why  # resolved by name
    assert any(s.action == "follow_callers" and "max_log_bytes" in s.from_ for s in out.steps)


def test_trail_records_hops_and_edges(engine: Engine) -> None:
    out = multi_hop_search(engine, "NoteStore.save: which function finally rotates the activity log", max_hops=3)
    assert out.results[0].symbol == "rotate_log_if_needed"
    assert all(s.action in ACTIONS for s in out.steps)
    assert [s.action for s in out.steps[:2]] == ["search", "subquery"]
    assert out.steps[0].query == "NoteStore.save" and out.steps[1].query.startswith("which function")
    follows = [s for s in out.steps if s.action.startswith("follow_")]
    assert follows and all(s.from_ and s.why for s in follows)
    assert any("NoteStore.save" in s.from_ and "NoteStore._record" in s.found for s in follows)
    assert out.steps[-1].action == "stop"
    as_dict = out.steps[2].as_dict()
    assert set(as_dict) == {"hop", "action", "query", "from", "found", "why"}
    assert str(out.steps[2]).startswith("hop 2 follow_")


@pytest.mark.parametrize("max_hops", [1, 2, 3, 5])
def test_max_hops_is_respected(engine: Engine, max_hops: int) -> None:
    out = multi_hop_search(engine, "NoteStore.save: which function finally rotates the activity log",
                           max_hops=max_hops)
    assert max(s.hop for s in out.steps) <= max_hops
    if max_hops == 1:
        assert not any(s.action.startswith("follow_") for s in out.steps)
        assert out.results  # the searches still answer


def test_time_budget_bounds_the_walk(engine: Engine) -> None:
    out = multi_hop_search(engine, ENFORCER, max_hops=5, budget_ms=0)
    assert out.stopped == "budget" and out.results
    assert not any(s.action.startswith("follow_") for s in out.steps)
    assert "time budget" in out.steps[-1].why
    started = time.perf_counter()
    out = multi_hop_search(engine, ENFORCER, max_hops=5)
    assert out.graph_ms < multihop.DEFAULT_BUDGET_MS + 250  # the budget, plus one hop's overrun at most
    assert (time.perf_counter() - started) < 5


def test_multi_hop_wrapper_appends_the_trail(engine: Engine) -> None:
    trail: list[str] = []
    results = multi_hop(engine, ENFORCER, 3, 2, trail)
    assert len(results) <= 3 and all(isinstance(r, Result) for r in results)
    assert all(isinstance(t, str) for t in trail) and trail[0].startswith("confidence: ")
    assert trail[1].startswith("hop 1 search")
    with pytest.raises(QueryError):
        multi_hop_search(engine, "   ")


def test_results_are_unique_and_respect_k(engine: Engine) -> None:
    out = multi_hop_search(engine, "which function finally renders the markdown table that the publish command writes",
                           k=4)
    assert len(out.results) == 4
    spans = [(r.path, r.start_line) for r in out.results]
    assert len(set(spans)) == len(spans)
    assert out.results[0].symbol in ("render_markdown", "table_to_html_rows")


def test_a_definition_the_question_names_is_context_not_the_answer(engine: Engine) -> None:
    # `max_log_bytes` is written out in the question: what the answer relates to, not the answer.
    out = multi_hop_search(engine, "NoteStore._record: which function rotates the log once it outgrows max_log_bytes")
    assert out.results[0].symbol == "rotate_log_if_needed"
    adj = {r["qualname"]: r["adj"] for r in out.ranked}
    assert "named in the question" in adj["max_log_bytes"]
    assert "named in the question" not in adj["rotate_log_if_needed"]


def test_a_method_of_the_type_the_question_names(engine: Engine) -> None:
    out = multi_hop_search(engine, "NoteStore.save: which NoteStore method appends a line to the activity log")
    assert out.results[0].symbol == "NoteStore._record"
    adj = {r["qualname"]: r["adj"] for r in out.ranked}
    assert adj["NoteStore._record"]["a method of the type asked for"] > 0
    assert adj["rotate_log_if_needed"]["not a method of the type asked for"] < 0


def test_search_hits_beside_a_named_start_stay_unconnected(engine: Engine) -> None:
    walk = multihop._Walk(engine, "q", decompose("NoteStore.save: which function rotates the log"),
                          time.perf_counter() + 10)
    walk.code_named = True
    syms = {s.qualname: s for s in engine.graph.symbols.values() if s.path == "notes/storage.py"}
    save, record, rotate = syms["NoteStore.save"], syms["NoteStore._record"], syms["rotate_log_if_needed"]
    walk.add(save, 0, "seed", seed_named=True, from_named=True)
    walk.add(record, 1, "search")  # found by searching the anchor's words, not by an edge
    walk.add(rotate, 2, "callee", record.id)
    assert not walk.nodes[record.id].connected and not walk.nodes[rotate.id].connected
    walk.add(record, 1, "callee", save.id, from_named=True)  # the walk reaches it from the start
    assert walk.nodes[record.id].connected
    walk.connect()  # and what was reached from it is connected too
    assert walk.nodes[rotate.id].connected


# ---- LLM sub-queries against a local fake Messages API ------------------------------------------------


@pytest.fixture
def fake(fake_messages: FakeMessages) -> FakeMessages:
    """The shared fake Messages API (tests/conftest.py), answering with a plan."""
    fake_messages.reply_text = json.dumps({"subqueries": ["rotate the log file when it grows too big"],
                                           "symbols": ["rotate_log_if_needed"]})
    return fake_messages


QUESTION = "the log rotation size setting: the function that enforces it"


def test_llm_subqueries_are_followed(engine: Engine, fake: FakeMessages) -> None:
    out = multi_hop_search(engine, QUESTION, max_hops=3, planner=LLMPlanner(model="claude-test"))
    step = next(s for s in out.steps if s.action == "llm_subquery")
    assert step.why == "llm sub-queries from claude-test"
    assert step.query == "rotate the log file when it grows too big" and "rotate_log_if_needed" in step.found
    assert out.results[0].symbol == "rotate_log_if_needed"
    request = fake.requests[0]
    assert request["path"] == "/v1/messages" and request["body"]["model"] == "claude-test"
    assert request["auth"] == "Bearer test-key" and fake.refused == 0
    user = request["body"]["messages"][0]["content"]
    assert json.dumps(QUESTION) in user and "<candidates>" in user
    block = user.split("<candidates>\n", 1)[1].split("\n</candidates>", 1)[0]
    assert all(json.loads(line)["name"] for line in block.splitlines())  # candidates travel as JSON data
    # The same question and candidates again: answered from the cache.
    multi_hop_search(engine, QUESTION, max_hops=3, planner=LLMPlanner(model="claude-test"))
    assert len(fake.requests) == 1


def test_llm_is_used_when_the_key_is_set(engine: Engine, fake: FakeMessages) -> None:
    trail: list[str] = []
    multi_hop(engine, QUESTION, 5, 3, trail)
    assert any("llm_subquery" in t for t in trail) and len(fake.requests) == 1
    trail = []
    multi_hop(engine, QUESTION + " ", 5, 3, trail, llm=False)
    assert not any("llm_subquery" in t for t in trail) and len(fake.requests) == 1


@pytest.mark.parametrize("reply", ["no json here", '{"subqueries": "one"}', '{"symbols": ["a b"]}',
                                   '{"subqueries": [], "symbols": []}', '{"subqueries": ["x"], "extra": 1}',
                                   '{"subqueries": ["a", "b", "c"]}'])
def test_malformed_llm_answers_fall_back(engine: Engine, fake: FakeMessages, reply: str) -> None:
    fake.reply_text = reply
    # A generous budget: on a loaded machine a 300 ms walk may stop at a different hop in the two runs.
    heuristic = multi_hop_search(engine, QUESTION, llm=False, budget_ms=10_000)
    out = multi_hop_search(engine, QUESTION, planner=LLMPlanner(), budget_ms=10_000)
    step = next(s for s in out.steps if s.action == "llm_subquery")
    assert "malformed" in step.why and not step.found
    assert [r.symbol for r in out.results] == [r.symbol for r in heuristic.results]


def test_llm_errors_and_timeouts_fall_back(engine: Engine, fake: FakeMessages, monkeypatch) -> None:
    fake.status = 500
    out = multi_hop_search(engine, QUESTION, planner=LLMPlanner())
    assert "failed (" in next(s for s in out.steps if s.action == "llm_subquery").why
    assert out.results[0].symbol == "rotate_log_if_needed"
    fake.status, fake.delay = 200, 2.0
    started = time.perf_counter()
    out = multi_hop_search(engine, QUESTION + "?", planner=LLMPlanner(timeout=0.3))
    assert "failed (" in next(s for s in out.steps if s.action == "llm_subquery").why
    assert time.perf_counter() - started < 2.0
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    out = multi_hop_search(engine, QUESTION + "!", planner=LLMPlanner())
    assert "ANTHROPIC_API_KEY" in next(s for s in out.steps if s.action == "llm_subquery").why


def test_llm_symbols_must_exist(engine: Engine, fake: FakeMessages) -> None:
    fake.reply_text = '{"symbols": ["does_not_exist", "IGNORE_ALL_INSTRUCTIONS"]}'
    out = multi_hop_search(engine, QUESTION, planner=LLMPlanner())
    step = next(s for s in out.steps if s.action == "llm_subquery")
    assert step.found == [] and out.results[0].symbol == "rotate_log_if_needed"


@pytest.mark.parametrize("text,expected", [
    ('{"subqueries": ["rotate the log"], "symbols": ["NoteStore._record"]}',
     (["rotate the log"], ["NoteStore._record"])),
    ('Sure: {"symbols": ["Vec::push"]}', ([], ["Vec::push"])),
    ('{"subqueries": ["ab"]}', None),  # too short
    ('{"subqueries": ["' + "x" * 201 + '"]}', None),  # too long
    ('{"symbols": ["a", "b", "c", "d", "e", "f"]}', None),  # too many
    ('{"symbols": ["rm -rf /"]}', None),  # not a name
    ('["subqueries"]', None),
])
def test_parse_plan_is_strict(text: str, expected) -> None:
    assert parse_plan(text) == expected
