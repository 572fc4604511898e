"""Each language's tags query, end to end through ``parse_source``: definitions (name, kind,
container, lines), a call with its enclosing definition, imports, a doc comment and a few
implementation/type/class references, on one small snippet per language."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from indexer.languages import grammar, language_for, specs
from indexer.model import imported_as
from indexer.parser import parse_source


@dataclass(frozen=True)
class Case:
    path: str
    source: str
    defs: list[tuple[str, str, str, int, int]]  # name, kind, container, start_line, end_line
    call: tuple[str, str]  # called name, suffix of the enclosing definition's id
    imports: list[str]
    doc: tuple[str, str]  # qualname, doc
    params: tuple[str, str, str]  # qualname, parameters, return type
    refs: list[tuple[str, str]] = field(default_factory=list)  # (kind, name) that must be present


CASES = {
    "python": Case(
        path='pkg/shapes.py',
        source='''\
import os
from typing import List as L, Optional


class Shape:
    """A shape."""

    def area(self) -> float:
        """Return the area."""
        return compute(self.w, os.sep)


@register
def make(kind: str) -> Shape:
    return Shape()
''',
        defs=[
            ('Shape', 'class', '', 5, 10),
            ('area', 'method', 'Shape', 8, 10),
            ('make', 'function', '', 13, 15),
        ],
        call=('compute', "#Shape.area@8"),
        imports=['os', 'typing'],
        doc=('Shape.area', 'Return the area.'),
        params=('make', '(kind: str)', 'Shape'),
        refs=[('type', 'Shape')],
    ),
    "rust": Case(
        path='src/shapes.rs',
        source='''\
use std::collections::HashMap;

/// A point in space.
#[derive(Debug)]
pub struct Point {
    x: i32,
}

impl Point {
    /// Builds a point.
    pub fn new(x: i32) -> Self {
        let p = Point { x };
        helper(&p);
        p
    }
}

mod util {
    pub fn helper() {}
}
''',
        defs=[
            ('Point', 'struct', '', 5, 7),
            ('Point', 'impl', '', 9, 16),
            ('new', 'method', 'Point', 11, 15),
            ('util', 'module', '', 18, 20),
            ('helper', 'function', 'util', 19, 19),
        ],
        call=('helper', "#Point.new@11"),
        imports=['std::collections::HashMap'],
        doc=('Point.new', 'Builds a point.'),
        params=('Point.new', '(x: i32)', 'Self'),
        refs=[('class', 'Point')],
    ),
    "typescript": Case(
        path='src/shapes.ts',
        source='''\
import { Base, Point as P } from "./base";
import * as fs from "fs";

/** A circle. */
export class Circle extends Base implements Shape {
  constructor(private r: number) { super(); }

  area(): number {
    return Math.PI * square(this.r);
  }
}

export interface Shape { area(): number; }
export type Id = string;
export enum Kind { Round, Square }

/** Squares a number. */
export const square = (x: number): number => x * x;

function make(r: number): Circle {
  return new Circle(r);
}
''',
        defs=[
            ('Circle', 'class', '', 5, 11),
            ('constructor', 'method', 'Circle', 6, 6),
            ('area', 'method', 'Circle', 8, 10),
            ('Shape', 'interface', '', 13, 13),
            ('area', 'method', 'Shape', 13, 13),
            ('Id', 'type', '', 14, 14),
            ('Kind', 'enum', '', 15, 15),
            ('square', 'function', '', 18, 18),
            ('make', 'function', '', 20, 22),
        ],
        call=('square', "#Circle.area@8"),
        imports=['./base', 'fs'],
        doc=('square', 'Squares a number.'),
        params=('make', '(r: number)', 'Circle'),
        refs=[('implementation', 'Base'), ('implementation', 'Shape'), ('call', 'Circle')],
    ),
    "tsx": Case(
        path='src/App.tsx',
        source='''\
import React from "react";
import { Button } from "./Button";

interface Props { title: string }

/** The app. */
export function App({ title }: Props) {
  const onClick = () => track("click");
  return <Button label={title} onClick={onClick} />;
}

export const Footer = () => <footer>{format(new Date())}</footer>;
''',
        defs=[
            ('Props', 'interface', '', 4, 4),
            ('App', 'function', '', 7, 10),
            ('onClick', 'function', 'App', 8, 8),
            ('Footer', 'function', '', 12, 12),
        ],
        call=('track', "#App.onClick@8"),
        imports=['react', './Button'],
        doc=('App', 'The app.'),
        params=('App', '({ title }: Props)', ''),
        refs=[('call', 'Button'), ('type', 'Props')],
    ),
    "javascript": Case(
        path='lib/store.js',
        source='''\
const fs = require("fs");
import { join } from "path";

// Holds items.
class Store extends Base {
  constructor(dir) {
    super();
    this.dir = dir;
  }

  save(item) {
    fs.writeFileSync(join(this.dir, item.id), serialize(item));
  }
}

/** Creates a store. */
const createStore = (dir) => new Store(dir);

module.exports.load = function (dir) { return createStore(dir); };
''',
        defs=[
            ('Store', 'class', '', 5, 14),
            ('constructor', 'method', 'Store', 6, 9),
            ('save', 'method', 'Store', 11, 13),
            ('createStore', 'function', '', 17, 17),
            ('load', 'function', '', 19, 19),
        ],
        call=('serialize', "#Store.save@11"),
        imports=['fs', 'path'],
        doc=('createStore', 'Creates a store.'),
        params=('Store.save', '(item)', ''),
        refs=[('implementation', 'Base'), ('call', 'Store')],
    ),
    "go": Case(
        path='server/server.go',
        source='''\
package server

import (
	"fmt"
	str "strings"
)

// Server serves requests.
type Server struct {
	name string
}

type Handler interface {
	Handle(req string) error
}

// Handle handles one request.
func (s *Server) Handle(req string) error {
	fmt.Println(str.ToUpper(req))
	return nil
}

func New(name string) *Server {
	return &Server{name: name}
}
''',
        defs=[
            ('Server', 'struct', '', 9, 11),
            ('Handler', 'interface', '', 13, 15),
            ('Handle', 'method', 'Handler', 14, 14),
            ('Handle', 'method', 'Server', 18, 21),
            ('New', 'function', '', 23, 25),
        ],
        call=('ToUpper', "#Server.Handle@18"),
        imports=['fmt', 'strings'],
        doc=('Server.Handle', 'Handle handles one request.'),
        params=('Server.Handle', '(req string)', 'error'),
        refs=[('class', 'Server'), ('type', 'Server')],
    ),
    "java": Case(
        path='src/com/example/Store.java',
        source='''\
package com.example;

import java.util.List;
import java.util.ArrayList;

/** Stores items. */
public class Store extends Base implements Repo {
    private static final int MAX = 10;

    // Adds one item.
    public List<String> add(String item) {
        List<String> items = new ArrayList<>();
        items.add(normalize(item));
        return items;
    }

    interface Listener { void changed(); }
}
''',
        defs=[
            ('Store', 'class', '', 7, 18),
            ('MAX', 'constant', 'Store', 8, 8),
            ('add', 'method', 'Store', 11, 15),
            ('Listener', 'interface', 'Store', 17, 17),
            ('changed', 'method', 'Listener', 17, 17),
        ],
        call=('normalize', "#Store.add@11"),
        imports=['java.util.List', 'java.util.ArrayList'],
        doc=('Store.add', 'Adds one item.'),
        params=('Store.add', '(String item)', 'List<String>'),
        refs=[('implementation', 'Base'), ('implementation', 'Repo'), ('call', 'ArrayList')],
    ),
    "c": Case(
        path='src/util.c',
        source='''\
#include <stdio.h>
#include "util.h"

#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* A 2D point. */
typedef struct Point {
    int x, y;
} Point;

enum Color { RED, GREEN };

// Adds the coordinates.
static int add(const Point *p) {
    printf("%d", p->x);
    return MAX(p->x, p->y) + helper(p->y);
}
''',
        defs=[
            ('MAX', 'macro', '', 4, 4),
            ('Point', 'struct', '', 7, 9),
            ('Color', 'enum', '', 11, 11),
            ('add', 'function', '', 14, 17),
        ],
        call=('helper', "#add@14"),
        imports=['stdio.h', 'util.h'],
        doc=('add', 'Adds the coordinates.'),
        params=('add', '(const Point *p)', 'int'),
        refs=[('type', 'Point'), ('call', 'MAX')],
    ),
    "cpp": Case(
        path='src/widget.cpp',
        source='''\
#include <vector>
#include "widget.hpp"

namespace ui {

/// A widget.
class Widget : public Base {
public:
    void draw() const;
    int size() const { return items_.size(); }
private:
    std::vector<int> items_;
};

void Widget::draw() const {
    render(this);
    auto w = new Widget();
}

template <typename T>
T max_of(T a, T b) { return a > b ? a : b; }

}  // namespace ui
''',
        defs=[
            ('ui', 'namespace', '', 4, 23),
            ('Widget', 'class', 'ui', 7, 13),
            ('draw', 'method', 'Widget', 9, 9),
            ('size', 'method', 'Widget', 10, 10),
            ('draw', 'method', 'Widget', 15, 18),
            ('max_of', 'function', 'ui', 20, 21),
        ],
        call=('render', "#ui.draw@15"),
        imports=['vector', 'widget.hpp'],
        doc=('ui.Widget', 'A widget.'),
        params=('ui.max_of', '(T a, T b)', 'T'),
        refs=[('implementation', 'Base'), ('call', 'Widget')],
    ),
    "csharp": Case(
        path='src/Store.cs',
        source='''\
using System;
using System.Collections.Generic;

namespace App.Core
{
    /// <summary>Stores items.</summary>
    public class Store : IStore
    {
        public const int Max = 10;

        public Store() { }

        /// <summary>Adds an item.</summary>
        public List<string> Add(string item)
        {
            var items = new List<string>();
            items.Add(Normalize(item));
            return items;
        }
    }

    public interface IStore { List<string> Add(string item); }
}
''',
        defs=[
            ('App.Core', 'namespace', '', 4, 23),
            ('Store', 'class', 'App.Core', 7, 20),
            ('Max', 'constant', 'Store', 9, 9),
            ('Store', 'method', 'Store', 11, 11),
            ('Add', 'method', 'Store', 14, 19),
            ('IStore', 'interface', 'App.Core', 22, 22),
            ('Add', 'method', 'IStore', 22, 22),
        ],
        call=('Normalize', "#App.Core.Store.Add@14"),
        imports=['System', 'System.Collections.Generic'],
        doc=('App.Core.Store.Add', '<summary>Adds an item.</summary>'),
        params=('App.Core.Store.Add', '(string item)', 'List<string>'),
        refs=[('implementation', 'IStore'), ('call', 'List')],
    ),
    "swift": Case(
        path='Sources/Shapes.swift',
        source='''\
import Foundation

/// Something with an area.
protocol Shape {
    func area() -> Double
}

// A circle.
class Circle: Shape {
    let r: Double
    init(r: Double) { self.r = r }
    func area() -> Double { return square(r) * Double.pi }
}

extension Circle {
    func scaled(by f: Double) -> Circle { return Circle(r: r * f) }
}

struct Point { var x: Int }
''',
        defs=[
            ('Shape', 'protocol', '', 4, 6),
            ('area', 'method', 'Shape', 5, 5),
            ('Circle', 'class', '', 9, 13),
            ('init', 'method', 'Circle', 11, 11),
            ('area', 'method', 'Circle', 12, 12),
            ('Circle', 'extension', '', 15, 17),
            ('scaled', 'method', 'Circle', 16, 16),
            ('Point', 'struct', '', 19, 19),
        ],
        call=('square', "#Circle.area@12"),
        imports=['Foundation'],
        doc=('Shape', 'Something with an area.'),
        params=('Circle.scaled', '(by f: Double)', 'Circle'),
        refs=[('implementation', 'Shape'), ('call', 'Circle')],
    ),
    "kotlin": Case(
        path='src/Repo.kt',
        source='''\
package com.example

import kotlin.math.max
import com.example.db.Database as Db

/** Stores items. */
class Repo(private val db: Db) : Base(), Store {
    // Finds one item.
    fun find(id: Int): Item? {
        return db.query(max(id, 0))
    }
}

interface Store {
    fun find(id: Int): Item?
}

object Registry

fun String.shout(): String = uppercase()
''',
        defs=[
            ('Repo', 'class', '', 7, 12),
            ('find', 'method', 'Repo', 9, 11),
            ('Store', 'interface', '', 14, 16),
            ('find', 'method', 'Store', 15, 15),
            ('Registry', 'object', '', 18, 18),
            ('shout', 'method', 'String', 20, 20),
        ],
        call=('query', "#Repo.find@9"),
        imports=['kotlin.math.max', 'com.example.db.Database'],
        doc=('Repo', 'Stores items.'),
        params=('Repo.find', '(id: Int)', ''),
        refs=[('implementation', 'Base'), ('implementation', 'Store'), ('type', 'Item')],
    ),
    "ruby": Case(
        path='lib/billing.rb',
        source='''\
require "json"
require_relative "billing/helpers"

# Billing code.
module Billing
  # An invoice.
  class Invoice < Base
    include Comparable
    RATE = 3

    # The total.
    def total(items)
      items.sum { |i| price(i) }
    end

    def self.build(data)
      new(JSON.parse(data))
    end
  end
end

def main
  Billing::Invoice.build("{}")
end
''',
        defs=[
            ('Billing', 'module', '', 5, 20),
            ('Invoice', 'class', 'Billing', 7, 19),
            ('RATE', 'constant', 'Invoice', 9, 9),
            ('total', 'method', 'Invoice', 12, 14),
            ('build', 'method', 'Invoice', 16, 18),
            ('main', 'function', '', 22, 24),
        ],
        call=('price', "#Billing.Invoice.total@12"),
        imports=['json', 'billing/helpers'],
        doc=('Billing.Invoice.total', 'The total.'),
        params=('Billing.Invoice.total', '(items)', ''),
        refs=[('implementation', 'Base'), ('implementation', 'Comparable'), ('class', 'JSON')],
    ),
    "php": Case(
        path='src/User.php',
        source=r'''<?php
namespace App\Models;

use App\Contracts\Repo;
require_once 'helpers.php';

/**
 * A user.
 */
class User extends Model implements Repo
{
    const TABLE = 'users';

    /** Finds a user. */
    public function find(int $id): ?User
    {
        return $this->db->first(normalize($id));
    }
}

function make_user(): User { return new User(); }
''',
        defs=[
            ('App\\Models', 'namespace', '', 2, 2),
            ('User', 'class', '', 10, 19),
            ('TABLE', 'constant', 'User', 12, 12),
            ('find', 'method', 'User', 15, 18),
            ('make_user', 'function', '', 21, 21),
        ],
        call=('normalize', "#User.find@15"),
        imports=['App\\Contracts\\Repo', 'helpers.php'],
        doc=('User.find', 'Finds a user.'),
        params=('User.find', '(int $id)', '?User'),
        refs=[('implementation', 'Model'), ('implementation', 'Repo'), ('call', 'User')],
    ),
    "objc": Case(
        path='src/Widget.m',
        source='''\
#import <Foundation/Foundation.h>
#import "Widget.h"

// A widget.
@interface Widget : NSObject
- (void)draw;
@end

@implementation Widget
/// Draws it.
- (void)draw {
    [self setup];
    NSLog(@"draw");
}
@end

static int helper(int x) { return x + 1; }
''',
        defs=[
            ('Widget', 'class', '', 5, 7),
            ('draw', 'method', 'Widget', 6, 6),
            ('Widget', 'impl', '', 9, 15),
            ('draw', 'method', 'Widget', 11, 14),
            ('helper', 'function', '', 17, 17),
        ],
        call=('setup', "#Widget.draw@11"),
        imports=['Foundation/Foundation.h', 'Widget.h'],
        doc=('Widget.draw', 'Draws it.'),
        params=('helper', '(int x)', 'int'),
        refs=[('implementation', 'NSObject'), ('call', 'NSLog')],
    ),
}


def _parse(case: Case):
    spec = language_for(case.path)
    assert spec is not None
    return parse_source(case.path, case.source.encode(), spec)


def test_every_language_has_a_case_and_a_compiling_query():
    assert set(CASES) == set(specs())
    for spec in specs().values():
        grammar(spec)  # raises if the query names a node type or field the grammar lacks


@pytest.mark.parametrize("lang", sorted(CASES))
def test_language(lang: str):
    case = CASES[lang]
    assert language_for(case.path).name == lang
    parsed = _parse(case)
    assert not parsed.syntax_errors

    got = [(d.name, d.kind, d.container, d.start_line, d.end_line) for d in parsed.definitions]
    assert got == case.defs

    name, suffix = case.call
    assert any(r.kind == "call" and r.name == name and r.enclosing_id.endswith(suffix)
               for r in parsed.references), [(r.name, r.enclosing_id) for r in parsed.references]

    assert [i.module for i in parsed.imports] == case.imports

    qualname, doc = case.doc
    by_qualname = {d.qualname: d for d in parsed.definitions}
    assert by_qualname[qualname].doc == doc

    qualname, parameters, return_type = case.params
    assert (by_qualname[qualname].parameters, by_qualname[qualname].return_type) == (parameters, return_type)

    present = {(r.kind, r.name) for r in parsed.references}
    for ref in case.refs:
        assert ref in present, ref

    for d in parsed.definitions:
        assert d.id == f"{case.path}#{d.qualname}@{d.start_line}"
        if d.kind in ("function", "method"):
            assert d.signature, d


def test_statements_after_an_unrecoverable_syntax_error_are_still_found():
    # tree-sitter-typescript loses the rest of this file after the interface's multi-line return type
    source = b"""import { run } from "./run"

export interface Factory extends Base {
    <T extends Function | undefined>(fn: T): T
    <T extends Function | undefined>(name: string, fn: T): T

    (name: string): Decorator &
        Base &
        Other

    bound: Decorator & Base
}

/** Creates the factory. */
function createFactory(auto: boolean): Factory {
    return run(auto) as Factory
}

export function runNow<T>(fn: () => T): T {
    return run(fn)
}
"""
    parsed = parse_source("src/action.ts", source, specs()["typescript"])
    assert parsed.syntax_errors
    by_name = {d.qualname: d for d in parsed.definitions}
    assert set(by_name) == {"Factory", "createFactory", "runNow"}  # not the `return` of a broken parse
    assert (by_name["runNow"].start_line, by_name["runNow"].end_line) == (19, 21)
    assert by_name["createFactory"].doc == "Creates the factory."
    assert any(r.name == "run" and r.enclosing_id == by_name["runNow"].id for r in parsed.references)
    assert [i.module for i in parsed.imports] == ["./run"]


@pytest.mark.parametrize("lang", ["typescript", "tsx"])
def test_a_function_expression_under_a_type_assertion_is_a_definition(lang: str):
    source = b"""export const computed: Factory = function computed(a: number) {
    return track(a)
} as any

const check = function () {
    return 1
} satisfies Checker
"""
    parsed = parse_source(f"src/api.{'ts' if lang == 'typescript' else 'tsx'}", source, specs()[lang])
    assert [(d.qualname, d.kind, d.start_line, d.end_line) for d in parsed.definitions] == [
        ("computed", "function", 1, 3), ("check", "function", 5, 7)]
    assert any(r.name == "track" and r.enclosing_id == parsed.definitions[0].id for r in parsed.references)


@pytest.mark.parametrize(("path", "source"), [
    ("pkg/req.py", b"from ._parser import parse_requirement as _parse_requirement, Marker\n"),
    ("src/req.js", b"import { parse_requirement as _parse_requirement, Marker } from './_parser'\n"),
    ("src/req.ts", b"import { parse_requirement as _parse_requirement, Marker } from './_parser'\n"),
    ("src/req.tsx", b"import { parse_requirement as _parse_requirement, Marker } from './_parser'\n"),
])
def test_an_aliased_import_keeps_the_name_and_the_alias(path: str, source: bytes):
    parsed = parse_source(path, source, language_for(path))
    assert sorted(parsed.imports[0].names) == ["Marker", "parse_requirement as _parse_requirement"]
    assert [imported_as(n) for n in sorted(parsed.imports[0].names)] == [
        ("Marker", "Marker"), ("parse_requirement", "_parse_requirement")]


def test_an_alias_written_over_several_lines_is_read():
    source = b"from ._parser import (\n    parse_requirement\n    as\n    _parse_requirement,\n    b  as  c,\n)\n"
    parsed = parse_source("pkg/req.py", source, language_for("pkg/req.py"))
    assert [imported_as(n) for n in parsed.imports[0].names] == [("parse_requirement", "_parse_requirement"),
                                                                 ("b", "c")]


def test_a_go_method_taken_as_a_value_is_a_call():
    source = b"""package toml

func (l *lexer) lexKey() stateFn {
	return l.lexRvalue
}

func (l *lexer) lexRvalue() stateFn {
	unquote := strconv.Unquote
	unquote(l.text)
	return nil
}
"""
    parsed = parse_source("lexer.go", source, language_for("lexer.go"))
    calls = {(r.name, r.receiver, r.enclosing_id.rsplit("#", 1)[1]) for r in parsed.references if r.kind == "call"}
    # a lexer's state functions run through the value their predecessor returns; an assigned function is called
    assert ("lexRvalue", "l", "lexer.lexKey@3") in calls
    assert ("Unquote", "strconv", "lexer.lexRvalue@7") in calls


def test_a_javascript_prototype_method_belongs_to_its_constructor():
    source = b"""function Writer () { this.cache = {}; }
Writer.prototype.parse = function parse (template) { return this.clear(template); };
Writer.prototype.clear = (t) => t;
mustache.parse = function parse (template) { return defaultWriter.parse(template); };
"""
    parsed = parse_source("mustache.js", source, language_for("mustache.js"))
    assert [(d.qualname, d.kind, d.container) for d in parsed.definitions] == [
        ("Writer", "function", ""), ("Writer.parse", "method", "Writer"), ("Writer.clear", "method", "Writer"),
        ("parse", "function", "")]  # the module's own `parse` is not Writer's
