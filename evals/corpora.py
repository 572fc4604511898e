"""The query-suite corpora: real open-source code bases, each fetched from a package registry at a pinned
version and unpacked under ``evals/data/corpora/NAME-VERSION/`` (git-ignored; never vendored).

    python -m evals.corpora fetch            # fetch every corpus (skips those already unpacked)
    python -m evals.corpora fetch rxjs      # one of them
    python -m evals.corpora list             # name, version, language, registry, path, lines
    python -m evals.corpora path itertools   # print the unpacked directory

Registries, by their ordinary clients only:

* PyPI: ``pip download --no-deps --no-binary :all:`` (the sdist), via :mod:`evals.fetch`;
* npm: ``npm pack NAME@VERSION`` in a temporary directory, then the tarball is unpacked;
* Debian: ``apt-get download PACKAGE=VERSION`` then ``dpkg -x``: the Rust crates (``librust-*-dev``) and Go
  modules (``golang-*-dev``) that Debian packages ship their full source.

Each corpus keeps only its source subtrees (``keep``), so compiled bundles (an npm package's ``dist/``) do
not duplicate every definition.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
CORPORA_DIR = DATA_DIR / "corpora"
SUITES_DIR = Path(__file__).resolve().parent / "suites"


@dataclass(frozen=True)
class Corpus:
    name: str
    version: str
    language: str
    registry: str  # "pypi" | "npm" | "debian"
    package: str  # the registry's package name
    # Paths inside the unpacked package (after the top folder is dropped) that make up the corpus.
    keep: tuple[str, ...] = ()
    upstream: str = ""  # what the code is, for the report

    @property
    def dirname(self) -> str:
        return f"{self.name}-{self.version}"

    def path(self, base: Path = CORPORA_DIR) -> Path:
        return base / self.dirname

    @property
    def suite(self) -> Path:
        return SUITES_DIR / f"{self.name}.jsonl"


CORPORA: dict[str, Corpus] = {c.name: c for c in (
    Corpus("marshmallow", "3.26.1", "python", "pypi", "marshmallow",
           keep=("src", "tests", "docs", "examples", "README.rst"),
           upstream="marshmallow 3.26.1 (object serialization / validation), PyPI sdist"),
    Corpus("rxjs", "7.8.1", "typescript", "npm", "rxjs", keep=("src", "package.json", "README.md"),
           upstream="rxjs 7.8.1 (reactive streams: Observable and operators), npm package, TypeScript sources"),
    Corpus("itertools", "0.10.3", "rust", "debian", "librust-itertools-dev=0.10.3-1",
           keep=("usr/share/cargo/registry/itertools-0.10.3",),
           upstream="itertools 0.10.3 (Rust iterator adaptors), Debian librust-itertools-dev 0.10.3-1"),
    Corpus("gorilla-mux", "1.8.0", "go", "debian", "golang-github-gorilla-mux-dev=1.8.0-1",
           keep=("usr/share/gocode/src/github.com/gorilla/mux",),
           upstream="github.com/gorilla/mux 1.8.0 (HTTP router), Debian golang-github-gorilla-mux-dev 1.8.0-1"),
    # Corpora of the fresh multi-hop set (issue 7): code the multi-hop heuristics were never developed on.
    Corpus("attrs", "24.2.0", "python", "pypi", "attrs", keep=("src", "tests"),
           upstream="attrs 24.2.0 (classes without boilerplate), PyPI sdist"),
    Corpus("burntsushi-toml", "1.2.0", "go", "debian", "golang-github-burntsushi-toml-dev=1.2.0-2",
           keep=("usr/share/gocode/src/github.com/BurntSushi/toml",),
           upstream="github.com/BurntSushi/toml 1.2.0 (TOML for Go), Debian golang-github-burntsushi-toml-dev 1.2.0-2"),
    Corpus("toml-rs", "0.5.11", "rust", "debian", "librust-toml-dev=0.5.11-1",
           keep=("usr/share/cargo/registry/toml-0.5.11",),
           upstream="toml 0.5.11 (TOML for Rust, serde), Debian librust-toml-dev 0.5.11-1"),
    # Corpora of the second fresh multi-hop set (issue 7, third round): written before that round's changes.
    Corpus("jinja2", "3.1.4", "python", "pypi", "jinja2", keep=("src", "tests"),
           upstream="Jinja2 3.1.4 (template engine), PyPI sdist"),
    Corpus("postcss", "8.4.38", "javascript", "npm", "postcss", keep=("lib", "package.json", "README.md"),
           upstream="postcss 8.4.38 (CSS parser and transformer), npm package, JavaScript sources"),
    Corpus("go-jmespath", "0.4.0", "go", "debian", "golang-github-jmespath-go-jmespath-dev=0.4.0-2",
           keep=("usr/share/gocode/src/github.com/jmespath/go-jmespath",),
           upstream="github.com/jmespath/go-jmespath 0.4.0 (JMESPath for Go), Debian golang-github-jmespath-go-jmespath-dev 0.4.0-2"),
    # Corpora of the third fresh multi-hop set (fresh3): written before any measurement on them.
    Corpus("click", "8.1.8", "python", "pypi", "click", keep=("src", "tests"),
           upstream="click 8.1.8 (command-line interfaces), PyPI sdist"),
    Corpus("commander", "12.1.0", "javascript", "npm", "commander",
           keep=("lib", "index.js", "package.json", "Readme.md"),
           upstream="commander 12.1.0 (command-line interfaces for Node.js), npm package, JavaScript sources"),
    Corpus("mapstructure", "1.5.0", "go", "debian", "golang-github-mitchellh-mapstructure-dev=1.5.0-2",
           keep=("usr/share/gocode/src/github.com/mitchellh/mapstructure",),
           upstream="github.com/mitchellh/mapstructure 1.5.0 (maps to Go structs), Debian golang-github-mitchellh-mapstructure-dev 1.5.0-2"),
    # Corpora of the fresh4 multi-hop set (issue 7)
    Corpus("jsonschema", "4.23.0", "python", "pypi", "jsonschema", keep=("jsonschema",),
           upstream="jsonschema 4.23.0 (JSON Schema validation), PyPI sdist"),
    Corpus("ajv", "8.17.1", "typescript", "npm", "ajv", keep=("lib", "package.json", "README.md"),
           upstream="ajv 8.17.1 (JSON Schema validator compiling schemas to code), npm package, TypeScript sources"),
    Corpus("pflag", "1.0.6", "go", "debian", "golang-github-spf13-pflag-dev=1.0.6~git20210604-d5e0c0615ace-1",
           keep=("usr/share/gocode/src/github.com/spf13/pflag",),
           upstream="github.com/spf13/pflag 1.0.6~git20210604 (POSIX/GNU-style command-line flags), Debian golang-github-spf13-pflag-dev 1.0.6~git20210604-d5e0c0615ace-1"),
    # Corpora of the fresh5 multi-hop set (issue 7)
    Corpus("tomlkit", "0.13.2", "python", "pypi", "tomlkit", keep=("tomlkit",),
           upstream="tomlkit 0.13.2 (style-preserving TOML library), PyPI sdist"),
    Corpus("handlebars", "4.7.8", "javascript", "npm", "handlebars", keep=("lib", "package.json", "README.md"),
           upstream="handlebars 4.7.8 (Mustache-compatible templates compiled to JavaScript), npm package, JavaScript sources"),
    Corpus("go-cmp", "0.5.9", "go", "debian", "golang-github-google-go-cmp-dev=0.5.9-1",
           keep=("usr/share/gocode/src/github.com/google/go-cmp",),
           upstream="github.com/google/go-cmp 0.5.9 (equality and diffs of Go values), Debian golang-github-google-go-cmp-dev 0.5.9-1"),
    # Corpora of the fresh6 multi-hop set (issue 7)
    Corpus("sqlparse", "0.5.1", "python", "pypi", "sqlparse", keep=("sqlparse",),
           upstream="sqlparse 0.5.1 (non-validating SQL parser, splitter and formatter), PyPI sdist"),
    Corpus("marked", "4.3.0", "javascript", "npm", "marked", keep=("src", "bin", "package.json", "README.md"),
           upstream="marked 4.3.0 (Markdown parser and HTML renderer), npm package, JavaScript sources"),
    Corpus("serde-json", "1.0.87", "rust", "debian", "librust-serde-json-dev=1.0.87-1",
           keep=("usr/share/cargo/registry/serde_json-1.0.87",),
           upstream="serde_json 1.0.87 (JSON for Rust, serde), Debian librust-serde-json-dev 1.0.87-1"),
    # Corpora of the fresh7 multi-hop set (issue 7)
    Corpus("python-dateutil", "2.9.0.post0", "python", "pypi", "python-dateutil", keep=("src",),
           upstream="python-dateutil 2.9.0.post0 (date parsing, recurrence rules, time zones, relative deltas), PyPI sdist"),
    Corpus("mobx", "6.13.5", "typescript", "npm", "mobx", keep=("src", "package.json", "README.md"),
           upstream="mobx 6.13.5 (observable state, computed values and reactions), npm package, TypeScript sources"),
    Corpus("gorilla-websocket", "1.5.0", "go", "debian", "golang-github-gorilla-websocket-dev=1.5.0-2",
           keep=("usr/share/gocode/src/github.com/gorilla/websocket",),
           upstream="github.com/gorilla/websocket 1.5.0 (WebSocket protocol for Go), Debian golang-github-gorilla-websocket-dev 1.5.0-2"),
    # Corpora of the fresh8 multi-hop set (issue 7)
    Corpus("parsimonious", "0.11.0", "python", "pypi", "parsimonious", keep=(
               "parsimonious/__init__.py", "parsimonious/grammar.py", "parsimonious/expressions.py",
               "parsimonious/nodes.py", "parsimonious/exceptions.py", "parsimonious/utils.py", "parsimonious/tests",
               "README.rst"),
           upstream="parsimonious 0.11.0 (PEG grammars and parse trees for Python), PyPI sdist"),
    Corpus("semver", "7.8.6", "javascript", "npm", "semver",
           keep=("classes", "functions", "ranges", "internal", "bin", "index.js", "preload.js", "package.json", "README.md"),
           upstream="semver 7.8.6 (the semantic version parser used by npm: versions, ranges, comparators), npm package, JavaScript sources"),
    Corpus("gobwas-glob", "0.2.3", "go", "debian", "golang-github-gobwas-glob-dev=0.2.3+git20180208.19c076c-2",
           keep=("usr/share/gocode/src/github.com/gobwas/glob",),
           upstream="github.com/gobwas/glob 0.2.3+git20180208.19c076c (glob pattern compiler and matchers for Go), Debian golang-github-gobwas-glob-dev 0.2.3+git20180208.19c076c-2"),
    # Corpora of the fresh9 multi-hop set (issue 7)
    Corpus("pyyaml", "6.0.2", "python", "pypi", "PyYAML", keep=("lib/yaml", "README.md"),
           upstream="PyYAML 6.0.2 (YAML parser and emitter for Python, pure-Python sources), PyPI sdist"),
    Corpus("luxon", "3.7.2", "javascript", "npm", "luxon", keep=("src", "package.json", "README.md"),
           upstream="luxon 3.7.2 (dates, times, durations and intervals with time zones and Intl formatting), npm package, JavaScript sources"),
    Corpus("hashicorp-hcl", "1.0.0", "go", "debian", "golang-github-hashicorp-hcl-dev=1.0.0-1.1",
           keep=("usr/share/gocode/src/github.com/hashicorp/hcl",),
           upstream="github.com/hashicorp/hcl 1.0.0 (HCL v1 configuration language: scanner, parser, printer, decoder), Debian golang-github-hashicorp-hcl-dev 1.0.0-1.1"),
    # Corpora of the fresh10 multi-hop set (issue 7)
    Corpus("packaging", "24.1", "python", "pypi", "packaging", keep=("src",),
           upstream="packaging 24.1 (PyPA core utilities: versions, specifiers, markers, requirements, tags, metadata), PyPI sdist"),
    Corpus("js-yaml", "4.1.0", "javascript", "npm", "js-yaml", keep=("lib", "bin", "index.js", "package.json", "README.md"),
           upstream="js-yaml 4.1.0 (YAML 1.2 loader and dumper for JavaScript), npm package, JavaScript sources"),
    Corpus("similar", "2.2.1", "rust", "debian", "librust-similar-dev=2.2.1-1",
           keep=("usr/share/cargo/registry/similar-2.2.1",),
           upstream="similar 2.2.1 (diff algorithms: Myers, patience, LCS; text diffs and unified diffs), Debian librust-similar-dev 2.2.1-1"),
    # Corpora of the fresh11 multi-hop set (issue 7)
    Corpus("mistune", "3.0.2", "python", "pypi", "mistune", keep=("src",),
           upstream="mistune 3.0.2 (Markdown parser with plugins and HTML / reStructuredText / Markdown renderers), PyPI sdist"),
    Corpus("msgpack-ts", "3.1.3", "typescript", "npm", "@msgpack/msgpack", keep=("src", "mod.ts", "package.json", "README.md"),
           upstream="@msgpack/msgpack 3.1.3 (MessagePack encoder and decoder with extension types), npm package, TypeScript sources"),
    Corpus("go-toml", "1.9.4", "go", "debian", "golang-github-pelletier-go-toml-dev=1.9.4-1",
           keep=("usr/share/gocode/src/github.com/pelletier/go-toml",),
           upstream="github.com/pelletier/go-toml 1.9.4 (TOML for Go: lexer, parser, tree, marshaling, query), Debian golang-github-pelletier-go-toml-dev 1.9.4-1"),
    # Corpora of the fresh12 multi-hop set (issue 7)
    Corpus("lark", "1.2.2", "python", "pypi", "lark", keep=("lark",),
           upstream="lark 1.2.2 (parsing toolkit: grammar loader, Earley / LALR parsers, lexers, parse trees and transformers), PyPI sdist"),
    Corpus("markdown-it", "14.1.0", "javascript", "npm", "markdown-it", keep=("lib", "index.mjs", "package.json", "README.md"),
           upstream="markdown-it 14.1.0 (CommonMark Markdown parser with block / inline rule chains and an HTML renderer), npm package, JavaScript sources"),
    Corpus("gjson", "1.14.4", "go", "debian", "golang-github-tidwall-gjson-dev=1.14.4-2",
           keep=("usr/share/gocode/src/github.com/tidwall/gjson",),
           upstream="github.com/tidwall/gjson 1.14.4 (fast JSON value lookup by path syntax, modifiers and iteration), Debian golang-github-tidwall-gjson-dev 1.14.4-2"),
    # Corpora of the fresh13 multi-hop set (issue 7)
    Corpus("python-markdown", "3.7", "python", "pypi", "markdown", keep=("markdown",),
           upstream="Python-Markdown 3.7 (Markdown to HTML with block and inline processors, tree processors, postprocessors and extensions), PyPI sdist"),
    Corpus("yaml-js", "2.5.1", "javascript", "npm", "yaml", keep=("dist", "package.json", "README.md"),
           upstream="yaml 2.5.1 (eemeli/yaml: YAML 1.1/1.2 lexer, CST parser, composer, document model and stringifier), npm package, compiled CommonJS dist/"),
    Corpus("textwrap", "0.16.0", "rust", "debian", "librust-textwrap-dev=0.16.0-2",
           keep=("usr/share/cargo/registry/textwrap-0.16.0",),
           upstream="textwrap 0.16.0 (word wrapping, filling, indenting and dedenting of text; first-fit and optimal-fit wrapping), Debian librust-textwrap-dev 0.16.0-2"),
    # Corpora of the fresh14 multi-hop set (issue 7)
    Corpus("cerberus", "1.3.5", "python", "pypi", "Cerberus", keep=("cerberus",),
           upstream="Cerberus 1.3.5 (schema-based validation and normalization of dicts: rules, coercion, defaults, schema validation and registries), PyPI sdist"),
    Corpus("fast-xml-parser", "4.5.0", "javascript", "npm", "fast-xml-parser", keep=("src", "package.json", "README.md"),
           upstream="fast-xml-parser 4.5.0 (XML parser, validator and builder: tag and attribute parsing, entities, value parsing and XML output), npm package, JavaScript sources"),
    Corpus("robfig-cron", "3.0.1", "go", "debian", "golang-github-robfig-cron-dev=3.0.1-1",
           keep=("usr/share/gocode/src/github.com/robfig/cron",),
           upstream="github.com/robfig/cron 3.0.1 (cron spec parser, schedules, job runner with chains of job wrappers), Debian golang-github-robfig-cron-dev 3.0.1-1"),
    # Corpora of the fresh15 multi-hop set (issue 7)
    Corpus("voluptuous", "0.15.2", "python", "pypi", "voluptuous", keep=("voluptuous",),
           upstream="voluptuous 0.15.2 (data validation: schemas compiled to validators, markers, validator combinators), PyPI sdist"),
    Corpus("ejs", "3.1.10", "javascript", "npm", "ejs", keep=("lib", "package.json", "README.md"),
           upstream="ejs 3.1.10 (Embedded JavaScript templates: template scanner, source generator, includes and caching), npm package, JavaScript sources"),
    Corpus("ron", "0.7.1", "rust", "debian", "librust-ron-dev=0.7.1-1",
           keep=("usr/share/cargo/registry/ron-0.7.1",),
           upstream="ron 0.7.1 (Rusty Object Notation: parser, serde deserializer and pretty serializer), Debian librust-ron-dev 0.7.1-1"),
    # Corpora of the fresh16 multi-hop set (issue 7)
    Corpus("tinycss2", "1.3.0", "python", "pypi", "tinycss2", keep=("tinycss2",),
           upstream="tinycss2 1.3.0 (CSS tokenizer, parser and serializer: component values, rules and declarations, An+B and colors), PyPI sdist"),
    Corpus("mustache", "4.2.0", "javascript", "npm", "mustache", keep=("mustache.js", "package.json", "README.md"),
           upstream="mustache 4.2.0 (logic-less templates: scanner, token parser and nester, context lookup, writer and partials), npm package, JavaScript source (UMD mustache.js)"),
    Corpus("masterminds-semver", "3.2.0", "go", "debian", "golang-github-masterminds-semver-dev=3.2.0-1",
           keep=("usr/share/gocode/src/github.com/Masterminds/semver",),
           upstream="github.com/Masterminds/semver 3.2.0 (semantic versions for Go: parsing, comparison, constraints and ranges), Debian golang-github-masterminds-semver-dev 3.2.0-1"),
    # Corpora of the fresh17 multi-hop set (issue 7)
    Corpus("cssselect", "1.2.0", "python", "pypi", "cssselect", keep=("cssselect",),
           upstream="cssselect 1.2.0 (CSS selectors parsed and translated to XPath 1.0, generic and HTML translators), PyPI sdist"),
    Corpus("htmlparser2", "8.0.2", "javascript", "npm", "htmlparser2", keep=("lib/esm", "package.json", "README.md"),
           upstream="htmlparser2 8.0.2 (streaming HTML / XML tokenizer state machine and callback parser with implied tag closing), npm package, compiled ES module lib/esm"),
    Corpus("glob-rs", "0.3.0", "rust", "debian", "librust-glob-dev=0.3.0-1",
           keep=("usr/share/cargo/registry/glob-0.3.0",),
           upstream="glob 0.3.0 (Unix shell style glob patterns: pattern compiler, matcher with options, filesystem walker), Debian librust-glob-dev 0.3.0-1"),
    # Corpora of the fresh18 multi-hop set (issue 7)
    Corpus("pathspec", "0.12.1", "python", "pypi", "pathspec", keep=("pathspec",),
           upstream="pathspec 0.12.1 (gitignore-style path pattern matching: pattern compiler, spec matching, tree walking), PyPI sdist"),
    Corpus("yargs-parser", "21.1.1", "javascript", "npm", "yargs-parser", keep=("build/lib", "package.json", "README.md"),
           upstream="yargs-parser 21.1.1 (argv parser: flags, aliases, dot-notation, arrays, counts, coercion and configuration), npm package, compiled ES module build/lib"),
    Corpus("hashicorp-go-version", "1.3.0", "go", "debian", "golang-github-hashicorp-go-version-dev=1.3.0-1",
           keep=("usr/share/gocode/src/github.com/hashicorp/go-version",),
           upstream="github.com/hashicorp/go-version 1.3.0 (version parsing, comparison and constraints for Go), Debian golang-github-hashicorp-go-version-dev 1.3.0-1"),
    # Corpora of the fresh19 multi-hop set (issue 7)
    Corpus("mako", "1.3.5", "python", "pypi", "Mako", keep=("mako",),
           upstream="Mako 1.3.5 (templates compiled to Python: lexer, parse tree, code generator, runtime context and template lookup), PyPI sdist"),
    Corpus("diff", "5.2.0", "javascript", "npm", "diff", keep=("lib/index.es6.js", "package.json", "README.md"),
           upstream="diff 5.2.0 (jsdiff: Myers diff of characters, words, lines, JSON and arrays; unified patches created, parsed, applied, merged and reversed), npm package, ES module build lib/index.es6.js"),
    Corpus("quick-xml", "0.26.0", "rust", "debian", "librust-quick-xml-dev=0.26.0-3",
           keep=("usr/share/cargo/registry/quick-xml-0.26.0",),
           upstream="quick-xml 0.26.0 (streaming XML pull reader and writer, escaping, attributes, namespaces and serde support), Debian librust-quick-xml-dev 0.26.0-3"),
    # Corpora of the fresh20 multi-hop set (issue 7)
    Corpus("configobj", "5.0.9", "python", "pypi", "configobj", keep=("src/configobj", "README.md"),
           upstream="configobj 5.0.9 (INI-style config files read into nested sections, interpolation, writing, and validation against a configspec with validate.py checks), PyPI sdist"),
    Corpus("path-to-regexp", "6.3.0", "javascript", "npm", "path-to-regexp", keep=("dist/index.js", "package.json", "Readme.md"),
           upstream="path-to-regexp 6.3.0 (Express-style route paths: lexer, token parser, path compiler, regexp builder and matcher), npm package, compiled CommonJS dist/index.js"),
    Corpus("semver-parser", "0.10.0", "rust", "debian", "librust-semver-parser-dev=0.10.0-1",
           keep=("usr/share/cargo/registry/semver-parser-0.10.0",),
           upstream="semver-parser 0.10.0 (semantic version and npm-style range parsing: lexer, parser, versions, comparators and range sets), Debian librust-semver-parser-dev 0.10.0-1"),
    # Corpora of the fresh21 multi-hop set (issue 7)
    Corpus("docopt", "0.6.2", "python", "pypi", "docopt", keep=("docopt.py",),
           upstream="docopt 0.6.2 (command-line interfaces from their usage text: usage/option parsing into a pattern tree, argv tokenizing and matching), PyPI sdist"),
    Corpus("qs", "6.13.0", "javascript", "npm", "qs", keep=("lib", "package.json", "README.md"),
           upstream="qs 6.13.0 (query strings parsed into nested objects and stringified back: brackets, dots, arrays, charsets and encoders), npm package, CommonJS lib"),
    Corpus("fastjson", "1.6.3", "go", "debian", "golang-github-valyala-fastjson-dev=1.6.3-4",
           keep=("usr/share/gocode/src/github.com/valyala/fastjson",),
           upstream="github.com/valyala/fastjson 1.6.3 (fast JSON parser, validator, value arena, scanner and float parsing for Go), Debian golang-github-valyala-fastjson-dev 1.6.3-4"),
    # Corpora of the fresh22 multi-hop set (issue 7)
    Corpus("jmespath", "1.0.1", "python", "pypi", "jmespath", keep=("jmespath",),
           upstream="jmespath 1.0.1 (JMESPath JSON query language for Python: lexer, Pratt parser with cache, AST tree interpreter and built-in functions), PyPI sdist"),
    Corpus("nunjucks", "3.2.4", "javascript", "npm", "nunjucks", keep=("src", "index.js", "package.json", "README.md"),
           upstream="nunjucks 3.2.4 (Jinja-like templates for JavaScript: lexer, parser, transformer, compiler to JS, runtime, environment, loaders and filters), npm package, CommonJS src"),
    Corpus("gobwas-httphead", "0.1.0", "go", "debian", "golang-github-gobwas-httphead-dev=0.1.0-2",
           keep=("usr/share/gocode/src/github.com/gobwas/httphead",),
           upstream="github.com/gobwas/httphead 0.1.0 (HTTP header value lexing without allocations: tokens, quoted strings, options lists, cookies, request/response lines, writer), Debian golang-github-gobwas-httphead-dev 0.1.0-2"),
    # Corpora of the fresh23 multi-hop set (issue 7)
    Corpus("tomli", "2.0.1", "python", "pypi", "tomli", keep=("src/tomli",),
           upstream="tomli 2.0.1 (TOML 1.0 parser: key/value and table parsing, strings, arrays, inline tables, dates and numbers into Python objects), PyPI sdist"),
    Corpus("json5", "2.2.3", "javascript", "npm", "json5", keep=("lib", "package.json", "README.md"),
           upstream="json5 2.2.3 (JSON5 lexer state machine, parser with reviver, and stringify with quoting, indentation and replacers), npm package, CommonJS lib"),
    Corpus("roxmltree", "0.16.0", "rust", "debian", "librust-roxmltree-dev=0.16.0-1",
           keep=("usr/share/cargo/registry/roxmltree-0.16.0",),
           upstream="roxmltree 0.16.0 (read-only XML tree: document building from xmlparser tokens, entities, namespaces, attribute normalization, node navigation), Debian librust-roxmltree-dev 0.16.0-1"),
    # Corpora of the fresh24 multi-hop set (issue 7)
    Corpus("schema", "0.7.7", "python", "pypi", "schema", keep=("schema.py",),
           upstream="schema 0.7.7 (data validation from plain Python structures: Schema, And/Or/Regex/Use/Optional/Hook, JSON Schema export), PyPI sdist"),
    Corpus("nearley", "2.20.1", "javascript", "npm", "nearley", keep=("lib", "package.json", "README.md"),
           upstream="nearley 2.20.1 (Earley parser toolkit: chart parser with states and columns, grammar compiler, code generators, lint, unparser and random generator), npm package, CommonJS lib"),
    Corpus("blang-semver", "4.0.0", "go", "debian", "golang-github-blang-semver-dev=4.0.0-1",
           keep=("usr/share/gocode/src/github.com/blang/semver/v4",),
           upstream="github.com/blang/semver 4.0.0 (semantic versions for Go: parsing, comparison, increments, ranges with AND/OR and wildcards, JSON and SQL), Debian golang-github-blang-semver-dev 4.0.0-1"),
    # Corpora of the fresh25 multi-hop set (issue 7)
    Corpus("tabulate", "0.9.0", "python", "pypi", "tabulate", keep=("tabulate",),
           upstream="tabulate 0.9.0 (pretty-printed tables: tabular data normalized, column types guessed, numbers and text aligned and padded, rows and lines drawn in many formats, wrapping), PyPI sdist"),
    Corpus("csv-parse", "5.5.6", "javascript", "npm", "csv-parse", keep=("lib", "package.json", "README.md"),
           upstream="csv-parse 5.5.6 (CSV parser: byte-level state machine over a resizable buffer, quotes, escapes, delimiters, record and column options, casting, stream and sync APIs), npm package, ES module lib"),
    Corpus("unicode-bidi", "0.3.8", "rust", "debian", "librust-unicode-bidi-dev=0.3.8-2",
           keep=("usr/share/cargo/registry/unicode-bidi-0.3.8",),
           upstream="unicode-bidi 0.3.8 (Unicode Bidirectional Algorithm UAX #9: paragraph and class analysis, explicit embedding levels, isolating run sequences, weak and neutral resolution, line reordering), Debian librust-unicode-bidi-dev 0.3.8-2"),
    # Corpora of the fresh26 multi-hop set (issue 7)
    Corpus("isodate", "0.7.2", "python", "pypi", "isodate", keep=("src/isodate",),
           upstream="isodate 0.7.2 (ISO 8601 dates, times, datetimes, durations and time zones parsed from strings and formatted back with strftime-like ISO patterns), PyPI sdist"),
    Corpus("cron-parser", "4.9.0", "javascript", "npm", "cron-parser", keep=("lib", "package.json", "README.md"),
           upstream="cron-parser 4.9.0 (cron expressions parsed into fields with ranges, steps, nth weekdays and last-day marks; schedule iteration forwards and backwards over time zones; crontab files; field compaction and stringify), npm package, CommonJS lib"),
    Corpus("uniseg", "0.4.2", "go", "debian", "golang-github-rivo-uniseg-dev=0.4.2-1",
           keep=("usr/share/gocode/src/github.com/rivo/uniseg",),
           upstream="github.com/rivo/uniseg 0.4.2 (Unicode text segmentation for Go: grapheme clusters, words, sentences and line breaks as state machines over property tables, and monospace string width), Debian golang-github-rivo-uniseg-dev 0.4.2-1"),
    # Corpora of the fresh27 multi-hop set (issue 7)
    Corpus("inflect", "7.5.0", "python", "pypi", "inflect", keep=("inflect",),
           upstream="inflect 7.5.0 (English inflection: plurals and singulars of nouns, verbs and adjectives, a/an articles, ordinals, numbers to words, word lists), PyPI sdist"),
    Corpus("fast-json-patch", "3.1.1", "javascript", "npm", "fast-json-patch",
           keep=("commonjs/core.js", "commonjs/duplex.js", "commonjs/helpers.js", "package.json", "README.md"),
           upstream="fast-json-patch 3.1.1 (RFC 6902 JSON Patch: applying and validating operations, JSON pointers, observing objects and diffing them into patches), npm package, the CommonJS build's three modules (no .d.ts)"),
    Corpus("pest", "2.5.2", "rust", "debian", "librust-pest-dev=2.5.2-1",
           keep=("usr/share/cargo/registry/pest-2.5.2",),
           upstream="pest 2.5.2 (PEG parser runtime: parser state with sequences, repetitions, lookahead and stack, token pairs and spans, positions, error formatting, Pratt and precedence climbing), Debian librust-pest-dev 2.5.2-1"),
    # Corpora of the fresh28 multi-hop set (issue 7)
    Corpus("bleach", "6.1.0", "python", "pypi", "bleach",
           keep=("bleach/__init__.py", "bleach/callbacks.py", "bleach/css_sanitizer.py", "bleach/html5lib_shim.py",
                 "bleach/linkifier.py", "bleach/parse_shim.py", "bleach/sanitizer.py"),
           upstream="bleach 6.1.0 (allow-list HTML sanitizer and linkifier over html5lib: token filtering, attribute and URI checks, entity handling, URL and email linkifying with callbacks), PyPI sdist without the vendored html5lib"),
    Corpus("jsonc-parser", "3.3.1", "javascript", "npm", "jsonc-parser", keep=("lib/esm/main.js", "lib/esm/impl", "package.json", "README.md"),
           upstream="jsonc-parser 3.3.1 (JSON with comments: scanner, visitor parser, node tree and paths, formatter and edits), npm package, ES module build lib/esm (main.js and impl/, no .d.ts)"),
    Corpus("go-humanize", "1.0.0", "go", "debian", "golang-github-dustin-go-humanize-dev=1.0.0-3",
           keep=("usr/share/gocode/src/github.com/dustin/go-humanize",),
           upstream="github.com/dustin/go-humanize 1.0.0 (human-friendly numbers, byte sizes, SI units, relative times, ordinals and commas for Go), Debian golang-github-dustin-go-humanize-dev 1.0.0-3"),
    # Corpora of the fresh29 multi-hop set (issue 7)
    Corpus("mistletoe", "1.4.0", "python", "pypi", "mistletoe", keep=("mistletoe",),
           upstream="mistletoe 1.4.0 (CommonMark Markdown parser: block and span tokens read from lines, link reference definitions, emphasis delimiters, HTML, LaTeX, Markdown and AST renderers), PyPI sdist"),
    Corpus("picomatch", "4.0.2", "javascript", "npm", "picomatch", keep=("lib", "index.js", "posix.js", "package.json", "README.md"),
           upstream="picomatch 4.0.2 (glob matcher: glob patterns scanned and parsed into regular expressions, braces, extglobs, POSIX classes, fast paths, matcher functions), npm package, CommonJS lib"),
    Corpus("base64", "0.13.0", "rust", "debian", "librust-base64-dev=0.13.0-1",
           keep=("usr/share/cargo/registry/base64-0.13.0",),
           upstream="base64 0.13.0 (Base64 encoding and decoding with configurable alphabets and padding: chunked fast paths, slices, buffers, Display, Read and Write wrappers), Debian librust-base64-dev 0.13.0-1"),
)}


def corpus_for(suite_path: str | Path) -> Corpus | None:
    """The corpus of a suite file: named like it (``rxjs.jsonl``) or ending its name (``multihop-rxjs.jsonl``)."""
    stem = Path(suite_path).stem
    if stem in CORPORA:
        return CORPORA[stem]
    matches = [c for name, c in CORPORA.items() if stem.endswith("-" + name)]
    return max(matches, key=lambda c: len(c.name)) if matches else None


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")


def _top(folder: Path) -> Path:
    entries = list(folder.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else folder


def _fetch_pypi(c: Corpus, work: Path) -> Path:
    from .fetch import fetch

    return fetch(f"{c.package}=={c.version}", src_dir=work / "src")


def _fetch_npm(c: Corpus, work: Path) -> Path:
    if not shutil.which("npm"):
        raise RuntimeError("npm is needed for the npm corpora (apt-get install npm)")
    _run(["npm", "pack", "--silent", f"{c.package}@{c.version}"], work)
    tgz = next(work.glob("*.tgz"))
    out = work / "unpacked"
    with tarfile.open(tgz) as tf:
        tf.extractall(out, filter="data")
    return _top(out)


def _fetch_debian(c: Corpus, work: Path) -> Path:
    try:
        _run(["apt-get", "download", c.package], work)
    except RuntimeError:  # the package lists may be missing or old: refresh once
        _run(["apt-get", "update"], work)
        _run(["apt-get", "download", c.package], work)
    deb = next(work.glob("*.deb"))
    out = work / "unpacked"
    _run(["dpkg", "-x", str(deb), str(out)], work)
    return out


FETCHERS = {"pypi": _fetch_pypi, "npm": _fetch_npm, "debian": _fetch_debian}


def fetch(name: str, *, base: Path = CORPORA_DIR, force: bool = False) -> Path:
    """The unpacked corpus ``name``, fetched when missing."""
    c = CORPORA[name]
    target = c.path(base)
    if target.is_dir() and not force:
        return target
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base, prefix=".fetch-") as tmp:
        work = Path(tmp)
        root = FETCHERS[c.registry](c, work)
        staged = work / "corpus"
        staged.mkdir()
        for rel in c.keep or [p.name for p in root.iterdir()]:
            src = root / rel
            if not src.exists():
                continue
            # a deep keep path (Debian's usr/share/...) becomes the corpus root itself
            dest = staged if len(c.keep) == 1 and "/" in rel else staged / Path(rel).name
            if src.is_dir():
                shutil.copytree(src, dest, symlinks=False, dirs_exist_ok=True)
            else:
                shutil.copy2(src, dest)
        if not any(staged.iterdir()):
            raise RuntimeError(f"{name}: none of {c.keep} found in the package")
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
    return target


def line_count(root: Path) -> dict[str, int]:
    """Lines per source language (by extension) under ``root``."""
    from indexer.languages import language_for

    counts: dict[str, int] = {}
    for p in sorted(root.rglob("*")):
        if not p.is_file() or ".sgmcp" in p.parts:
            continue
        lang = language_for(str(p.relative_to(root)))
        if lang is None:
            continue
        name = getattr(lang, "name", str(lang))
        with open(p, "rb") as f:
            counts[name] = counts.get(name, 0) + sum(1 for _ in f)
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="sgmcp eval corpora", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="fetch corpora (all by default)")
    f.add_argument("names", nargs="*")
    f.add_argument("--force", action="store_true", help="fetch again even if unpacked")
    sub.add_parser("list", help="the corpora, with their lines when fetched")
    p = sub.add_parser("path", help="print a corpus's directory (fetching it if needed)")
    p.add_argument("name")
    args = ap.parse_args(argv)
    if args.cmd == "fetch":
        for name in args.names or list(CORPORA):
            if name not in CORPORA:
                print(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}", file=sys.stderr)
                return 2
            print(fetch(name, force=args.force))
        return 0
    if args.cmd == "path":
        print(fetch(args.name))
        return 0
    for c in CORPORA.values():
        where = c.path()
        lines = line_count(where) if where.is_dir() else {}
        print(f"{c.name:12} {c.version:8} {c.language:11} {c.registry:7} {c.package:40} "
              f"{where if where.is_dir() else '(not fetched)'} {lines}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
