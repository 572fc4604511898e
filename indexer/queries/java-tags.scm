; Java: classes, interfaces, enums, records, annotation types, methods, constructors, constants,
; method calls, constructor calls, superclass/interface and type references, and imports.

(class_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum
(record_declaration name: (identifier) @name) @definition.class
(annotation_type_declaration name: (identifier) @name) @definition.interface

(method_declaration name: (identifier) @name) @definition.method
(constructor_declaration name: (identifier) @name) @definition.method
(compact_constructor_declaration name: (identifier) @name) @definition.method
(annotation_type_element_declaration name: (identifier) @name) @definition.method

; static final fields
(field_declaration
  (modifiers "static" "final")
  declarator: (variable_declarator name: (identifier) @name)) @definition.constant

(method_invocation name: (identifier) @name) @reference.call

(object_creation_expression type: [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)
  (generic_type [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)])]) @reference.call

(superclass [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)
  (generic_type [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)])]) @reference.implementation
(super_interfaces (type_list [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)
  (generic_type [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)])])) @reference.implementation
(extends_interfaces (type_list [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)
  (generic_type [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)])])) @reference.implementation

; Type references in signatures, fields, locals, casts, generics and throws clauses.
(formal_parameter type: [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)
  (generic_type [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)])]) @reference.type
(spread_parameter [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)
  (generic_type [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)])]) @reference.type
(field_declaration type: [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)
  (generic_type [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)])]) @reference.type
(local_variable_declaration type: [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)
  (generic_type [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)])]) @reference.type
(method_declaration type: [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)
  (generic_type [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)])]) @reference.type
(cast_expression type: [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)
  (generic_type [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)])]) @reference.type
(array_type element: [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)
  (generic_type [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)])]) @reference.type
(type_arguments [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)
  (generic_type [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)])]) @reference.type
(throws [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)
  (generic_type [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)])]) @reference.type
(catch_type [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)
  (generic_type [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)])]) @reference.type
(instanceof_expression right: [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)
  (generic_type [(type_identifier) @name (scoped_type_identifier (type_identifier) @name .)])]) @reference.type

; import a.b.C; import static a.b.C.m; import a.b.*;
(import_declaration [(scoped_identifier) (identifier)] @import.module) @import
