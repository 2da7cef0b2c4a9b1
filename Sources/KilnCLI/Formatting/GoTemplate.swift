import KilnBuild
import KilnDiagnostics

/// The part of Go's text/template that users pass to `--format`: field chains (`{{.Repository}}`,
/// `{{.Config.Env}}`, `{{(index .Ports 0).HostPort}}`), `{{json .}}`, the Docker CLI's functions `upper`, `lower`, `title`,
/// `join`, `split`, `truncate`, `pad`, `println`, Go's `printf`, `{{if}} … {{else}} … {{end}}`
/// and `{{range}} … {{else}} … {{end}}` over lists and maps, and variables: `$` for the data,
/// `{{$x := …}}`, `{{$x = …}}`, `{{if $x := …}}` and `{{range $i, $e := …}}`, each visible up to
/// the `{{end}}` of the `if` or `range` that declares it. Values print as Go's `%v` prints them.
/// `with`, `break` and `continue` are not supported.
///
/// Data may come with its `GoType`. Then a field that the type declares and the data leaves out
/// is Go's zero value. A field that the type does not declare fails as in Docker's templates,
/// with the line, column and text of the field in the message.
struct GoTemplate {
    indirect enum Node {
        case text(String)
        case action(Pipeline)
        case conditional(Pipeline, then: [Node], otherwise: [Node])
        /// `{{range}}`: `body` once per element of a list, or per value of a map in key order,
        /// with the element as `.`. It renders `otherwise` when there is none.
        case loop(Pipeline, body: [Node], otherwise: [Node])
    }

    /// The place of a field chain in the source, with its text, for execution errors.
    struct Location {
        /// The offset in Unicode scalars of the template source.
        var offset: Int
        var text: String
    }

    enum Argument {
        /// `.`, `.Field` or `.Field.Sub`.
        case field([String], Location)
        case string(String)
        case number(Int64)
        /// `(pipeline)`, or `(pipeline).Field.Sub` with the fields read from its result.
        case pipeline(Pipeline, fields: [String], Location)
        /// `$`, `$name` or `$name.Field.Sub`.
        case variable(String, [String], Location)
    }

    /// A value with its Go type, when the type is known.
    struct TypedValue {
        var value: OutputJSON
        var type: GoType?

        init(_ value: OutputJSON, _ type: GoType? = nil) {
            self.value = value
            self.type = type
        }
    }

    /// The `$x :=` or `$i, $e =` in front of a pipeline.
    struct Declaration {
        var names: [String]
        /// `=` sets variables declared before; `:=` declares new ones.
        var isAssignment: Bool
    }

    /// Commands joined by `|`: each command's result is the last argument of the next.
    struct Pipeline {
        var declaration: Declaration?
        var commands: [[Argument]]
        /// A command whose first word is a function name carries it here; nil means a value.
        var functions: [String?]
    }

    /// The variables in scope while rendering, innermost last.
    private typealias Scope = [(name: String, value: TypedValue)]

    let nodes: [Node]
    /// The template text, for the line and column of execution errors.
    let source: [Unicode.Scalar]
    /// Whether a key that an object of unknown type lacks is an error, as in Go's
    /// `missingkey=error`, or `<no value>`.
    let strictFields: Bool

    static let functions: Set<String> = [
        "json", "upper", "lower", "title", "join", "split", "truncate", "pad", "println", "print", "printf", "len",
        "index", "eq", "ne", "lt", "le", "gt", "ge", "not", "and", "or",
    ]

    init(_ source: String, strictFields: Bool = true) throws {
        self.source = Array(source.unicodeScalars)
        var parser = Parser(source: self.source)
        nodes = try parser.parseNodes(stopAt: [])
        self.strictFields = strictFields
    }

    /// Renders the template with `data` as `.`, of Go type `type` when it is known.
    func render(_ data: OutputJSON, as type: GoType? = nil) throws -> String {
        var output = ""
        let root = TypedValue(data, type)
        var scope: Scope = [("$", root)]
        try render(nodes, root, &scope, into: &output)
        return output
    }

    private func render(_ nodes: [Node], _ data: TypedValue, _ scope: inout Scope, into output: inout String) throws {
        for node in nodes {
            switch node {
            case .text(let text):
                output += text
            case .action(let pipeline):
                let value = try evaluate(pipeline, data, scope)
                if let declaration = pipeline.declaration {
                    // An action that declares or sets a variable prints nothing.
                    try bind(declaration.names, to: [value], assigning: declaration.isAssignment, in: &scope)
                } else {
                    output += Self.display(value.value)
                }
            case .conditional(let pipeline, let then, let otherwise):
                let depth = scope.count
                let value = try evaluate(pipeline, data, scope)
                if let declaration = pipeline.declaration {
                    try bind(declaration.names, to: [value], assigning: declaration.isAssignment, in: &scope)
                }
                try render(Self.isTruthy(value.value) ? then : otherwise, data, &scope, into: &output)
                scope.removeLast(scope.count - depth)
            case .loop(let pipeline, let body, let otherwise):
                try renderLoop(pipeline, body: body, otherwise: otherwise, data, &scope, into: &output)
            }
        }
    }

    /// Renders `{{range}}`. One variable is set to each element in turn. With two, the first is
    /// set to the index or key and the second to the element, as in Go's templates.
    private func renderLoop(
        _ pipeline: Pipeline, body: [Node], otherwise: [Node], _ data: TypedValue, _ scope: inout Scope,
        into output: inout String
    ) throws {
        let depth = scope.count
        defer { scope.removeLast(scope.count - depth) }
        let collection = try evaluate(pipeline, data, scope)
        let elementType = collection.type?.elementType
        let entries = try Self.entries(of: collection.value).map { (TypedValue($0.key), TypedValue($0.element, elementType)) }
        if entries.isEmpty {
            try render(otherwise, data, &scope, into: &output)
            return
        }
        let declaration = pipeline.declaration
        if let declaration, !declaration.isAssignment {
            for name in declaration.names { scope.append((name, TypedValue(.null))) }
        }
        let iterationDepth = scope.count
        for (key, element) in entries {
            if let declaration {
                let values = declaration.names.count == 2 ? [key, element] : [element]
                if declaration.isAssignment {
                    try bind(declaration.names, to: values, assigning: true, in: &scope)
                } else {
                    for (offset, value) in values.enumerated() {
                        scope[depth + offset].value = value
                    }
                }
            }
            try render(body, element, &scope, into: &output)
            scope.removeLast(scope.count - iterationDepth)
        }
    }

    /// Declares `names` with `values` in order, or with `assigning`, sets the innermost
    /// variables of those names.
    private func bind(_ names: [String], to values: [TypedValue], assigning: Bool, in scope: inout Scope) throws {
        for (name, value) in zip(names, values) {
            guard assigning else {
                scope.append((name, value))
                continue
            }
            guard let position = scope.lastIndex(where: { $0.name == name }) else {
                throw GeneralError("template: undefined variable: \(name)")
            }
            scope[position].value = value
        }
    }

    /// Lists what `{{range}}` iterates over: a list's elements, or a map's values sorted by
    /// key, as Go's templates do. A missing value has none.
    static func elements(of value: OutputJSON) throws -> [OutputJSON] {
        try entries(of: value).map(\.element)
    }

    /// Lists `{{range}}`'s elements with their keys: the index in a list, the key in a map.
    static func entries(of value: OutputJSON) throws -> [(key: OutputJSON, element: OutputJSON)] {
        switch value {
        case .null, .nullList, .nullMap: return []
        case .array(let elements):
            return elements.enumerated().map { (.integer(Int64($0.offset)), $0.element) }
        case .object(let members):
            return members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }.map { (.string($0.0), $0.1) }
        default:
            throw GeneralError("template: range can't iterate over \(display(value))")
        }
    }

    private func evaluate(_ pipeline: Pipeline, _ data: TypedValue, _ scope: Scope) throws -> TypedValue {
        var previous: TypedValue?
        for (command, function) in zip(pipeline.commands, pipeline.functions) {
            var values = try command.map { try evaluate($0, data, scope) }
            if let previous { values.append(previous) }
            if let function {
                previous = function == "index" ? try index(values) : TypedValue(try call(function, values.map(\.value)))
            } else {
                guard values.count == 1, let value = values.first else {
                    throw GeneralError("template: can't give arguments to a value")
                }
                previous = value
            }
        }
        return previous ?? TypedValue(.null)
    }

    private func evaluate(_ argument: Argument, _ data: TypedValue, _ scope: Scope) throws -> TypedValue {
        switch argument {
        case .string(let text): return TypedValue(.string(text))
        case .number(let number): return TypedValue(.integer(number))
        case .pipeline(let pipeline, let fields, let location):
            return try field(fields, of: try evaluate(pipeline, data, scope), at: location)
        case .field(let path, let location): return try field(path, of: data, at: location)
        case .variable(let name, let path, let location):
            // The parser rejects undeclared names, but a name declared in a branch that did not
            // run has no value yet.
            guard let binding = scope.last(where: { $0.name == name }) else {
                throw GeneralError("template: undefined variable: \(name)")
            }
            return try field(path, of: binding.value, at: location)
        }
    }

    /// Reads the fields of `path` in turn, starting at `data`.
    private func field(_ path: [String], of data: TypedValue, at location: Location) throws -> TypedValue {
        var value = data
        var previous: String?
        for name in path {
            value = try member(name, of: value, after: previous, at: location)
            previous = name
        }
        return value
    }

    /// Reads the field `name` of `value`, as Go's templates read a field of the value's type.
    /// `previous` is the field that gave `value`, for the message about an unset pointer.
    private func member(_ name: String, of value: TypedValue, after previous: String?, at location: Location) throws
        -> TypedValue
    {
        var type = value.type
        if case .pointer(let target) = type {
            switch value.value {
            case .null, .nilPointer:
                // The Docker CLI's fallback to the raw JSON finds no key for an unset pointer.
                let reason = previous.map { "map has no entry for key \(GoFormat.quoted($0))" }
                throw executionError(at: location, reason ?? "nil pointer evaluating \(location.text)")
            default:
                type = target
            }
        }
        switch type {
        case .structure(let goStruct):
            guard let field = goStruct.fields[name] else {
                let reason = goStruct.typeName.map { "can't evaluate field \(name) in type \($0)" }
                throw executionError(at: location, reason ?? "map has no entry for key \(GoFormat.quoted(name))")
            }
            switch value.value[field.key] {
            case nil, .null?: return TypedValue(field.type.zeroValue, field.type)
            case let member?: return TypedValue(member, field.type)
            }
        case .map(let element):
            guard let member = value.value[name] else { return TypedValue(.null, .invalid) }
            return TypedValue(member, element)
        case .invalid:
            return TypedValue(.null, .invalid)
        case .string, .integer, .bool, .list:
            throw executionError(at: location, "can't evaluate field \(name) in type \(type?.goName ?? "")")
        case .any, .pointer, nil:
            guard case .object = value.value else {
                throw executionError(at: location, "can't evaluate field \(name) in type \(Self.goTypeName(value.value))")
            }
            if let member = value.value[name] { return TypedValue(member) }
            guard !strictFields else {
                throw executionError(at: location, "map has no entry for key \(GoFormat.quoted(name))")
            }
            return TypedValue(.null)
        }
    }

    /// `index MAP KEY` and `index LIST N`, several keys in turn, as Go's templates do. A key
    /// that a map lacks gives the zero value of the map's element type.
    private func index(_ values: [TypedValue]) throws -> TypedValue {
        guard values.count >= 2 else {
            throw GeneralError("template: wrong number of arguments for index: want at least 2 got \(values.count)")
        }
        var current = values[0]
        for key in values.dropFirst() {
            let element = current.type?.elementType
            switch (current.value, key.value) {
            case (.object(let members), _):
                let member = members.first { $0.0 == Self.display(key.value) }?.1
                current = TypedValue(member ?? element?.zeroValue ?? .null, element)
            case (.null, _), (.nullMap, _), (.nilPointer, _):
                // A map that is not there, such as an image without labels, has no keys.
                current = TypedValue(element?.zeroValue ?? .null, element)
            case (.array(let elements), .integer(let position)):
                guard position >= 0, position < elements.count else {
                    throw GeneralError("template: error calling index: index out of range: \(position)")
                }
                current = TypedValue(elements[Int(position)], element)
            default:
                throw GeneralError(
                    "template: error calling index: cannot index \(Self.display(current.value)) with \(Self.display(key.value))")
            }
        }
        return current
    }

    /// An execution error as Go's templates word it: `template: :LINE:COLUMN: executing "" at
    /// <TEXT>: REASON`, where the column counts UTF-8 bytes from the start of the line.
    func executionError(at location: Location, _ reason: String) -> GeneralError {
        var line = 1
        var column = 0
        for scalar in source.prefix(location.offset) {
            if scalar == "\n" {
                line += 1
                column = 0
            } else {
                column += UTF8.width(scalar)
            }
        }
        return GeneralError("template: :\(line):\(column): executing \"\" at <\(location.text)>: \(reason)")
    }

    /// Names the Go type that a value of unknown type has in decoded JSON, for messages.
    static func goTypeName(_ value: OutputJSON) -> String {
        switch value {
        case .null, .nilPointer: "<nil>"
        case .bool: "bool"
        case .integer: "int"
        case .string: "string"
        case .array, .nullList: "[]interface {}"
        case .object, .nullMap: "map[string]interface {}"
        }
    }

    private func call(_ function: String, _ values: [OutputJSON]) throws -> OutputJSON {
        func string(_ index: Int) -> String { index < values.count ? Self.display(values[index]) : "" }
        func count(_ expected: Int) throws {
            guard values.count == expected else {
                throw GeneralError(
                    "template: wrong number of arguments for \(function): want \(expected) got \(values.count)")
            }
        }
        switch function {
        case "json":
            try count(1)
            return .string(values[0].compact())
        case "upper":
            try count(1)
            return .string(string(0).uppercased())
        case "lower":
            try count(1)
            return .string(string(0).lowercased())
        case "title":
            try count(1)
            return .string(
                string(0).split(separator: " ", omittingEmptySubsequences: false).map {
                    $0.prefix(1).uppercased() + $0.dropFirst()
                }.joined(separator: " "))
        case "join":
            try count(2)
            if case .nullList = values[0] { return .string("") }
            guard case .array(let elements) = values[0] else { return .string(string(0)) }
            return .string(elements.map(Self.display).joined(separator: string(1)))
        case "split":
            try count(2)
            return .array(string(0).components(separatedBy: string(1)).map(OutputJSON.string))
        case "truncate":
            try count(2)
            guard case .integer(let length) = values[1] else { throw GeneralError("template: truncate needs a length") }
            return .string(String(string(0).prefix(Int(max(0, length)))))
        case "pad":
            try count(3)
            guard case .integer(let left) = values[1], case .integer(let right) = values[2] else {
                throw GeneralError("template: pad needs two counts")
            }
            return .string(
                String(repeating: " ", count: Int(max(0, left))) + string(0)
                    + String(repeating: " ", count: Int(max(0, right))))
        case "len":
            try count(1)
            switch values[0] {
            case .array(let elements): return .integer(Int64(elements.count))
            case .object(let members): return .integer(Int64(members.count))
            case .nullList, .nullMap: return .integer(0)
            case .nilPointer: throw GeneralError("template: error calling len: len of nil pointer")
            default: return .integer(Int64(string(0).count))
            }
        case "eq":
            // `eq A B C…` is true when A equals any of the others, as in Go's templates.
            guard values.count >= 2 else {
                throw GeneralError("template: wrong number of arguments for eq: want at least 2 got \(values.count)")
            }
            for other in values.dropFirst() where try Self.compare(values[0], other, function) == 0 {
                return .bool(true)
            }
            return .bool(false)
        case "ne":
            try count(2)
            return .bool(try Self.compare(values[0], values[1], function) != 0)
        case "lt", "le", "gt", "ge":
            try count(2)
            if case .bool = values[0] { throw GeneralError("template: error calling \(function): invalid type for comparison") }
            let order = try Self.compare(values[0], values[1], function)
            switch function {
            case "lt": return .bool(order < 0)
            case "le": return .bool(order <= 0)
            case "gt": return .bool(order > 0)
            default: return .bool(order >= 0)
            }
        case "not":
            try count(1)
            return .bool(!Self.isTruthy(values[0]))
        case "and":
            // The first empty argument, else the last one, as Go's `and` returns.
            guard !values.isEmpty else { throw GeneralError("template: wrong number of arguments for and: want at least 1 got 0") }
            return values.first { !Self.isTruthy($0) } ?? values[values.count - 1]
        case "or":
            // The first non-empty argument, else the last one, as Go's `or` returns.
            guard !values.isEmpty else { throw GeneralError("template: wrong number of arguments for or: want at least 1 got 0") }
            return values.first { Self.isTruthy($0) } ?? values[values.count - 1]
        case "println":
            return .string(values.map(Self.display).joined(separator: " ") + "\n")
        case "printf":
            guard case .string(let format) = values.first else {
                throw GeneralError("template: printf needs a format string as its first argument")
            }
            return .string(Self.printf(format, Array(values.dropFirst())))
        default:
            return .string(values.map(Self.display).joined())
        }
    }

    /// A value as Go's `%v` prints it inside a template.
    static func display(_ value: OutputJSON) -> String {
        switch value {
        case .null: return "<no value>"
        case .nilPointer: return "<nil>"
        case .nullList: return "[]"
        case .nullMap: return "map[]"
        case .bool(let flag): return flag ? "true" : "false"
        case .integer(let number): return String(number)
        case .string(let text): return text
        case .array(let elements): return "[" + elements.map(display).joined(separator: " ") + "]"
        case .object(let members):
            let sorted = members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
            return "map[" + sorted.map { "\($0.0):\(display($0.1))" }.joined(separator: " ") + "]"
        }
    }

    /// Orders two basic values as Go's comparison functions do: integers by value, strings by
    /// bytes, booleans only for equality. Other pairs fail with Go's message.
    static func compare(_ left: OutputJSON, _ right: OutputJSON, _ function: String) throws -> Int {
        switch (left, right) {
        case (.integer(let a), .integer(let b)):
            return a < b ? -1 : (a == b ? 0 : 1)
        case (.string(let a), .string(let b)):
            if a == b { return 0 }
            return a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : 1
        case (.bool(let a), .bool(let b)):
            return a == b ? 0 : 1
        case (.null, .null), (.nilPointer, .nilPointer), (.null, .nilPointer), (.nilPointer, .null):
            return 0
        default:
            throw GeneralError("template: error calling \(function): incompatible types for comparison")
        }
    }

    static func isTruthy(_ value: OutputJSON) -> Bool {
        switch value {
        case .null, .nullList, .nullMap, .nilPointer: return false
        case .bool(let flag): return flag
        case .integer(let number): return number != 0
        case .string(let text): return !text.isEmpty
        case .array(let elements): return !elements.isEmpty
        case .object(let members): return !members.isEmpty
        }
    }
}
