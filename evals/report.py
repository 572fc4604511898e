"""Reports of a suite or replay run: Markdown, JSON and PNG plots in a reports folder, and a comparison of
two runs (before/after a change).

    sgmcp eval compare before.json after.json [--out delta.md]

Plots need matplotlib (the ``evals`` extra); without it the reports say the plots were skipped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

METRICS = (("p1", "P@1"), ("mrr", "MRR"), ("r5", "R@5"), ("ndcg10", "NDCG@10"))
SET_METRICS = (("usages_recall", "usages recall"), ("usages_precision", "usages precision"),
               ("multi_hop_success", "multi-hop success"), ("context_gain", "context gain (P@1)"))


def _f(x: Any, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _ms(x: Any) -> str:
    return "–" if x is None else f"{x:.1f}"


def _row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def summary_table(groups: dict[str, dict[str, Any]], first: str = "intent") -> list[str]:
    head = [first, "n", *(label for _, label in METRICS), "usages R", "usages P", "multi-hop", "ctx gain",
            "client p50", "client p99", "server p50", "server p99"]
    lines = [_row(head), _row(["---"] * len(head))]
    for name, s in groups.items():
        lat_c, lat_s = s["latency"]["client"], s["latency"]["server"]
        lines.append(_row([name, s["n"], *(_f(s.get(k)) for k, _ in METRICS), _f(s.get("usages_recall")),
                           _f(s.get("usages_precision")), _f(s.get("multi_hop_success")), _f(s.get("context_gain")),
                           _ms(lat_c["p50_ms"]), _ms(lat_c["p99_ms"]), _ms(lat_s["p50_ms"]), _ms(lat_s["p99_ms"])]))
    return lines


def markdown(report: dict[str, Any], *, plots: Sequence[str] = (), plot_note: str = "", misses: int = 40) -> str:
    meta = report.get("meta", {})
    kind = report.get("kind", "suite")
    o = report["overall"]
    out = [f"# sgmcp {kind} evaluation", ""]
    if kind == "suite":
        suites = meta.get("suites", {})
        listed = ", ".join("`{}` ({} queries)".format(Path(v.get("suite", k)).name, v.get("queries")) for k, v in suites.items())
        out.append(f"Suites: {listed}. "
                   f"Encoder: `{meta.get('model')}`{' (structural index, no vectors)' if meta.get('vectors') is False else ''}; "
                   f"k = {meta.get('k')} (usages {meta.get('usages_k')}). Started {meta.get('started', '?')}.")
    else:
        out.append(f"Transcripts: {', '.join(f'`{t}`' for t in meta.get('transcripts', []))}. "
                   f"Repository: `{meta.get('repo')}`. Started {meta.get('started', '?')}.")
    out.append("Each suite runs in order in one MCP session over stdio (`sgmcp serve --repo PATH --no-watch`), as an agent "
               "would, so the server's demotion of results a session has already seen applies across queries; the context "
               "ablation repeats the same sequence in a second session without the context arguments.")
    m = meta.get("machine") or {}
    if m:
        out.append(f"Machine: {m.get('cores')} cores, {m.get('platform')}, Python {m.get('python')}, "
                   f"load average at start {m.get('load_avg_at_start')}.")
    out += ["", f"**P@1 {_f(report.get('p1'))}** (all but usages queries) · **usages recall {_f(report.get('usages_recall'))}** · "
            f"usages precision {_f(o.get('usages_precision'))} · MRR {_f(o.get('mrr'))} · R@5 {_f(o.get('r5'))} · "
            f"NDCG@10 {_f(o.get('ndcg10'))} · multi-hop success {_f(o.get('multi_hop_success'))} · "
            f"context gain {_f(o.get('context_gain'))} (P@1 {_f(o.get('p1_without_context'))} without context) · "
            f"errors {o.get('errors', 0)}", ""]
    out += ["## Per intent", ""] + summary_table({"**overall**": o, **report.get("intents", {})}) + [""]
    if o.get("n_hard"):
        out.append(f"Hard descriptions (no words shared with the code, {o['n_hard']} semantic queries): "
                   f"P@1 {_f(o.get('hard_p1'))}, MRR {_f(o.get('hard_mrr'))}.")
        out.append("")
    corpora = report.get("corpora") or {}
    if corpora:
        label = "transcript" if kind == "replay" else "corpus"
        out += [f"## Per {label}", ""] + summary_table({c: v["overall"] for c, v in corpora.items()}, label) + [""]
    facts = meta.get("suites") or meta.get("sessions") or {}
    if kind == "suite" and facts:
        out += ["## Sessions", "", _row(["suite", "repository", "index", "server start (ms)", "first semantic call (ms)", "wall (s)"]),
                _row(["---"] * 6)]
        for name, f in facts.items():
            idx = f.get("index") or {}
            out.append(_row([name, f"`{f.get('repo')}`", f"{idx.get('files')} files, {idx.get('chunks')} chunks, encoder `{idx.get('encoder') or 'none'}`",
                             _ms(f.get("startup_ms")), _ms(f.get("warmup_ms")), _f(f.get("wall_s"), 1)]))
        out.append("")
    if kind == "replay" and facts:
        out += ["## Transcripts", "", _row(["transcript", "format", "calls of our tools", "judged", "unjudged (nothing opened after)"]),
                _row(["---"] * 5)]
        for name, f in facts.items():
            out.append(_row([name, f.get("format"), f.get("calls"), f.get("judged"), f.get("unjudged")]))
        out.append("")
    if plots:
        out += ["## Plots", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in plots] + [""]
    elif plot_note:
        out += [f"_{plot_note}_", ""]
    bad = [q for q in report.get("queries", []) if q.get("error") or (
        q["metrics"].get("usages_recall", 1.0) < 1.0 if q["intent"] == "usages" else q["metrics"]["p1"] < 1.0)]
    if bad:
        out += [f"## Misses ({len(bad)}; first {min(len(bad), misses)})", "",
                _row(["query", "intent", "gold ranks", "top results"]), _row(["---"] * 4)]
        for q in bad[:misses]:
            what = q["arguments"].get("symbol") or q["arguments"].get("query") or ""
            top = "<br>".join(f"`{t}`" for t in q.get("top", [])) or (q.get("error") or "no results")
            out.append(_row([f"`{q['id']}` {what!r}".replace("|", "\\|"), q["intent"], q.get("gold_ranks"), top.replace("|", "\\|")]))
        out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Plots


def plot(report: dict[str, Any], out_dir: str | Path, name: str) -> tuple[list[str], str]:
    """Per-intent bars and the latency distribution as PNG files; returns (paths, note)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return [], "Plots skipped: matplotlib is not installed (pip install 'sgmcp[evals]')."
    out_dir = Path(out_dir)
    paths: list[str] = []
    intents = report.get("intents", {})
    labels = list(intents)

    # 1. per-intent bars: the ranking metrics, and for usages the set metrics
    fig, ax = plt.subplots(figsize=(max(7, 1.4 * len(labels) + 2), 4.2))
    series = [("p1", "P@1"), ("mrr", "MRR"), ("r5", "R@5"), ("ndcg10", "NDCG@10"),
              ("usages_recall", "usages recall"), ("usages_precision", "usages precision"),
              ("multi_hop_success", "multi-hop success")]
    series = [(k, lab) for k, lab in series if any(intents[i].get(k) is not None for i in labels)]
    width = 0.8 / max(1, len(series))
    for j, (key, lab) in enumerate(series):
        xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(labels))]
        ys = [intents[i].get(key) or 0.0 for i in labels]
        ax.bar(xs, ys, width, label=lab)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels([f"{i}\n(n={intents[i]['n']})" for i in labels])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.set_title(f"sgmcp {report.get('kind', 'suite')}: per intent (overall P@1 {_f(report.get('p1'))})")
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    p = out_dir / f"{name}-intents.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(str(p))

    # 2. latency distribution per intent (client and server side)
    queries = report.get("queries", [])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=False)
    for ax, key, title in ((axes[0], "client_ms", "client side (call_tool wall time)"),
                           (axes[1], "server_ms", "server side (took_ms)")):
        data = [[q[key] for q in queries if q["intent"] == i and q.get(key) is not None] or [0.0] for i in labels]
        ax.boxplot(data, whis=(1, 99), showfliers=True)
        ax.set_xticks(range(1, len(labels) + 1))
        ax.set_xticklabels(labels, rotation=20, fontsize=8)
        ax.set_yscale("log")
        ax.set_ylabel("ms (log)")
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("latency per intent (whiskers: p1-p99)")
    fig.tight_layout()
    p = out_dir / f"{name}-latency.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    paths.append(str(p))
    return paths, ""


def write_reports(report: dict[str, Any], out_dir: str | Path, name: str = "suite") -> dict[str, str]:
    """``NAME.json``, ``NAME.md`` and the plots, in ``out_dir``."""
    from .suite import dump_json

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths, note = plot(report, out_dir, name)
    json_path = out_dir / f"{name}.json"
    dump_json(report, json_path)
    md_path = out_dir / f"{name}.md"
    md_path.write_text(markdown(report, plots=paths, plot_note=note) + "\n", encoding="utf-8")
    return {"json": str(json_path), "markdown": str(md_path), **{Path(p).stem: p for p in paths}}


# ---------------------------------------------------------------------------------------------
# Comparison


def _delta(a: Any, b: Any, digits: int = 3, lower_is_better: bool = False) -> str:
    if a is None or b is None:
        return "–"
    d = b - a
    better = d < 0 if lower_is_better else d > 0
    mark = "" if abs(d) < 10 ** -digits else (" ▲" if better else " ▼")
    return f"{d:+.{digits}f}{mark}"


def compare(a: dict[str, Any] | str | Path, b: dict[str, Any] | str | Path, *, names: tuple[str, str] = ("before", "after")) -> str:
    """A Markdown table of the differences from run ``a`` to run ``b`` (each a report dict or its JSON file):
    overall and per intent, then the queries whose P@1 (usages: recall) changed."""
    if not isinstance(a, dict) and not isinstance(b, dict) and names == ("before", "after"):
        pa, pb = Path(a), Path(b)
        names = (pa.stem, pb.stem) if pa.stem != pb.stem else (f"{pa.parent.name}/{pa.stem}", f"{pb.parent.name}/{pb.stem}")
    if not isinstance(a, dict):
        a = json.loads(Path(a).read_text())
    if not isinstance(b, dict):
        b = json.loads(Path(b).read_text())
    keys = [*METRICS, *SET_METRICS]
    out = [f"# Comparison: {names[0]} → {names[1]}", "",
           _row(["group", "n", *(f"{lab} ({names[0]} → {names[1]})" for _, lab in keys), "client p50 Δ ms", "server p50 Δ ms"]),
           _row(["---"] * (4 + len(keys)))]
    groups = [("**overall**", a["overall"], b["overall"])]
    for i in list(dict.fromkeys([*a.get("intents", {}), *b.get("intents", {})])):
        groups.append((i, a.get("intents", {}).get(i), b.get("intents", {}).get(i)))
    for name, sa, sb in groups:
        if not sa or not sb:
            out.append(_row([name, (sa or sb)["n"], *(["only in one run"] + ["–"] * (len(keys) + 1))]))
            continue
        cells = [f"{_f(sa.get(k))} → {_f(sb.get(k))} ({_delta(sa.get(k), sb.get(k))})"
                 if sa.get(k) is not None or sb.get(k) is not None else "–" for k, _ in keys]
        lat = [_delta(sa["latency"][side]["p50_ms"], sb["latency"][side]["p50_ms"], 1, lower_is_better=True)
               for side in ("client", "server")]
        out.append(_row([name, f"{sa['n']}/{sb['n']}", *cells, *lat]))
    qa = {q["id"]: q for q in a.get("queries", [])}
    changed = []
    for q in b.get("queries", []):
        old = qa.get(q["id"])
        if old is None:
            continue
        key = "usages_recall" if q["intent"] == "usages" else "p1"
        x, y = old["metrics"].get(key, 0.0), q["metrics"].get(key, 0.0)
        if abs(x - y) > 1e-9:
            changed.append((q["id"], q["intent"], key, x, y, old.get("top", [])[:1], q.get("top", [])[:1]))
    out.append("")
    if changed:
        out += [f"## Queries that changed ({len(changed)})", "",
                _row(["query", "intent", "metric", names[0], names[1], f"top-1 {names[0]}", f"top-1 {names[1]}"]),
                _row(["---"] * 7)]
        for qid, intent, key, x, y, ta, tb in changed:
            out.append(_row([f"`{qid}`", intent, key, _f(x, 2), _f(y, 2), " ".join(f"`{t}`" for t in ta),
                             " ".join(f"`{t}`" for t in tb)]))
    else:
        out.append("No query changed its P@1 (usages: recall).")
    return "\n".join(out) + "\n"
