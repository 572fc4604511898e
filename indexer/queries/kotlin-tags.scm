; Kotlin: classes, interfaces, enum classes, objects, functions (extension functions get their
; receiver type as container), secondary constructors, type aliases, `const val`s, lambdas bound to
; names, calls (constructor calls look like calls), supertypes, type references and imports.
;
; The parser keeps the first match for a node, so the specific patterns (enum class, extension
; function) come before the general ones they overlap with.

(class_declaration "enum" (type_identifier) @name) @definition.enum
(class_declaration "class" (type_identifier) @name) @definition.class
(class_declaration "interface" (type_identifier) @name) @definition.interface
(object_declaration (type_identifier) @name) @definition.object
(companion_object (type_identifier) @name) @definition.object
(type_alias (type_identifier) @name) @definition.type

(function_declaration
  (receiver_type [
    (user_type (type_identifier) @container)
    (nullable_type (user_type (type_identifier) @container))
  ])
  (simple_identifier) @name) @definition.function
(function_declaration (simple_identifier) @name) @definition.function
(secondary_constructor "constructor" @name) @definition.method

((property_declaration
  (modifiers (property_modifier) @_const)
  (variable_declaration (simple_identifier) @name)) @definition.constant
  (#eq? @_const "const"))

(property_declaration
  (variable_declaration (simple_identifier) @name)
  (lambda_literal)) @definition.function

; Calls: f(), Type(...), obj.m(), a.b.c()
(call_expression . [
  (simple_identifier) @name
  (navigation_expression (navigation_suffix (simple_identifier) @name) .)
]) @reference.call

; Supertypes: class A : Base(), Iface
(delegation_specifier [
  (user_type (type_identifier) @name)
  (constructor_invocation (user_type (type_identifier) @name))
  (explicit_delegation (user_type (type_identifier) @name))
]) @reference.implementation

; Type references
(parameter (user_type (type_identifier) @name)) @reference.type
(class_parameter (user_type (type_identifier) @name)) @reference.type
(function_declaration (user_type (type_identifier) @name)) @reference.type
(nullable_type (user_type (type_identifier) @name)) @reference.type
(type_projection (user_type (type_identifier) @name)) @reference.type
(variable_declaration (user_type (type_identifier) @name)) @reference.type
(type_alias (user_type (type_identifier) @name)) @reference.type
(as_expression (user_type (type_identifier) @name)) @reference.type
(check_expression (user_type (type_identifier) @name)) @reference.type
(type_constraint (user_type (type_identifier) @name)) @reference.type
(receiver_type (user_type (type_identifier) @name)) @reference.type
(function_type (user_type (type_identifier) @name)) @reference.type
(parenthesized_type (user_type (type_identifier) @name)) @reference.type

; import a.b.C; import a.b.*; import a.b.C as D
(import_header (identifier) @import.module) @import
(import_header (identifier) @import.module (import_alias (type_identifier) @import.name)) @import
