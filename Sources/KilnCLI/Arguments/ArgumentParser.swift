import KilnDiagnostics

/// What a command line asks for once the command tree has been walked.
public enum ParsedCommandLine: Sendable {
    /// Run `spec.run` with these arguments.
    case run(CommandSpec, ParsedArguments)
    /// Print the help of the command at `path` (empty for `kiln` itself).
    case help(path: [String])
    case version
}

/// Parses command lines the way the Docker CLI (Go's pflag) does, from `CommandSpec` declarations.
///
/// Supported forms: `--tag=a`, `--tag a`, `-t a`, `-ta`, `-t=a`, repeated list flags, combined short
/// flags (`-it`, `-itd`, `-dp 80:80`), `--rm=false`, `-` as a positional argument (standard input),
/// and `--` to end flags. A value flag takes the next argument even when it starts with a dash, so
/// `-f -` reads the Dockerfile from standard input.
public struct ArgumentParser: Sendable {
    /// The top-level `kiln` group: its flags are the global options, its subcommands the commands.
    public var root: CommandSpec

    public init(root: CommandSpec) {
        self.root = root
    }

    static let helpFlag = FlagSpec(long: "help", short: "h", kind: .bool, placeholder: "", help: "Print usage")

    /// Parses `arguments` (without the program name). Global flags are returned in `globals`.
    public func parse(_ arguments: [String]) throws -> (command: ParsedCommandLine, globals: ParsedArguments) {
        var remaining = arguments[...]
        let globalScan = try scanFlags(&remaining, flags: root.flags, interspersed: false, commandName: "kiln")
        let globals = ParsedArguments(commandPath: [], values: globalScan.values)
        remaining = ArraySlice(globalScan.positionals)
        if globalScan.helpRequested {
            return (.help(path: []), globals)
        }
        if globals.values["version"] != nil, parseBool(globals.values["version"]?.last ?? "") == true {
            return (.version, globals)
        }

        var spec = root
        var path: [String] = []
        while !spec.subcommands.isEmpty {
            guard let name = remaining.first else {
                return (.help(path: path), globals)
            }
            if name == "--help" || name == "-h" {
                return (.help(path: path), globals)
            }
            guard let child = spec.subcommand(named: name) else {
                let names = spec.subcommands.filter { !$0.hidden }.flatMap { [$0.name] + $0.aliases }
                let command = (["kiln"] + path).joined(separator: " ")
                throw UsageError(
                    command: command,
                    reason: .unknownCommand(name, suggestion: Suggestion.nearest(to: name, among: names)))
            }
            remaining.removeFirst()
            path.append(name)
            spec = child
        }

        let commandName = (["kiln"] + path).joined(separator: " ")
        var scan = remaining
        let result = try scanFlags(&scan, flags: spec.flags, interspersed: spec.interspersed, commandName: commandName)
        if result.helpRequested {
            return (.help(path: path), globals)
        }
        guard spec.arity.allows(result.positionals.count) else {
            throw UsageError(
                command: commandName,
                reason: .wrongArgumentCount(expected: spec.arity.phrase, got: result.positionals.count))
        }
        let parsed = ParsedArguments(commandPath: path, positionals: result.positionals, values: result.values)
        return (.run(spec, parsed), globals)
    }

    struct ScanResult {
        var values: [String: [String]] = [:]
        var positionals: [String] = []
        var helpRequested = false
    }

    /// Reads flags from the front of `arguments`. When `interspersed` is false, the first positional
    /// argument stops the scan and everything from it on is left in `positionals`.
    func scanFlags(
        _ arguments: inout ArraySlice<String>,
        flags: [FlagSpec],
        interspersed: Bool,
        commandName: String
    ) throws -> ScanResult {
        var result = ScanResult()
        // Linear searches, because a command has about 50 flags. Dictionaries keyed by the long
        // and short names cost 0.5 million instructions of Swift's first-use type lookups.
        func longFlag(_ name: String) -> FlagSpec? { flags.first { $0.long == name } }
        func shortFlag(_ letter: Character) -> FlagSpec? { flags.first { $0.short == letter } }

        func usage(_ reason: UsageError.Reason) -> UsageError {
            UsageError(command: commandName, reason: reason)
        }

        func record(_ flag: FlagSpec, _ value: String, shown name: String) throws {
            if flag.kind == .bool, parseBool(value) == nil {
                throw usage(.invalidBool(flag: name, value: value))
            }
            result.values[flag.long, default: []].append(value)
        }

        while let argument = arguments.first {
            arguments.removeFirst()

            if argument == "--" {
                result.positionals.append(contentsOf: arguments)
                arguments.removeAll()
                break
            }

            if argument.hasPrefix("--") {
                let body = argument.dropFirst(2)
                let name: String
                let inlineValue: String?
                if let equals = body.firstIndex(of: "=") {
                    name = String(body[..<equals])
                    inlineValue = String(body[body.index(after: equals)...])
                } else {
                    name = String(body)
                    inlineValue = nil
                }
                guard let flag = longFlag(name) else {
                    if name == "help" {
                        result.helpRequested = true
                        continue
                    }
                    let candidates = flags.filter { !$0.hidden }.map { "--\($0.long)" }
                    throw usage(
                        .unknownFlag("--\(name)", suggestion: Suggestion.nearest(to: "--\(name)", among: candidates)))
                }
                switch flag.kind {
                case .bool:
                    try record(flag, inlineValue ?? "true", shown: "--\(name)")
                case .value, .list:
                    if let inlineValue {
                        try record(flag, inlineValue, shown: "--\(name)")
                    } else if let next = arguments.first {
                        arguments.removeFirst()
                        try record(flag, next, shown: "--\(name)")
                    } else {
                        throw usage(.missingValue(flag: "--\(name)"))
                    }
                }
                continue
            }

            if argument.hasPrefix("-"), argument.count > 1 {
                let letters = Array(argument.dropFirst())
                var index = 0
                while index < letters.count {
                    let letter = letters[index]
                    guard let flag = shortFlag(letter) else {
                        if letter == "h" {
                            result.helpRequested = true
                            index += 1
                            continue
                        }
                        throw usage(.unknownShorthand(letter, in: argument))
                    }
                    let rest = String(letters[(index + 1)...])
                    switch flag.kind {
                    case .bool:
                        if rest.hasPrefix("=") {
                            try record(flag, String(rest.dropFirst()), shown: "-\(letter)")
                            index = letters.count
                        } else {
                            try record(flag, "true", shown: "-\(letter)")
                            index += 1
                        }
                    case .value, .list:
                        if !rest.isEmpty {
                            try record(flag, rest.hasPrefix("=") ? String(rest.dropFirst()) : rest, shown: "-\(letter)")
                        } else if let next = arguments.first {
                            arguments.removeFirst()
                            try record(flag, next, shown: "-\(letter)")
                        } else {
                            throw usage(.missingValue(flag: "-\(letter)"))
                        }
                        index = letters.count
                    }
                }
                continue
            }

            result.positionals.append(argument)
            if !interspersed {
                result.positionals.append(contentsOf: arguments)
                arguments.removeAll()
                break
            }
        }
        return result
    }
}
