; Go: functions, methods (receiver type as container), struct/interface/other type declarations,
; constants, calls, composite literals, type references, embedding and import specs.
;
; A declaration with a single spec (`type Server struct {...}`) is captured as the whole
; declaration so the comment above it is its doc; specs in a parenthesised group are captured
; one by one (their comments sit inside the group).

(function_declaration name: (identifier) @name) @definition.function

(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (type_identifier) @container
        (pointer_type (type_identifier) @container)
        (generic_type type: (type_identifier) @container)
        (pointer_type (generic_type type: (type_identifier) @container))
      ]))
  name: (field_identifier) @name) @definition.method

(method_elem name: (field_identifier) @name) @definition.method

; type X struct / interface / other, single spec
(type_declaration "type" . (type_spec name: (type_identifier) @name type: (struct_type)) .) @definition.struct
(type_declaration "type" . (type_spec name: (type_identifier) @name type: (interface_type)) .) @definition.interface
(type_declaration "type" .
  (type_spec name: (type_identifier) @name
    type: [(type_identifier) (qualified_type) (generic_type) (pointer_type) (slice_type) (array_type)
           (map_type) (channel_type) (function_type)]) .) @definition.type
(type_declaration "type" . (type_alias name: (type_identifier) @name) .) @definition.type

; grouped: type ( ... )
(type_declaration "(" (type_spec name: (type_identifier) @name type: (struct_type)) @definition.struct)
(type_declaration "(" (type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface)
(type_declaration "("
  (type_spec name: (type_identifier) @name
    type: [(type_identifier) (qualified_type) (generic_type) (pointer_type) (slice_type) (array_type)
           (map_type) (channel_type) (function_type)]) @definition.type)
(type_declaration "(" (type_alias name: (type_identifier) @name) @definition.type)

; package-level constants
(source_file (const_declaration "const" . (const_spec name: (identifier) @name) .) @definition.constant)
(source_file (const_declaration "(" (const_spec name: (identifier) @name) @definition.constant))

; Calls: f(), pkg.F(), x.M(), generic F[T]() (which the grammar reads as a conversion).
(call_expression
  function: [
    (identifier) @name
    (selector_expression field: (field_identifier) @name)
    (generic_type type: (type_identifier) @name)
    (index_expression operand: [
      (identifier) @name
      (selector_expression field: (field_identifier) @name)
    ])
  ]) @reference.call

; A method or function taken as a value (`return l.lexString`, `f := strconv.Unquote`): it is
; called later, through the value (a lexer's state functions, callbacks).
(return_statement (expression_list (selector_expression field: (field_identifier) @name))) @reference.call
(short_var_declaration right: (expression_list (selector_expression field: (field_identifier) @name))) @reference.call
(assignment_statement right: (expression_list (selector_expression field: (field_identifier) @name))) @reference.call

(type_conversion_expression
  type: (generic_type type: [
    (type_identifier) @name
    (qualified_type name: (type_identifier) @name)
  ])) @reference.call

; Composite literals: Server{...}, pkg.Thing{...}
(composite_literal
  type: [
    (type_identifier) @name
    (qualified_type name: (type_identifier) @name)
    (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])
  ]) @reference.class

; Embedding: interfaces in interfaces, anonymous struct fields.
(interface_type
  (type_elem [
    (type_identifier) @name
    (qualified_type name: (type_identifier) @name)
  ])) @reference.implementation

(field_declaration
  !name
  type: [
    (type_identifier) @name
    (qualified_type name: (type_identifier) @name)
    (pointer_type [(type_identifier) @name (qualified_type name: (type_identifier) @name)])
  ]) @reference.implementation

; Type references in signatures, fields, variables and composite types.

(parameter_declaration type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(variadic_parameter_declaration type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(field_declaration name: (_) type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(var_spec type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(const_spec type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(type_spec type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(type_alias type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(type_assertion_expression type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(function_declaration result: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(method_declaration result: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(method_elem result: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(func_literal result: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(function_type result: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(pointer_type [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(slice_type element: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(array_type element: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(map_type key: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(map_type value: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(channel_type value: [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])]) @reference.type
(type_arguments (type_elem [(type_identifier) @name (qualified_type name: (type_identifier) @name)
  (generic_type type: [(type_identifier) @name (qualified_type name: (type_identifier) @name)])])) @reference.type

; Imports: one per import spec; an alias (or `.` / `_`) is the imported name.
(import_spec
  path: (interpreted_string_literal (interpreted_string_literal_content) @import.module)) @import

(import_spec
  name: (package_identifier) @import.name
  path: (interpreted_string_literal (interpreted_string_literal_content) @import.module)) @import
