; JavaScript (and JSX): functions, arrow functions bound to names, classes, methods, calls,
; constructor calls, superclasses and imports (ES modules, require, dynamic import).

(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function

(method_definition
  name: [(property_identifier) (private_property_identifier)] @name) @definition.method

; const f = () => ..., let g = function () {...}: the declarator is the definition (the
; declaration and an export around it are wrappers, for the doc comment).
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

(variable_declarator
  name: (identifier) @name
  value: (class)) @definition.class

; Foo.prototype.bar = function () {...}: a method of Foo (before the pattern below: the first match of a node
; names it)
(assignment_expression
  left: (member_expression
    object: (member_expression
      object: (identifier) @container
      property: (property_identifier) @_prototype)
    property: (property_identifier) @name)
  right: [(arrow_function) (function_expression) (generator_function)]
  (#eq? @_prototype "prototype")) @definition.method

; exports.f = function () {...}, obj.bar = () => ...
(assignment_expression
  left: (member_expression property: (property_identifier) @name)
  right: [(arrow_function) (function_expression) (generator_function)]
  (#not-eq? @name "exports")) @definition.function

; { handler: () => ... }
(pair
  key: (property_identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

(class_declaration name: (identifier) @name) @definition.class

; Class fields holding functions: handler = () => {...}
(field_definition
  property: [(property_identifier) (private_property_identifier)] @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

(class_heritage [
  (identifier) @name
  (member_expression property: (property_identifier) @name)
]) @reference.implementation

(call_expression
  function: [
    (identifier) @name
    (member_expression property: [(property_identifier) (private_property_identifier)] @name)
  ]) @reference.call

(new_expression
  constructor: [
    (identifier) @name
    (member_expression property: (property_identifier) @name)
  ]) @reference.call

; Imports: ES modules, re-exports, require() and dynamic import().

(import_statement
  source: (string (string_fragment) @import.module)) @import

(import_statement
  (import_clause (identifier) @import.name)
  source: (string (string_fragment) @import.module)) @import

(import_statement
  (import_clause (namespace_import (identifier) @import.name))
  source: (string (string_fragment) @import.module)) @import

(import_statement
  (import_clause (named_imports (import_specifier name: (_) @import.name !alias)))
  source: (string (string_fragment) @import.module)) @import

(import_statement
  (import_clause (named_imports (import_specifier alias: (identifier)) @import.name))  ; "a as b"
  source: (string (string_fragment) @import.module)) @import

(export_statement
  source: (string (string_fragment) @import.module)) @import

((call_expression
  function: (identifier) @_require
  arguments: (arguments . (string (string_fragment) @import.module))) @import
  (#eq? @_require "require"))

(variable_declarator
  name: (identifier) @import.name
  value: (call_expression
    function: (identifier) @_require
    arguments: (arguments . (string (string_fragment) @import.module))) @import
  (#eq? @_require "require"))

(call_expression
  function: (import)
  arguments: (arguments . (string (string_fragment) @import.module))) @import

; JSX components (capitalised element names) count as calls.
([(jsx_opening_element name: (identifier) @name)
  (jsx_self_closing_element name: (identifier) @name)] @reference.call
  (#match? @name "^[A-Z]"))

[(jsx_opening_element name: (member_expression property: (property_identifier) @name))
 (jsx_self_closing_element name: (member_expression property: (property_identifier) @name))] @reference.call
