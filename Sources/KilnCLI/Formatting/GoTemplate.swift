import KilnDiagnostics

/// The part of Go's text/template that users pass to `--format`: field chains (`{{.Repository}}`,
/// `{{.Config.Env}}`, `{{(index .Ports 0).HostPort}}`), `{{json .}}`, the Docker CLI's functions `upper`, `lower`, `title`,
/// `join`, `split`, `truncate`, `pad`, `println`, Go's `printf`, `{{if}} … {{else}} … {{end}}`
/// and `{{range}} … {{else}} … {{end}}` over lists and maps, and variables: `$` for the data,
/// `{{$x := …}}`, `{{$x = …}}`, `{{if $x := …}}` and `{{range $i, $e := …}}`, each visible up to
/// the `{{end}}` of the `if` or `range` that declares it. Values print as Go's `%v` prints them.
/// `with`, `break` and `continue` are not supported.
struct GoTemplate {
    indirect enum Node {
        case text(String)
        case action(Pipeline)
        case conditional(Pipeline, then: [Node], otherwise: [Node])
        /// `{{range}}`: `body` once per element of a list, or per value of a map in key order,
        /// with the element as `.`. It renders `otherwise` when there is none.
        case loop(Pipeline, body: [Node], otherwise: [Node])
    }

    enum Argument {
        /// `.`, `.Field` or `.Field.Sub`.
        case field([String])
        case string(String)
        case number(Int64)
        /// `(pipeline)`, or `(pipeline).Field.Sub` with the fields read from its result.
        case pipeline(Pipeline, fields: [String])
        /// `$`, `$name` or `$name.Field.Sub`.
        case variable(String, [String])
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
    private typealias Scope = [(name: String, value: OutputJSON)]

    let nodes: [Node]
    /// Whether a field the data does not have is an error (row contexts) or `<no value>` (maps).
    let strictFields: Bool
    /// Go's zero values of fields of the structs behind Docker's output, by field name: `""` for
    /// a string, `.nullList` for a slice, `.nullMap` for a map. A missing or null field with an
    /// entry here has that value instead of printing `<no value>`.
    let zeroValues: [String: OutputJSON]

    static let functions: Set<String> = [
        "json", "upper", "lower", "title", "join", "split", "truncate", "pad", "println", "print", "printf", "len",
        "index", "eq", "ne", "lt", "le", "gt", "ge", "not", "and", "or",
    ]

    init(_ source: String, strictFields: Bool = true, zeroValues: [String: OutputJSON] = [:]) throws {
        var parser = Parser(source: Array(source.unicodeScalars))
        nodes = try parser.parseNodes(stopAt: [])
        self.strictFields = strictFields
        self.zeroValues = zeroValues
    }

    func render(_ data: OutputJSON) throws -> String {
        var output = ""
        var scope: Scope = [("$", data)]
        try render(nodes, data, &scope, into: &output)
        return output
    }

    private func render(_ nodes: [Node], _ data: OutputJSON, _ scope: inout Scope, into output: inout String) throws {
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
                    output += Self.display(value)
                }
            case .conditional(let pipeline, let then, let otherwise):
                let depth = scope.count
                let value = try evaluate(pipeline, data, scope)
                if let declaration = pipeline.declaration {
                    try bind(declaration.names, to: [value], assigning: declaration.isAssignment, in: &scope)
                }
                try render(Self.isTruthy(value) ? then : otherwise, data, &scope, into: &output)
                scope.removeLast(scope.count - depth)
            case .loop(let pipeline, let body, let otherwise):
                try renderLoop(pipeline, body: body, otherwise: otherwise, data, &scope, into: &output)
            }
        }
    }

    /// Renders `{{range}}`. One variable is set to each element in turn. With two, the first is
    /// set to the index or key and the second to the element, as in Go's templates.
    private func renderLoop(
        _ pipeline: Pipeline, body: [Node], otherwise: [Node], _ data: OutputJSON, _ scope: inout Scope,
        into output: inout String
    ) throws {
        let depth = scope.count
        defer { scope.removeLast(scope.count - depth) }
        let entries = try Self.entries(of: try evaluate(pipeline, data, scope))
        if entries.isEmpty {
            try render(otherwise, data, &scope, into: &output)
            return
        }
        let declaration = pipeline.declaration
        if let declaration, !declaration.isAssignment {
            for name in declaration.names { scope.append((name, .null)) }
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
    private func bind(_ names: [String], to values: [OutputJSON], assigning: Bool, in scope: inout Scope) throws {
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

    private func evaluate(_ pipeline: Pipeline, _ data: OutputJSON, _ scope: Scope) throws -> OutputJSON {
        var previous: OutputJSON?
        for (command, function) in zip(pipeline.commands, pipeline.functions) {
            var values = try command.map { try evaluate($0, data, scope) }
            if let previous { values.append(previous) }
            if let function {
                previous = try call(function, values)
            } else {
                guard values.count == 1, let value = values.first else {
                    throw GeneralError("template: can't give arguments to a value")
                }
                previous = value
            }
        }
        return previous ?? .null
    }

    private func evaluate(_ argument: Argument, _ data: OutputJSON, _ scope: Scope) throws -> OutputJSON {
        switch argument {
        case .string(let text): return .string(text)
        case .number(let number): return .integer(number)
        case .pipeline(let pipeline, let fields): return try field(fields, of: try evaluate(pipeline, data, scope))
        case .field(let path): return try field(path, of: data)
        case .variable(let name, let path):
            // The parser rejects undeclared names, but a name declared in a branch that did not
            // run has no value yet.
            guard let binding = scope.last(where: { $0.name == name }) else {
                throw GeneralError("template: undefined variable: \(name)")
            }
            return try field(path, of: binding.value)
        }
    }

    private func field(_ path: [String], of data: OutputJSON) throws -> OutputJSON {
        var value = data
        for name in path {
            guard case .object = value else {
                throw GeneralError("template: can't evaluate field \(name) in a value that is not an object")
            }
            let next = value[name]
            if next == nil || next == .null, let zero = zeroValues[name] { return zero }
            guard let next else {
                if strictFields { throw GeneralError("template: can't evaluate field \(name)") }
                return .null
            }
            value = next
        }
        return value
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
            default: return .integer(Int64(string(0).count))
            }
        case "index":
            // `index MAP KEY` and `index LIST N`, several keys in turn, as Go's templates do.
            guard values.count >= 2 else {
                throw GeneralError("template: wrong number of arguments for index: want at least 2 got \(values.count)")
            }
            var current = values[0]
            for key in values.dropFirst() {
                switch (current, key) {
                case (.object(let members), _):
                    current = members.first { $0.0 == Self.display(key) }?.1 ?? .null
                case (.null, _), (.nullMap, _):
                    // A map that is not there, such as an image without labels, has no keys.
                    current = .null
                case (.array(let elements), .integer(let position)):
                    guard position >= 0, position < elements.count else {
                        throw GeneralError("template: error calling index: index out of range: \(position)")
                    }
                    current = elements[Int(position)]
                default:
                    throw GeneralError("template: error calling index: cannot index \(Self.display(current)) with \(Self.display(key))")
                }
            }
            return current
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
        case (.null, .null):
            return 0
        default:
            throw GeneralError("template: error calling \(function): incompatible types for comparison")
        }
    }

    static func isTruthy(_ value: OutputJSON) -> Bool {
        switch value {
        case .null, .nullList, .nullMap: return false
        case .bool(let flag): return flag
        case .integer(let number): return number != 0
        case .string(let text): return !text.isEmpty
        case .array(let elements): return !elements.isEmpty
        case .object(let members): return !members.isEmpty
        }
    }

    // MARK: Parsing

    private struct Parser {
        let source: [Unicode.Scalar]
        var index = 0
        /// The variables declared so far that are still in scope, innermost last.
        var variables = ["$"]

        init(source: [Unicode.Scalar]) {
            self.source = source
        }

        private func failure(_ reason: String) -> GeneralError {
            GeneralError("template parsing error: \(reason)", hint: "see `--format` in the command's --help")
        }

        private func starts(with text: String, at position: Int) -> Bool {
            let scalars = Array(text.unicodeScalars)
            guard position + scalars.count <= source.count else { return false }
            return Array(source[position..<position + scalars.count]) == scalars
        }

        mutating func parseNodes(stopAt keywords: Set<String>) throws -> [Node] {
            var nodes: [Node] = []
            _ = try parseNodes(into: &nodes, stopAt: keywords)
            return nodes
        }

        /// Appends nodes until an action that is one of `keywords` (`else`, `end`) and returns
        /// that keyword, or nil at the end of the template.
        mutating func parseNodes(into nodes: inout [Node], stopAt keywords: Set<String>) throws -> String? {
            var text = ""
            while index < source.count {
                if starts(with: "{{", at: index) {
                    if !text.isEmpty {
                        nodes.append(.text(text))
                        text = ""
                    }
                    index += 2
                    if index < source.count, source[index] == "-" { index += 1 }
                    let body = try readActionBody()
                    let words = body.trimmingCharacters()
                    if keywords.contains(words) { return words }
                    if words.hasPrefix("if ") || words.hasPrefix("range ") {
                        let keyword = words.hasPrefix("if ") ? "if" : "range"
                        let depth = variables.count
                        defer { variables.removeLast(variables.count - depth) }
                        let pipeline = try parsePipeline(String(words.dropFirst(keyword.count + 1)), context: keyword)
                        var then: [Node] = []
                        let stop = try parseNodes(into: &then, stopAt: ["else", "end"])
                        var otherwise: [Node] = []
                        if stop == "else" {
                            guard try parseNodes(into: &otherwise, stopAt: ["end"]) == "end" else {
                                throw failure("unexpected EOF: {{\(keyword)}} without {{end}}")
                            }
                        } else if stop != "end" {
                            throw failure("unexpected EOF: {{\(keyword)}} without {{end}}")
                        }
                        if keyword == "if" {
                            nodes.append(.conditional(pipeline, then: then, otherwise: otherwise))
                        } else {
                            nodes.append(.loop(pipeline, body: then, otherwise: otherwise))
                        }
                        continue
                    }
                    if words == "end" || words == "else" { throw failure("unexpected {{\(words)}}") }
                    nodes.append(.action(try parsePipeline(words, context: "command")))
                } else {
                    text.unicodeScalars.append(source[index])
                    index += 1
                }
            }
            if !text.isEmpty { nodes.append(.text(text)) }
            return nil
        }

        private mutating func readActionBody() throws -> String {
            var body = ""
            var inString = false
            while index < source.count {
                let scalar = source[index]
                if !inString && (starts(with: "}}", at: index) || starts(with: "-}}", at: index)) {
                    index += starts(with: "-}}", at: index) ? 3 : 2
                    return body
                }
                if scalar == "\"" { inString.toggle() }
                if scalar == "\\" && inString && index + 1 < source.count {
                    body.unicodeScalars.append(scalar)
                    index += 1
                }
                body.unicodeScalars.append(source[index])
                index += 1
            }
            throw failure("unclosed action: missing }}")
        }

        /// Parses an action's pipeline with its optional declaration, and brings the variables
        /// it declares into scope. `context` is `command`, `if` or `range`, as Go's messages name it.
        mutating func parsePipeline(_ text: String, context: String) throws -> Pipeline {
            guard let (declaration, rest) = try Self.splitDeclaration(text, context: context) else {
                return try Self.parsePipeline(text, variables: variables)
            }
            if declaration.isAssignment {
                for name in declaration.names where !variables.contains(name) {
                    throw GeneralError("template parsing error: undefined variable \"\(name)\"")
                }
            }
            var pipeline = try Self.parsePipeline(rest, variables: variables)
            pipeline.declaration = declaration
            if !declaration.isAssignment { variables += declaration.names }
            return pipeline
        }

        /// Splits `$x := rest`, `$x = rest` or, in a range, `$i, $e := rest` into the declaration
        /// and the rest. Returns nil when the text does not start with a declaration.
        static func splitDeclaration(_ text: String, context: String) throws -> (Declaration, String)? {
            let characters = Array(text)
            var index = 0
            func skipSpaces() {
                while index < characters.count, characters[index] == " " || characters[index] == "\t" { index += 1 }
            }
            func readVariable() -> String? {
                guard index < characters.count, characters[index] == "$" else { return nil }
                var name = "$"
                index += 1
                while index < characters.count, characters[index].isLetter || characters[index].isNumber || characters[index] == "_" {
                    name.append(characters[index])
                    index += 1
                }
                return name
            }

            skipSpaces()
            guard let first = readVariable() else { return nil }
            var names = [first]
            skipSpaces()
            if index < characters.count, characters[index] == "," {
                guard context == "range" else {
                    throw GeneralError("template parsing error: too many declarations in \(context)")
                }
                index += 1
                skipSpaces()
                guard let second = readVariable() else {
                    throw GeneralError("template parsing error: range can only initialize variables")
                }
                names.append(second)
                skipSpaces()
            }

            let isAssignment: Bool
            if index + 1 < characters.count, characters[index] == ":", characters[index + 1] == "=" {
                isAssignment = false
                index += 2
            } else if index < characters.count, characters[index] == "=" {
                isAssignment = true
                index += 1
            } else if names.count > 1 {
                throw GeneralError("template parsing error: expected := or = after \(names.joined(separator: ", ")) in range")
            } else {
                return nil
            }
            return (Declaration(names: names, isAssignment: isAssignment), String(characters[index...]))
        }

        /// Parses commands joined by `|`. `variables` are the names an argument may use.
        static func parsePipeline(_ text: String, variables: [String]) throws -> Pipeline {
            var commands: [[Argument]] = []
            var functions: [String?] = []
            let argument = { (token: Token) in try Self.argument(token, variables: variables) }
            for part in try splitOutside(text, separator: "|") {
                let words = try tokenize(part)
                guard let first = words.first else {
                    throw GeneralError("template parsing error: missing value for command", hint: nil)
                }
                if case .word(let name) = first, !name.hasPrefix("."), !name.hasPrefix("$"), Int64(name) == nil {
                    guard GoTemplate.functions.contains(name) else {
                        throw GeneralError("template parsing error: function \"\(name)\" not defined")
                    }
                    functions.append(name)
                    commands.append(try words.dropFirst().map(argument))
                } else {
                    functions.append(nil)
                    commands.append(try words.map(argument))
                }
            }
            return Pipeline(commands: commands, functions: functions)
        }

        enum Token {
            case word(String)
            case quoted(String)
            /// `(…)`, with the field chain written right after the `)`, if any.
            case group(String, fields: [String])
        }

        static func argument(_ token: Token, variables: [String]) throws -> Argument {
            switch token {
            case .quoted(let text): return .string(text)
            case .group(let inner, let fields): return .pipeline(try parsePipeline(inner, variables: variables), fields: fields)
            case .word(let word):
                if word.hasPrefix("$") {
                    let parts = word.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                    guard variables.contains(parts[0]) else {
                        throw GeneralError("template parsing error: undefined variable \"\(parts[0])\"")
                    }
                    return .variable(parts[0], Array(parts.dropFirst()))
                }
                if word == "." { return .field([]) }
                if word.hasPrefix(".") { return .field(word.dropFirst().split(separator: ".").map(String.init)) }
                if let number = Int64(word) { return .number(number) }
                throw GeneralError("template parsing error: unexpected \"\(word)\" in command")
            }
        }

        static func splitOutside(_ text: String, separator: Character) throws -> [String] {
            var parts: [String] = []
            var current = ""
            var depth = 0
            var inString = false
            for character in text {
                if character == "\"" { inString.toggle() }
                if !inString {
                    if character == "(" { depth += 1 }
                    if character == ")" { depth -= 1 }
                    if character == separator && depth == 0 {
                        parts.append(current)
                        current = ""
                        continue
                    }
                }
                current.append(character)
            }
            parts.append(current)
            return parts
        }

        static func tokenize(_ text: String) throws -> [Token] {
            var tokens: [Token] = []
            let characters = Array(text)
            var index = 0
            while index < characters.count {
                let character = characters[index]
                if character == " " || character == "\t" {
                    index += 1
                } else if character == "\"" {
                    var value = ""
                    index += 1
                    while index < characters.count, characters[index] != "\"" {
                        if characters[index] == "\\", index + 1 < characters.count {
                            index += 1
                            switch characters[index] {
                            case "n": value.append("\n")
                            case "t": value.append("\t")
                            default: value.append(characters[index])
                            }
                        } else {
                            value.append(characters[index])
                        }
                        index += 1
                    }
                    guard index < characters.count else {
                        throw GeneralError("template parsing error: unterminated quoted string")
                    }
                    index += 1
                    tokens.append(.quoted(value))
                } else if character == "(" {
                    var depth = 1
                    var inner = ""
                    index += 1
                    while index < characters.count {
                        if characters[index] == "(" { depth += 1 }
                        if characters[index] == ")" {
                            depth -= 1
                            if depth == 0 { break }
                        }
                        inner.append(characters[index])
                        index += 1
                    }
                    guard index < characters.count else {
                        throw GeneralError("template parsing error: unclosed left paren")
                    }
                    index += 1
                    // Go allows a field chain on a parenthesized pipeline: `(index .Ports 0).HostPort`.
                    var chain = ""
                    while index < characters.count, characters[index] != " ", characters[index] != "\t" {
                        chain.append(characters[index])
                        index += 1
                    }
                    guard chain.isEmpty || chain.hasPrefix(".") else {
                        throw GeneralError("template parsing error: unexpected \"\(chain)\" after a parenthesized pipeline")
                    }
                    let fields = chain.split(separator: ".", omittingEmptySubsequences: false).dropFirst().map(String.init)
                    guard !fields.contains(where: \.isEmpty) else {
                        throw GeneralError("template parsing error: invalid field chain \"\(chain)\"")
                    }
                    tokens.append(.group(inner, fields: fields))
                } else {
                    var word = ""
                    while index < characters.count, characters[index] != " ", characters[index] != "\t" {
                        word.append(characters[index])
                        index += 1
                    }
                    tokens.append(.word(word))
                }
            }
            return tokens
        }
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines.
    func trimmingCharacters() -> String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" || first == "\n" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\n" { text = text.dropLast() }
        return String(text)
    }
}
