; Ruby: modules, classes, methods (top-level `def`s are functions), singleton methods, constants,
; calls, receivers of class-method calls (`Foo.new`), superclasses and mixins, and
; require/require_relative/load. Calls without parentheses or arguments (`foo`) read as plain
; identifiers and are not captured.
;
; The parser keeps the first match for a node, so the top-level `def` pattern comes first.

(module name: [(constant) (scope_resolution)] @name) @definition.module
(class name: [(constant) (scope_resolution)] @name) @definition.class

(program (method name: (_) @name) @definition.function)
(method name: (_) @name) @definition.method
(singleton_method name: (_) @name) @definition.method

(assignment left: (constant) @name) @definition.constant

(call method: (identifier) @name) @reference.call

; Foo.new, Foo::Bar.build
(call receiver: [(constant) @name (scope_resolution name: (constant) @name)]) @reference.class

(superclass [(constant) @name (scope_resolution name: (constant) @name)]) @reference.implementation

((call
  method: (identifier) @_mixin
  arguments: (argument_list [(constant) @name (scope_resolution name: (constant) @name)])) @reference.implementation
  (#any-of? @_mixin "include" "extend" "prepend"))

((call
  method: (identifier) @_require
  arguments: (argument_list . (string (string_content) @import.module))) @import
  (#any-of? @_require "require" "require_relative" "load"))
