import KilnDiagnostics

extension GoTemplate {
    /// Reads a template into nodes. Offsets are counted in Unicode scalars of the source, so that
    /// execution errors can name a line and column as Go's templates do.
    struct Parser {
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
                    let bodyStart = index
                    let body = try readActionBody()
                    let words = body.trimmingCharacters()
                    let leadingSpaces = body.unicodeScalars.prefix { $0 == " " || $0 == "\t" || $0 == "\n" }.count
                    let wordsStart = bodyStart + leadingSpaces
                    if keywords.contains(words) { return words }
                    if words.hasPrefix("if ") || words.hasPrefix("range ") {
                        let keyword = words.hasPrefix("if ") ? "if" : "range"
                        let depth = variables.count
                        defer { variables.removeLast(variables.count - depth) }
                        let pipeline = try parsePipeline(
                            String(words.dropFirst(keyword.count + 1)), context: keyword,
                            offset: wordsStart + keyword.count + 1)
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
                    nodes.append(.action(try parsePipeline(words, context: "command", offset: wordsStart)))
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
        /// it declares into scope. `context` is `command`, `if` or `range`, as Go's messages name
        /// it, and `offset` is where `text` starts in the source.
        mutating func parsePipeline(_ text: String, context: String, offset: Int) throws -> Pipeline {
            guard let (declaration, rest, restOffset) = try Self.splitDeclaration(text, context: context) else {
                return try Self.parsePipeline(text, variables: variables, offset: offset)
            }
            if declaration.isAssignment {
                for name in declaration.names where !variables.contains(name) {
                    throw GeneralError("template parsing error: undefined variable \"\(name)\"")
                }
            }
            var pipeline = try Self.parsePipeline(rest, variables: variables, offset: offset + restOffset)
            pipeline.declaration = declaration
            if !declaration.isAssignment { variables += declaration.names }
            return pipeline
        }

        /// Splits `$x := rest`, `$x = rest` or, in a range, `$i, $e := rest` into the declaration,
        /// the rest and the rest's offset in `text`. Returns nil when the text does not start
        /// with a declaration.
        static func splitDeclaration(_ text: String, context: String) throws -> (Declaration, String, Int)? {
            let scalars = Array(text.unicodeScalars)
            var index = 0
            func skipSpaces() {
                while index < scalars.count, scalars[index] == " " || scalars[index] == "\t" { index += 1 }
            }
            func readVariable() -> String? {
                guard index < scalars.count, scalars[index] == "$" else { return nil }
                var name = "$"
                index += 1
                while index < scalars.count,
                    scalars[index].properties.isAlphabetic || scalars[index].properties.numericType != nil
                        || scalars[index] == "_"
                {
                    name.unicodeScalars.append(scalars[index])
                    index += 1
                }
                return name
            }

            skipSpaces()
            guard let first = readVariable() else { return nil }
            var names = [first]
            skipSpaces()
            if index < scalars.count, scalars[index] == "," {
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
            if index + 1 < scalars.count, scalars[index] == ":", scalars[index + 1] == "=" {
                isAssignment = false
                index += 2
            } else if index < scalars.count, scalars[index] == "=" {
                isAssignment = true
                index += 1
            } else if names.count > 1 {
                throw GeneralError("template parsing error: expected := or = after \(names.joined(separator: ", ")) in range")
            } else {
                return nil
            }
            var rest = ""
            rest.unicodeScalars.append(contentsOf: scalars[index...])
            return (Declaration(names: names, isAssignment: isAssignment), rest, index)
        }

        /// Parses commands joined by `|`. `variables` are the names an argument may use, and
        /// `offset` is where `text` starts in the source.
        static func parsePipeline(_ text: String, variables: [String], offset: Int) throws -> Pipeline {
            var commands: [[Argument]] = []
            var functions: [String?] = []
            let argument = { (token: Token) in try Self.argument(token, variables: variables) }
            for (part, partOffset) in try splitOutside(text, separator: "|") {
                let words = try tokenize(part, offset: offset + partOffset)
                guard let first = words.first else {
                    throw GeneralError("template parsing error: missing value for command", hint: nil)
                }
                if case .word(let name, _) = first, !name.hasPrefix("."), !name.hasPrefix("$"), Int64(name) == nil {
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
            /// A word and the offset of its first scalar in the source.
            case word(String, offset: Int)
            case quoted(String)
            /// `(…)` with the offset of its inner text, and the field chain written right after
            /// the `)`, if any, with the chain's offset.
            case group(String, offset: Int, fields: [String], fieldsOffset: Int)
        }

        static func argument(_ token: Token, variables: [String]) throws -> Argument {
            switch token {
            case .quoted(let text):
                return .string(text)
            case .group(let inner, let offset, let fields, let fieldsOffset):
                let text = "(" + inner + ")" + fields.map { "." + $0 }.joined()
                return .pipeline(
                    try parsePipeline(inner, variables: variables, offset: offset), fields: fields,
                    Location(offset: fieldsOffset, text: text))
            case .word(let word, let offset):
                if word.hasPrefix("$") {
                    let parts = word.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                    guard variables.contains(parts[0]) else {
                        throw GeneralError("template parsing error: undefined variable \"\(parts[0])\"")
                    }
                    // Go places a chain's node at its first field after the variable.
                    let chainOffset = parts.count > 1 ? offset + parts[0].unicodeScalars.count : offset
                    return .variable(parts[0], Array(parts.dropFirst()), Location(offset: chainOffset, text: word))
                }
                if word == "." { return .field([], Location(offset: offset, text: word)) }
                if word.hasPrefix(".") {
                    let path = word.dropFirst().split(separator: ".").map(String.init)
                    // Go places a chain of fields at its second field: `.Config.Nope` at `.Nope`.
                    let chainOffset = path.count > 1 ? offset + 1 + path[0].unicodeScalars.count : offset
                    return .field(path, Location(offset: chainOffset, text: word))
                }
                if let number = Int64(word) { return .number(number) }
                throw GeneralError("template parsing error: unexpected \"\(word)\" in command")
            }
        }

        /// Splits `text` at `separator` outside strings and parentheses, with each part's offset
        /// in `text`.
        static func splitOutside(_ text: String, separator: Unicode.Scalar) throws -> [(String, Int)] {
            var parts: [(String, Int)] = []
            var current = ""
            var currentStart = 0
            var depth = 0
            var inString = false
            for (index, scalar) in text.unicodeScalars.enumerated() {
                if scalar == "\"" { inString.toggle() }
                if !inString {
                    if scalar == "(" { depth += 1 }
                    if scalar == ")" { depth -= 1 }
                    if scalar == separator && depth == 0 {
                        parts.append((current, currentStart))
                        current = ""
                        currentStart = index + 1
                        continue
                    }
                }
                current.unicodeScalars.append(scalar)
            }
            parts.append((current, currentStart))
            return parts
        }

        /// Splits a command into words, strings and groups; `offset` is where `text` starts in
        /// the source.
        static func tokenize(_ text: String, offset: Int) throws -> [Token] {
            var tokens: [Token] = []
            let scalars = Array(text.unicodeScalars)
            var index = 0
            func isSpace(_ scalar: Unicode.Scalar) -> Bool { scalar == " " || scalar == "\t" }
            while index < scalars.count {
                let scalar = scalars[index]
                if isSpace(scalar) {
                    index += 1
                } else if scalar == "\"" {
                    var value = ""
                    index += 1
                    while index < scalars.count, scalars[index] != "\"" {
                        if scalars[index] == "\\", index + 1 < scalars.count {
                            index += 1
                            switch scalars[index] {
                            case "n": value.unicodeScalars.append("\n")
                            case "t": value.unicodeScalars.append("\t")
                            default: value.unicodeScalars.append(scalars[index])
                            }
                        } else {
                            value.unicodeScalars.append(scalars[index])
                        }
                        index += 1
                    }
                    guard index < scalars.count else {
                        throw GeneralError("template parsing error: unterminated quoted string")
                    }
                    index += 1
                    tokens.append(.quoted(value))
                } else if scalar == "(" {
                    var depth = 1
                    var inner = ""
                    index += 1
                    let innerStart = index
                    while index < scalars.count {
                        if scalars[index] == "(" { depth += 1 }
                        if scalars[index] == ")" {
                            depth -= 1
                            if depth == 0 { break }
                        }
                        inner.unicodeScalars.append(scalars[index])
                        index += 1
                    }
                    guard index < scalars.count else {
                        throw GeneralError("template parsing error: unclosed left paren")
                    }
                    index += 1
                    // Go allows a field chain on a parenthesized pipeline: `(index .Ports 0).HostPort`.
                    let chainStart = index
                    var chain = ""
                    while index < scalars.count, !isSpace(scalars[index]) {
                        chain.unicodeScalars.append(scalars[index])
                        index += 1
                    }
                    guard chain.isEmpty || chain.hasPrefix(".") else {
                        throw GeneralError("template parsing error: unexpected \"\(chain)\" after a parenthesized pipeline")
                    }
                    let fields = chain.split(separator: ".", omittingEmptySubsequences: false).dropFirst().map(String.init)
                    guard !fields.contains(where: \.isEmpty) else {
                        throw GeneralError("template parsing error: invalid field chain \"\(chain)\"")
                    }
                    tokens.append(.group(inner, offset: offset + innerStart, fields: fields, fieldsOffset: offset + chainStart))
                } else {
                    let start = index
                    var word = ""
                    while index < scalars.count, !isSpace(scalars[index]) {
                        word.unicodeScalars.append(scalars[index])
                        index += 1
                    }
                    tokens.append(.word(word, offset: offset + start))
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
