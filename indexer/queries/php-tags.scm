; PHP: namespaces, classes, interfaces, traits, enums, functions, methods, class constants, calls
; (function, method, static, nullsafe), `new`, extends/implements/trait use, type references,
; `use` imports and require/include.

(namespace_definition name: (namespace_name) @name) @definition.namespace
(class_declaration name: (name) @name) @definition.class
(interface_declaration name: (name) @name) @definition.interface
(trait_declaration name: (name) @name) @definition.trait
(enum_declaration name: (name) @name) @definition.enum

(function_definition name: (name) @name) @definition.function
(method_declaration name: (name) @name) @definition.method

(const_declaration (const_element (name) @name)) @definition.constant

(function_call_expression
  function: [(name) @name (qualified_name (name) @name .)]) @reference.call
(member_call_expression name: (name) @name) @reference.call
(nullsafe_member_call_expression name: (name) @name) @reference.call
(scoped_call_expression name: (name) @name) @reference.call

(object_creation_expression [(name) @name (qualified_name (name) @name .)]) @reference.call

(base_clause [(name) @name (qualified_name (name) @name .)]) @reference.implementation
(class_interface_clause [(name) @name (qualified_name (name) @name .)]) @reference.implementation
(use_declaration [(name) @name (qualified_name (name) @name .)]) @reference.implementation

(named_type [(name) @name (qualified_name (name) @name .)]) @reference.type

; use A\B; use A\B as C; use A\{B, C as D};
(namespace_use_declaration
  (namespace_use_clause [(name) (qualified_name)] @import.module)) @import
(namespace_use_declaration
  (namespace_use_clause [(name) (qualified_name)] @import.module alias: (name) @import.name)) @import
(namespace_use_declaration
  (namespace_name) @import.module
  body: (namespace_use_group (namespace_use_clause . [(name) (qualified_name)] @import.name !alias))) @import
(namespace_use_declaration
  (namespace_name) @import.module
  body: (namespace_use_group (namespace_use_clause alias: (name) @import.name))) @import

; require 'x.php'; require_once __DIR__ . '/x.php';
(require_expression
  [(string (string_content) @import.module)
   (encapsed_string (string_content) @import.module)
   (binary_expression right: [(string (string_content) @import.module)
                              (encapsed_string (string_content) @import.module)])]) @import
(require_once_expression
  [(string (string_content) @import.module)
   (encapsed_string (string_content) @import.module)
   (binary_expression right: [(string (string_content) @import.module)
                              (encapsed_string (string_content) @import.module)])]) @import
(include_expression
  [(string (string_content) @import.module)
   (encapsed_string (string_content) @import.module)
   (binary_expression right: [(string (string_content) @import.module)
                              (encapsed_string (string_content) @import.module)])]) @import
(include_once_expression
  [(string (string_content) @import.module)
   (encapsed_string (string_content) @import.module)
   (binary_expression right: [(string (string_content) @import.module)
                              (encapsed_string (string_content) @import.module)])]) @import
