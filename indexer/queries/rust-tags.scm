; Rust: items, impl blocks, calls (plain, method, path, macro), type references and use declarations.

(struct_item name: (type_identifier) @name) @definition.struct
(enum_item name: (type_identifier) @name) @definition.enum
(union_item name: (type_identifier) @name) @definition.union
(trait_item name: (type_identifier) @name) @definition.trait
(type_item name: (type_identifier) @name) @definition.type
(mod_item name: (identifier) @name) @definition.module
(macro_definition name: (identifier) @name) @definition.macro
(const_item name: (identifier) @name) @definition.constant
(static_item name: (identifier) @name) @definition.constant

(function_item name: (identifier) @name) @definition.function
(function_signature_item name: (identifier) @name) @definition.function

(impl_item
  type: [
    (type_identifier) @name
    (generic_type type: (type_identifier) @name)
    (scoped_type_identifier name: (type_identifier) @name)
  ]) @definition.impl

(impl_item
  trait: [
    (type_identifier) @name
    (generic_type type: (type_identifier) @name)
    (scoped_type_identifier name: (type_identifier) @name)
  ]) @reference.implementation

(call_expression
  function: [
    (identifier) @name
    (field_expression field: (field_identifier) @name)
    (scoped_identifier name: (identifier) @name)
    (generic_function function: [
      (identifier) @name
      (field_expression field: (field_identifier) @name)
      (scoped_identifier name: (identifier) @name)
    ])
  ]) @reference.call

(macro_invocation macro: [
  (identifier) @name
  (scoped_identifier name: (identifier) @name)
]) @reference.call

(struct_expression name: [
  (type_identifier) @name
  (scoped_type_identifier name: (type_identifier) @name)
]) @reference.class

(use_declaration argument: (_) @import.module) @import

; A call inside a macro's arguments (`tri!(self.parse_ident(..))`, `format!("{}", f(x))`): the grammar keeps
; them as tokens; a name right before a parenthesised token tree is a call (`x[0]` is not).
(token_tree (identifier) @name . (token_tree . "(")) @reference.call
