"""Multi-hop call resolution and question cues on a small generated repository (structural index): stub
declarations, overloads, inherited methods, calls on a type's name or a module's, import aliases, Rust type parameters and unit tests, Go packages, calls on string literals, constructed types, qualified
names that fall back to a bare name, "which method", and which names count as written in the question."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sgmcp import multihop
from sgmcp.engine import Engine
from sgmcp.multihop import _named_definitions, _Walk, decompose

FILES = {
    "pkg/core.py": '''
class Attribute:
    def evolve(self, **changes):
        return self


def build(cls):
    return cls


def define(cls):
    return build(cls)


def evolve(inst, **changes):
    return inst


def use():
    return define(object)
''',
    "pkg/stack.py": '''
def push(items, item):
    items.append(item)


class Stack:
    def push(self, item):
        self.items.insert(0, item)

    def add(self, item):
        push(self.items, item)

    def put(self, item):
        self.push(item)


def fill(stack):
    stack.push(1)
''',
    "pkg/__init__.pyi": '''
def define(cls): ...
def evolve(inst, **changes): ...
''',
    # A subclass without methods of its own, and one with
    "pkg/errors.py": '''
class _Error(Exception):
    def __str__(self):
        return "error"


class ValidationError(_Error):
    """An instance was invalid."""


class SchemaError(_Error):
    def describe(self):
        return "schema"
''',
    # A free function that string methods share a name with; a filter type built in one place
    "pkg/api.py": '''
def format(sql, **options):
    return build_stack(options).run(sql)


def describe(value):
    return "{}: {}".format("value", value)


class TruncateFilter:
    def __init__(self, width):
        self.width = width

    def process(self, stream):
        return stream[: self.width]


def build_stack(options):
    return TruncateFilter(options["width"])
''',
    # Explicit base-class calls (PyYAML's loaders): `Reader.__init__(self)` is Reader's, one of a base that
    # inherits it is its base's, and never the same-named method of a class beside the caller
    "pkg/loader.py": '''
class Reader:
    def __init__(self, stream):
        self.stream = stream


class BaseResolver:
    def __init__(self):
        self.paths = []


class Resolver(BaseResolver):
    pass


class BaseLoader(Reader, Resolver):
    def __init__(self, stream):
        Reader.__init__(self, stream)
        Resolver.__init__(self)


class SafeLoader(Reader, Resolver):
    def __init__(self, stream):
        Reader.__init__(self, stream)
        Resolver.__init__(self)
''',
    # A module-qualified call beside a namesake in the caller's own file (packaging's tags.py)
    "tags/_manylinux.py": '''
def platform_tags(archs):
    return ["manylinux_" + a for a in archs]
''',
    "tags/tags.py": '''
from . import _manylinux


def _linux_platforms(archs):
    yield from _manylinux.platform_tags(archs)


def platform_tags():
    return list(_linux_platforms(["x86_64"]))
''',
    # A call through an import alias, beside a namesake of the alias in the imported module (packaging)
    "tags/_parser.py": '''
def parse_requirement(source):
    return _parse_requirement(source)


def _parse_requirement(tokens):
    return tokens
''',
    "tags/requirements.py": '''
from ._parser import parse_requirement as _parse_requirement


def requirement(text):
    return _parse_requirement(text)
''',
    # A Rust call with an explicit type parameter (`Type::<u32>::new`)
    "src/distinct.rs": '''
pub struct IdentifyDistinct<T> { next: T }

impl<T> IdentifyDistinct<T> {
    pub fn new(first: T) -> Self { IdentifyDistinct { next: first } }
}

pub struct ChangesIter { pos: usize }

impl ChangesIter {
    pub fn new(pos: usize) -> Self { ChangesIter { pos } }
}

pub fn diff(n: u32) -> IdentifyDistinct<u32> { IdentifyDistinct::<u32>::new(n) }

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_starts_at_n() { assert_eq!(diff(3).next, 3); }
}
''',
    # A JavaScript constructor function and the methods assigned to its prototype (outside its body)
    "web/writer.js": '''
function Writer () {
  function reset () { return {} }
  this.cache = reset()
}

Writer.prototype.renderTokens = function renderTokens (tokens) {
  return tokens.join('')
}
''',
    # An overload written over as many lines as the implementation's body
    "lib/core.ts": '''
export class Ajv {
  compile(
    schema: object
  ): number
  compile(schema: any): number {
    return this.add(schema)
  }
  add(schema: any): number { return 1 }
}
''',
    # Two Go packages with a function of the same name: a bare call stays in its own package (folder).
    "cmp/path.go": '''
package cmp

func isExported(id string) bool { return id != "" }
''',
    "cmp/compare.go": '''
package cmp

func compareStruct(name string) bool { return !isExported(name) }
''',
    "cmp/cmpopts/ignore.go": '''
package cmpopts

func isExported(id string) bool { return len(id) > 0 }
''',
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    from indexer.pipeline import index_repository

    repo = tmp_path_factory.mktemp("calls_repo")
    for rel, text in FILES.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text.lstrip())
    index_dir = str(tmp_path_factory.mktemp("calls_index") / "idx")
    index_repository(Path(repo), index_dir)
    return Engine(repo, index_dir)


def _walk(engine: Engine, question: str = "x: y") -> _Walk:
    return _Walk(engine, question, decompose(question), time.perf_counter() + 10)


def _sym(engine: Engine, qualname: str, path_end: str = ".py"):
    return next(s for s in engine.graph.symbols.values() if s.qualname == qualname and s.path.endswith(path_end))


def test_calls_and_names_prefer_code_over_stub_declarations(engine: Engine) -> None:
    walk = _walk(engine)
    assert [s.path for s in walk.resolve_call(_sym(engine, "use"), "define")] == ["pkg/core.py"]
    # `pkg.define` matches only the stub's module path; the start is the code it declares
    plan = decompose("pkg.define: which function builds the class")
    named = _named_definitions(_walk(engine, "pkg.define: which function builds the class"), plan)
    assert [(s.qualname, s.path) for s, _, _ in named] == [("define", "pkg/core.py")]


def test_the_receiver_chooses_between_a_method_and_a_free_function(engine: Engine) -> None:
    walk = _walk(engine)

    def resolved(caller: str, name: str) -> list[str]:
        return [s.qualname for s in walk.resolve_call(_sym(engine, caller), name)]

    # A bare `push(...)` inside a Stack method is the free function, not the method of the caller's own type
    assert resolved("Stack.add", "push") == ["push"]
    assert resolved("Stack.put", "push") == ["Stack.push"]  # `self.push()`: the caller's own type
    assert resolved("fill", "push") == ["Stack.push"]  # `stack.push()`: a method, not the function


def test_a_call_on_a_type_name_is_that_types_method(engine: Engine) -> None:
    walk = _walk(engine)
    resolved = walk.resolve_call(_sym(engine, "SafeLoader.__init__"), "__init__")
    assert sorted(s.qualname for s in resolved) == ["BaseResolver.__init__", "Reader.__init__"]


def test_a_module_qualified_call_is_that_modules_function(engine: Engine) -> None:
    walk = _walk(engine)
    resolved = walk.resolve_call(_sym(engine, "_linux_platforms"), "platform_tags")
    assert [s.path for s in resolved] == ["tags/_manylinux.py"]


def test_a_call_through_an_import_alias_is_the_imported_function(engine: Engine) -> None:
    walk = _walk(engine)
    resolved = walk.resolve_call(_sym(engine, "requirement"), "_parse_requirement")
    assert [(s.qualname, s.path) for s in resolved] == [("parse_requirement", "tags/_parser.py")]
    # the file that defines both names calls its own `_parse_requirement`
    own = walk.resolve_call(_sym(engine, "parse_requirement"), "_parse_requirement")
    assert [s.qualname for s in own] == ["_parse_requirement"]


def test_a_rust_call_with_a_type_parameter_is_that_types_function(engine: Engine) -> None:
    walk = _walk(engine)
    resolved = walk.resolve_call(_sym(engine, "diff", ".rs"), "new")
    assert [s.qualname for s in resolved] == ["IdentifyDistinct.new"]


def test_rust_unit_tests_beside_the_code_are_not_walked(engine: Engine) -> None:
    test_fn = _sym(engine, "tests.diff_starts_at_n", ".rs")  # inside `mod tests`
    assert not _walk(engine).usable(test_fn)
    assert _walk(engine, "which test checks diff").usable(test_fn)  # unless tests are asked for
    assert "tests.diff_starts_at_n" not in [s.qualname for s in _walk(engine).callers(_sym(engine, "diff", ".rs"))]


def test_a_prototype_method_is_not_nested_in_its_constructor(engine: Engine) -> None:
    walk = _walk(engine)
    for s in engine.graph.in_file("web/writer.js"):
        walk.add(s, 1, "callee")
    method, inner = _sym(engine, "Writer.renderTokens", ".js"), _sym(engine, "Writer.reset", ".js")
    assert method.kind == "method" and walk._parent_function(method) is None
    assert walk._parent_function(inner).sym.qualname == "Writer"  # a function inside the body still is


def test_an_overloaded_start_is_its_implementation(engine: Engine) -> None:
    q = "Ajv.compile: which method adds the schema"
    named = _named_definitions(_walk(engine, q), decompose(q))
    assert [(s.qualname, s.start_line) for s, _, _ in named] == [("Ajv.compile", 5)]


def test_a_type_without_methods_acts_through_those_it_inherits(engine: Engine) -> None:
    walk = _walk(engine)
    assert engine.graph.bases(_sym(engine, "ValidationError").id) == ["_Error"]
    assert [s.qualname for s in walk.members(_sym(engine, "ValidationError"))] == ["_Error.__str__"]
    assert [s.qualname for s in walk.members(_sym(engine, "SchemaError"))] == ["SchemaError.describe"]


def test_a_call_on_a_string_literal_is_not_a_call_of_the_repository(engine: Engine) -> None:
    walk = _walk(engine)
    assert walk.resolve_call(_sym(engine, "describe"), "format") == []
    assert walk.fan_in(_sym(engine, "format")) == 0


def test_a_method_of_a_type_the_neighbourhood_constructs_is_joined(engine: Engine) -> None:
    walk = _walk(engine)
    walk.add(_sym(engine, "build_stack"), 1, "callee")
    walk.add(_sym(engine, "TruncateFilter.process"), multihop.UNREACHED, "subquery")
    walk.add(_sym(engine, "TruncateFilter.__init__"), multihop.UNREACHED, "subquery")
    walk.bridge(2)
    process, init = (walk.nodes[_sym(engine, q).id] for q in ("TruncateFilter.process", "TruncateFilter.__init__"))
    assert (process.via, process.dist, process.connected) == ("bridge", 2, True)
    assert init.via == "subquery"  # a constructor says nothing of what the type is for


def test_a_bare_go_call_stays_in_its_package(engine: Engine) -> None:
    callees = _walk(engine).resolve_call(_sym(engine, "compareStruct", ".go"), "isExported")
    assert [s.path for s in callees] == ["cmp/path.go"]


def test_a_qualified_name_falls_back_to_free_functions_not_other_types_methods(engine: Engine) -> None:
    q = "attrs.evolve: which function copies the instance"
    named = _named_definitions(_walk(engine, q), decompose(q))
    assert [s.qualname for s, _, _ in named] == ["evolve"]


def test_a_method_called_on_a_variable_is_that_method(engine: Engine) -> None:
    q = "st.put(1) on a full stack: which method inserts the item"
    assert [s.qualname for s, _, _ in _named_definitions(_walk(engine, q), decompose(q))] == ["Stack.put"]
    q = "pkg.put(1): which method inserts the item"  # `pkg` is a package of the repository, not a variable
    assert _named_definitions(_walk(engine, q), decompose(q)) == []


def test_which_method_prefers_methods(engine: Engine) -> None:
    assert _walk(engine, "use: which method returns the class")._wants_method
    assert not _walk(engine, "use: which Attribute method returns the class")._wants_method  # owner cue
    assert not _walk(engine, "use: which function returns the class")._wants_method


def test_only_names_written_as_code_or_in_the_anchor_count_as_named(engine: Engine) -> None:
    walk = _walk(engine, "Tokenizer.next reading a string: which method decodes the hex digits of an escape")
    assert {"Tokenizer", "next", "reading", "string"} <= walk._written
    assert "hex" not in walk._written and "digits" not in walk._written
    assert "sample" not in _walk(engine, "sampleTime: which function makes the notifier it passes to sample")._written
    assert "max_log_bytes" in _walk(engine, "NoteStore._record: which function rotates it past max_log_bytes")._written


def test_multihop_module_lists_stub_suffixes() -> None:
    assert multihop._is_stub("src/attr/__init__.pyi") and multihop._is_stub("lib/node.d.ts")
    assert not multihop._is_stub("lib/node.js") and not multihop._is_stub("src/attr/_make.py")
