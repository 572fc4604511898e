; C++: functions, methods (in-class and out-of-line `Type::name`, with the type as container),
; classes, structs, unions, enums, namespaces, typedefs/aliases, macros, calls, `new`, base classes,
; type references, #include and using-declarations. Calls inside macro bodies are not parsed.

(function_definition declarator: [
    (function_declarator declarator: [
      (identifier) @name (field_identifier) @name (operator_name) @name (destructor_name) @name
      (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name)
      (qualified_identifier name: (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name))
    ])
    (pointer_declarator declarator: (function_declarator declarator: [
      (identifier) @name (field_identifier) @name (operator_name) @name (destructor_name) @name
      (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name)
      (qualified_identifier name: (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name))
    ]))
    (reference_declarator (function_declarator declarator: [
      (identifier) @name (field_identifier) @name (operator_name) @name (destructor_name) @name
      (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name)
      (qualified_identifier name: (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name))
    ]))
  ]) @definition.function

; declarations: prototypes, in-class method and constructor declarations
(declaration declarator: [
    (function_declarator declarator: [
      (identifier) @name (field_identifier) @name (operator_name) @name (destructor_name) @name
      (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name)
      (qualified_identifier name: (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name))
    ])
    (pointer_declarator declarator: (function_declarator declarator: [
      (identifier) @name (field_identifier) @name (operator_name) @name (destructor_name) @name
      (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name)
      (qualified_identifier name: (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name))
    ]))
    (reference_declarator (function_declarator declarator: [
      (identifier) @name (field_identifier) @name (operator_name) @name (destructor_name) @name
      (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name)
      (qualified_identifier name: (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name))
    ]))
  ]) @definition.function
(field_declaration declarator: [
    (function_declarator declarator: [
      (identifier) @name (field_identifier) @name (operator_name) @name (destructor_name) @name
      (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name)
      (qualified_identifier name: (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name))
    ])
    (pointer_declarator declarator: (function_declarator declarator: [
      (identifier) @name (field_identifier) @name (operator_name) @name (destructor_name) @name
      (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name)
      (qualified_identifier name: (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name))
    ]))
    (reference_declarator (function_declarator declarator: [
      (identifier) @name (field_identifier) @name (operator_name) @name (destructor_name) @name
      (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name)
      (qualified_identifier name: (qualified_identifier scope: [(namespace_identifier) @container (template_type name: (type_identifier) @container)] name: [(identifier) (operator_name) (destructor_name)] @name))
    ]))
  ]) @definition.function

; auto f = [](...) {...};
(declaration
  declarator: (init_declarator declarator: (identifier) @name value: (lambda_expression))) @definition.function

(class_specifier name: [(type_identifier) @name (template_type name: (type_identifier) @name)] body: (_)) @definition.class
(struct_specifier name: [(type_identifier) @name (template_type name: (type_identifier) @name)] body: (_)) @definition.struct
(union_specifier name: (type_identifier) @name body: (_)) @definition.union
(enum_specifier name: (type_identifier) @name body: (_)) @definition.enum
(namespace_definition name: [(namespace_identifier) (nested_namespace_specifier)] @name) @definition.namespace

; typedef struct { ... } Name;
(type_definition type: (struct_specifier !name body: (_)) declarator: (type_identifier) @name) @definition.struct
(type_definition type: (class_specifier !name body: (_)) declarator: (type_identifier) @name) @definition.class
(type_definition type: (enum_specifier !name body: (_)) declarator: (type_identifier) @name) @definition.enum

(type_definition
  type: [(primitive_type) (type_identifier) (sized_type_specifier) (qualified_identifier) (template_type)
         (struct_specifier !body) (union_specifier !body) (enum_specifier !body) (class_specifier !body)]
  declarator: [
    (type_identifier) @name
    (pointer_declarator declarator: (type_identifier) @name)
    (function_declarator declarator: (parenthesized_declarator (pointer_declarator declarator: (type_identifier) @name)))
  ]) @definition.type
(alias_declaration name: (type_identifier) @name) @definition.type
(concept_definition name: (identifier) @name) @definition.type

(preproc_function_def name: (identifier) @name) @definition.macro
(preproc_def name: (identifier) @name value: (_)) @definition.constant

; Calls: f(), obj.f(), p->f(), ns::f(), f<T>(), ns::f<T>()
(call_expression
  function: [
    (identifier) @name
    (field_expression field: [(field_identifier) @name (template_method name: (field_identifier) @name)])
    (qualified_identifier name: [(identifier) @name (template_function name: (identifier) @name)])
    (qualified_identifier name: (qualified_identifier name: [(identifier) @name (template_function name: (identifier) @name)]))
    (template_function name: (identifier) @name)
  ]) @reference.call

(new_expression type: [(type_identifier) @name (template_type name: (type_identifier) @name)
  (qualified_identifier name: [(type_identifier) @name (template_type name: (type_identifier) @name)])]) @reference.call

(base_class_clause [(type_identifier) @name (template_type name: (type_identifier) @name)
  (qualified_identifier name: [(type_identifier) @name (template_type name: (type_identifier) @name)])]) @reference.implementation

(parameter_declaration type: [(type_identifier) @name (template_type name: (type_identifier) @name)
  (qualified_identifier name: [(type_identifier) @name (template_type name: (type_identifier) @name)])]) @reference.type
(optional_parameter_declaration type: [(type_identifier) @name (template_type name: (type_identifier) @name)
  (qualified_identifier name: [(type_identifier) @name (template_type name: (type_identifier) @name)])]) @reference.type
(variadic_parameter_declaration type: [(type_identifier) @name (template_type name: (type_identifier) @name)
  (qualified_identifier name: [(type_identifier) @name (template_type name: (type_identifier) @name)])]) @reference.type
(field_declaration type: [(type_identifier) @name (template_type name: (type_identifier) @name)
  (qualified_identifier name: [(type_identifier) @name (template_type name: (type_identifier) @name)])]) @reference.type
(declaration type: [(type_identifier) @name (template_type name: (type_identifier) @name)
  (qualified_identifier name: [(type_identifier) @name (template_type name: (type_identifier) @name)])]) @reference.type
(function_definition type: [(type_identifier) @name (template_type name: (type_identifier) @name)
  (qualified_identifier name: [(type_identifier) @name (template_type name: (type_identifier) @name)])]) @reference.type
(type_descriptor type: [(type_identifier) @name (template_type name: (type_identifier) @name)
  (qualified_identifier name: [(type_identifier) @name (template_type name: (type_identifier) @name)])]) @reference.type
(type_definition type: [(type_identifier) @name (template_type name: (type_identifier) @name)
  (qualified_identifier name: [(type_identifier) @name (template_type name: (type_identifier) @name)])]) @reference.type
(_ type: [(struct_specifier name: (type_identifier) @name !body)
           (class_specifier name: (type_identifier) @name !body)
           (union_specifier name: (type_identifier) @name !body)
           (enum_specifier name: (type_identifier) @name !body)]) @reference.type

(preproc_include path: [
  (system_lib_string) @import.module
  (string_literal (string_content) @import.module)
]) @import

; using namespace std; using std::string;
(using_declaration [(identifier) (qualified_identifier)] @import.module) @import
