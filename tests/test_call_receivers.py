"""A call reference's receiver (``indexer.model.Reference.receiver``): the expression a member call is
written on, a scoped path's scope with its ``::``, "" for a bare call; one rule for every grammar."""

from __future__ import annotations

import pytest

from indexer.languages import language_for
from indexer.parser import parse_source

CASES = {
    "a.py": ("def f(self):\n    self.g()\n    h()\n    os.path.join(a)\n    super().m()\n    x.y.z(1)\n",
             [("g", "self"), ("h", ""), ("join", "os.path"), ("super", ""), ("m", "super()"), ("z", "x.y")]),
    "a.js": ("function f() { this.g(); h(); a?.b(); new x.Y(); obj.items[0].run(); }\n",
             [("g", "this"), ("h", ""), ("b", "a"), ("Y", "x"), ("run", "obj.items[0]")]),
    "a.ts": ("function f(): void { this.g(); h<T>(); a?.b(); utils.k(); }\n",
             [("g", "this"), ("h", ""), ("b", "a"), ("k", "utils")]),
    "a.go": ("package a\n\nfunc (r *Router) F() { r.g(); h(); strings.Index(s, t); r.x.Y() }\n",
             [("g", "r"), ("h", ""), ("Index", "strings"), ("Y", "r.x")]),
    "a.rs": ("fn f() { self.g(); h(); Vec::new(); Self::k(); a.b::<T>(); std::mem::swap(a, b); println!(\"\"); }\n",
             [("g", "self"), ("h", ""), ("new", "Vec::"), ("k", "Self::"), ("b", "a"), ("swap", "std::mem::"),
              ("println", "")]),
    # calls inside a macro's arguments are tokens to the grammar; `x[0]` is not a call
    "b.rs": ("fn f() { tri!(self.parse(b, x[0])); write!(w, \"{}\", fmt(v)); }\n",
             [("tri", ""), ("parse", "self"), ("write", ""), ("fmt", "")]),
    "A.java": ("class A { void f() { this.g(); h(); list.add(1); A.s(); new B(); } }\n",
               [("g", "this"), ("h", ""), ("add", "list"), ("s", "A"), ("B", "")]),
    "a.cpp": ("void f() { this->g(); h(); a.b(); std::move(x); p->q(); }\n",
              [("g", "this"), ("h", ""), ("b", "a"), ("move", "std::"), ("q", "p")]),
    "A.cs": ("class A { void F() { this.G(); H(); a.B(); } }\n", [("G", "this"), ("H", ""), ("B", "a")]),
    "a.kt": ("fun f() { this.g(); h(); a.b(); a?.c() }\n", [("g", "this"), ("h", ""), ("b", "a"), ("c", "a")]),
    "a.php": ("<?php function f() { $this->g(); h(); A::s(); $a?->b(); }\n",
              [("g", "$this"), ("h", ""), ("s", "A::"), ("b", "$a")]),
    "a.rb": ("def f\n  self.g\n  h()\n  a.b(1)\n  a&.c\nend\n", [("g", "self"), ("h", ""), ("b", "a"), ("c", "a")]),
}


def _calls(path: str, source: str) -> list[tuple[str, str]]:
    spec = language_for(path)
    assert spec is not None
    parsed = parse_source(path, source.encode(), spec)
    return [(r.name, r.receiver) for r in parsed.references if r.kind == "call"]


@pytest.mark.parametrize("path", sorted(CASES))
def test_call_receivers(path: str) -> None:
    source, want = CASES[path]
    assert _calls(path, source) == want


def test_long_receivers_are_cut_and_other_references_have_none() -> None:
    calls = _calls("a.py", "def f():\n    " + "a" * 80 + ".g()\n")
    assert calls == [("g", "a" * 39 + "…")]
    spec = language_for("a.py")
    parsed = parse_source("a.py", b"class B(A):\n    x: int = A.y\n", spec)
    assert all(r.receiver == "" for r in parsed.references if r.kind != "call")
