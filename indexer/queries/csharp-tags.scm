; C#: namespaces, classes, interfaces, structs, enums, records, delegates, methods, constructors,
; local functions, constants, calls, `new`, base types, type references and using directives.

(namespace_declaration name: [(identifier) (qualified_name)] @name) @definition.namespace
(file_scoped_namespace_declaration name: [(identifier) (qualified_name)] @name) @definition.namespace
(class_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.interface
(struct_declaration name: (identifier) @name) @definition.struct
(enum_declaration name: (identifier) @name) @definition.enum
(record_declaration name: (identifier) @name) @definition.class
(delegate_declaration name: (identifier) @name) @definition.type

(method_declaration name: (identifier) @name) @definition.method
(constructor_declaration name: (identifier) @name) @definition.method
(destructor_declaration name: (identifier) @name) @definition.method
(local_function_statement name: (identifier) @name) @definition.function

(field_declaration
  (modifier "const")
  (variable_declaration (variable_declarator name: (identifier) @name))) @definition.constant

; Calls: F(), obj.F(), F<T>(), obj.F<T>()
(invocation_expression
  function: [
    (identifier) @name
    (generic_name (identifier) @name)
    (member_access_expression name: (identifier) @name)
    (member_access_expression name: (generic_name (identifier) @name))
  ]) @reference.call

(object_creation_expression type: [(identifier) @name (generic_name (identifier) @name) (qualified_name name: (identifier) @name)
  (qualified_name name: (generic_name (identifier) @name))]) @reference.call

(base_list [(identifier) @name (generic_name (identifier) @name) (qualified_name name: (identifier) @name)
  (qualified_name name: (generic_name (identifier) @name))]) @reference.implementation

(parameter type: [(identifier) @name (generic_name (identifier) @name) (qualified_name name: (identifier) @name)
  (qualified_name name: (generic_name (identifier) @name))]) @reference.type
(variable_declaration type: [(identifier) @name (generic_name (identifier) @name) (qualified_name name: (identifier) @name)
  (qualified_name name: (generic_name (identifier) @name))]) @reference.type
(property_declaration type: [(identifier) @name (generic_name (identifier) @name) (qualified_name name: (identifier) @name)
  (qualified_name name: (generic_name (identifier) @name))]) @reference.type
(method_declaration returns: [(identifier) @name (generic_name (identifier) @name) (qualified_name name: (identifier) @name)
  (qualified_name name: (generic_name (identifier) @name))]) @reference.type
(delegate_declaration type: [(identifier) @name (generic_name (identifier) @name) (qualified_name name: (identifier) @name)
  (qualified_name name: (generic_name (identifier) @name))]) @reference.type
(type_argument_list [(identifier) @name (generic_name (identifier) @name) (qualified_name name: (identifier) @name)
  (qualified_name name: (generic_name (identifier) @name))]) @reference.type
(nullable_type [(identifier) @name (generic_name (identifier) @name) (qualified_name name: (identifier) @name)
  (qualified_name name: (generic_name (identifier) @name))]) @reference.type
(array_type type: [(identifier) @name (generic_name (identifier) @name) (qualified_name name: (identifier) @name)
  (qualified_name name: (generic_name (identifier) @name))]) @reference.type
(cast_expression type: [(identifier) @name (generic_name (identifier) @name) (qualified_name name: (identifier) @name)
  (qualified_name name: (generic_name (identifier) @name))]) @reference.type
(typeof_expression type: [(identifier) @name (generic_name (identifier) @name) (qualified_name name: (identifier) @name)
  (qualified_name name: (generic_name (identifier) @name))]) @reference.type
(declaration_pattern type: [(identifier) @name (generic_name (identifier) @name) (qualified_name name: (identifier) @name)
  (qualified_name name: (generic_name (identifier) @name))]) @reference.type

; using System.IO; using static System.Math; using IO = System.IO;
(using_directive [(identifier) (qualified_name)] @import.module .) @import
(using_directive name: (identifier) @import.name [(identifier) (qualified_name)] @import.module .) @import
