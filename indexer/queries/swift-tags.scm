; Swift: classes, structs, enums, actors, extensions, protocols, functions/methods, initializers,
; subscripts, type aliases, closures bound to names, calls, constructor calls, inheritance and
; conformance, type references and imports.

(class_declaration declaration_kind: "class" name: (type_identifier) @name) @definition.class
(class_declaration declaration_kind: "actor" name: (type_identifier) @name) @definition.class
(class_declaration declaration_kind: "struct" name: (type_identifier) @name) @definition.struct
(class_declaration declaration_kind: "enum" name: (type_identifier) @name) @definition.enum
(class_declaration declaration_kind: "extension" name: (user_type (type_identifier) @name .)) @definition.extension
(protocol_declaration name: (type_identifier) @name) @definition.protocol
(typealias_declaration name: (type_identifier) @name) @definition.type

(function_declaration name: (simple_identifier) @name) @definition.function
(protocol_function_declaration name: (simple_identifier) @name) @definition.method
(init_declaration name: "init" @name) @definition.method
(deinit_declaration "deinit" @name) @definition.method
(subscript_declaration "subscript" @name) @definition.method

; let f = { (x: Int) -> Int in ... }
(property_declaration
  name: (pattern bound_identifier: (simple_identifier) @name)
  value: (lambda_literal)) @definition.function

; Calls: f(), Type(...), obj.m(), a.b.c()
(call_expression . [
  (simple_identifier) @name
  (navigation_expression suffix: (navigation_suffix suffix: (simple_identifier) @name))
]) @reference.call

(constructor_expression constructed_type: (user_type (type_identifier) @name)) @reference.call

; Superclass and protocol conformance
(inheritance_specifier inherits_from: (user_type (type_identifier) @name)) @reference.implementation

; Type references
(type_annotation (user_type (type_identifier) @name)) @reference.type
(parameter (user_type (type_identifier) @name)) @reference.type
(function_declaration (user_type (type_identifier) @name)) @reference.type
(protocol_function_declaration (user_type (type_identifier) @name)) @reference.type
(array_type (user_type (type_identifier) @name)) @reference.type
(dictionary_type (user_type (type_identifier) @name)) @reference.type
(optional_type wrapped: (user_type (type_identifier) @name)) @reference.type
(tuple_type_item (user_type (type_identifier) @name)) @reference.type
(function_type (user_type (type_identifier) @name)) @reference.type
(as_expression (user_type (type_identifier) @name)) @reference.type
(type_arguments (user_type (type_identifier) @name)) @reference.type
(typealias_declaration (user_type (type_identifier) @name)) @reference.type
(inheritance_constraint (user_type (type_identifier) @name)) @reference.type
(lambda_parameter (user_type (type_identifier) @name)) @reference.type
(lambda_function_type (user_type (type_identifier) @name)) @reference.type

; import Foundation; import struct UIKit.CGPoint
(import_declaration (identifier) @import.module) @import
