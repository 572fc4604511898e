"""evals.csn: each mined function becomes a file the indexer reads as one definition."""

from __future__ import annotations

import pytest

from evals.csn import layout, macro


@pytest.mark.parametrize("language, code, how, head", [
    ("python", "    def irange(self, lo, hi):\n        x = lo\n        return iter(range(x, hi))\n", "bare",
     "def irange"),
    ("go", "func (m *Mux) Use(fn Middleware) {\n\tm.mw = append(m.mw, fn)\n\treturn\n}\n", "bare", "func (m *Mux)"),
    ("rust", "    fn write_null<W>(&mut self, w: &mut W) -> io::Result<()> {\n        w.write_all(b\"null\")\n    }\n",
     "bare", "fn write_null"),
    ("javascript", "  _parseEnv() {\n    const a = 1;\n    return a + this.b;\n  }\n", "wrapped", "class C_7 {"),
    ("java", "    Sep(final String s) {\n        this.s = s;\n        check(s);\n    }\n", "wrapped", "class C_7 {"),
    ("typescript", "query: (path: string) => {\n  const r = path;\n  return r;\n},\n", "wrapped", "const C_7 = {"),
])
def test_layout_gives_one_definition(language: str, code: str, how: str, head: str) -> None:
    text, got = layout(code, language, "f7")
    assert got == how
    assert text.startswith(head)


def test_macro_averages_languages_not_queries() -> None:
    per = {"a": {"metrics": {"dense": {"mrr": 1.0, "p@1": 1.0, "n": 1}}},
           "b": {"metrics": {"dense": {"mrr": 0.0, "p@1": 0.0, "n": 9}}}}
    assert macro(per) == {"dense": {"mrr": 0.5, "p@1": 0.5, "n": 10}}
