; TSX: the TypeScript query plus JSX component references.

(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function

(method_definition
  name: [(property_identifier) (private_property_identifier)] @name) @definition.method

; const f = () => ..., let g = function () {...}: the declarator is the definition (the
; declaration and an export around it are wrappers, for the doc comment).
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

; const f: Factory = function f(...) {...} as Factory
(variable_declarator
  name: (identifier) @name
  value: [(as_expression . [(arrow_function) (function_expression)])
          (satisfies_expression . [(arrow_function) (function_expression)])]) @definition.function

(variable_declarator
  name: (identifier) @name
  value: (class)) @definition.class

; exports.f = function () {...}, Foo.prototype.bar = () => ...
(assignment_expression
  left: (member_expression property: (property_identifier) @name)
  right: [(arrow_function) (function_expression) (generator_function)]
  (#not-eq? @name "exports")) @definition.function

; { handler: () => ... }
(pair
  key: (property_identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

(function_signature name: (identifier) @name) @definition.function
(method_signature
  name: [(property_identifier) (private_property_identifier)] @name) @definition.method
(abstract_method_signature
  name: [(property_identifier) (private_property_identifier)] @name) @definition.method

(class_declaration name: (type_identifier) @name) @definition.class
(abstract_class_declaration name: (type_identifier) @name) @definition.class
(interface_declaration name: (type_identifier) @name) @definition.interface
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.enum
(internal_module name: [(identifier) (nested_identifier)] @name) @definition.namespace
(module name: [(identifier) (nested_identifier)] @name) @definition.module
(module name: (string (string_fragment) @name)) @definition.module

; Class fields holding functions: handler = () => {...}
(public_field_definition
  name: [(property_identifier) (private_property_identifier)] @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function

; Superclasses and implemented interfaces.
(extends_clause
  value: [
    (identifier) @name
    (member_expression property: (property_identifier) @name)
  ]) @reference.implementation
(implements_clause [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)
  (generic_type name: [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)])]) @reference.implementation
(extends_type_clause type: [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)
  (generic_type name: [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)])]) @reference.implementation

; Type references in annotations, type arguments, unions, arrays, casts and aliases.
(type_annotation [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)
  (generic_type name: [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)])]) @reference.type
(type_arguments [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)
  (generic_type name: [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)])]) @reference.type
(union_type [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)
  (generic_type name: [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)])]) @reference.type
(intersection_type [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)
  (generic_type name: [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)])]) @reference.type
(array_type [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)
  (generic_type name: [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)])]) @reference.type
(as_expression [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)
  (generic_type name: [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)])]) @reference.type
(satisfies_expression [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)
  (generic_type name: [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)])]) @reference.type
(type_predicate type: [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)
  (generic_type name: [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)])]) @reference.type
(type_alias_declaration value: [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)
  (generic_type name: [(type_identifier) @name (nested_type_identifier name: (type_identifier) @name)])]) @reference.type

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
