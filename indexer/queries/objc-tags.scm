; Objective-C: @interface (class), categories (extension), @implementation (impl), @protocol,
; methods (named by the first selector part; properties are not captured) and the C part of the
; language (functions, structs, enums, typedefs, macros) as in the C query. Message sends and C
; calls, class receivers, superclasses and adopted protocols, type references, #import/#include
; and @import.

(class_interface (identifier) @name category: (_)) @definition.extension
(class_interface . (identifier) @name !category) @definition.class
(class_implementation (identifier) @name category: (_)) @definition.extension
(class_implementation . (identifier) @name !category) @definition.impl
(protocol_declaration . (identifier) @name) @definition.protocol

(method_declaration (method_type) . (identifier) @name) @definition.method
(method_declaration . (identifier) @name) @definition.method
(method_definition (method_type) . (identifier) @name) @definition.method
(method_definition . (identifier) @name) @definition.method

(function_definition
  declarator: [
    (function_declarator declarator: (identifier) @name)
    (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
    (pointer_declarator declarator: (pointer_declarator
      declarator: (function_declarator declarator: (identifier) @name)))
  ]) @definition.function

; prototypes (headers)
(declaration
  declarator: [
    (function_declarator declarator: (identifier) @name)
    (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
    (pointer_declarator declarator: (pointer_declarator
      declarator: (function_declarator declarator: (identifier) @name)))
  ]) @definition.function

(struct_specifier name: (type_identifier) @name body: (_)) @definition.struct
(union_specifier name: (type_identifier) @name body: (_)) @definition.union
(enum_specifier name: (type_identifier) @name body: (_)) @definition.enum

; typedef struct { ... } Name;
(type_definition type: (struct_specifier !name body: (_)) declarator: (type_identifier) @name) @definition.struct
(type_definition type: (union_specifier !name body: (_)) declarator: (type_identifier) @name) @definition.union
(type_definition type: (enum_specifier !name body: (_)) declarator: (type_identifier) @name) @definition.enum

; typedef int myint; typedef struct S S; typedef int (*callback)(int);
(type_definition
  type: [(primitive_type) (type_identifier) (sized_type_specifier)
         (struct_specifier !body) (union_specifier !body) (enum_specifier !body)]
  declarator: [
    (type_identifier) @name
    (pointer_declarator declarator: (type_identifier) @name)
    (function_declarator declarator: (parenthesized_declarator (pointer_declarator declarator: (type_identifier) @name)))
  ]) @definition.type

(preproc_function_def name: (identifier) @name) @definition.macro
(preproc_def name: (identifier) @name value: (_)) @definition.constant

(call_expression
  function: [
    (identifier) @name
    (field_expression field: (field_identifier) @name)
  ]) @reference.call

; [receiver selector:...] - the first selector part names the call
(message_expression receiver: (_) . method: (identifier) @name) @reference.call

((message_expression receiver: (identifier) @name) @reference.class
  (#match? @name "^[A-Z]"))

(class_interface superclass: (identifier) @name) @reference.implementation
(class_interface (parameterized_arguments (type_name (type_identifier) @name))) @reference.implementation
(protocol_reference_list (identifier) @name) @reference.implementation

(type_name (type_identifier) @name) @reference.type
(_ type: (type_identifier) @name) @reference.type
(struct_declaration (type_identifier) @name) @reference.type

(preproc_include path: [
  (system_lib_string) @import.module
  (string_literal (string_content) @import.module)
]) @import

(module_import path: (_) @import.module) @import
