/// The flags and positional arguments of one command line, read through the command's own flag
/// declarations: `arguments[Build.tag]` is a `[String]`, `arguments[Build.noCache]` a `Bool`.
public struct ParsedArguments: Sendable {
    /// The command's path as typed, such as `["image", "ls"]`, for messages.
    public var commandPath: [String]
    public var positionals: [String]
    /// Every value given for each flag, by long name, in command-line order.
    var values: [String: [String]]

    public init(commandPath: [String], positionals: [String] = [], values: [String: [String]] = [:]) {
        self.commandPath = commandPath
        self.positionals = positionals
        self.values = values
    }

    public subscript(flag: BoolFlag) -> Bool {
        // The parser has already checked that each value is a valid boolean.
        guard let last = values[flag.spec.long]?.last else { return false }
        return parseBool(last) ?? false
    }

    public subscript(flag: ValueFlag) -> String? {
        values[flag.spec.long]?.last
    }

    public subscript(flag: ListFlag) -> [String] {
        values[flag.spec.long] ?? []
    }

    /// Whether the flag appeared on the command line at all, even as `--rm=false`.
    public func wasGiven(_ spec: FlagSpec) -> Bool {
        values[spec.long] != nil
    }

    /// `kiln image ls`, for messages.
    public var commandName: String {
        (["kiln"] + commandPath).joined(separator: " ")
    }
}

/// Booleans as Go's strconv.ParseBool reads them, which is what Docker accepts for `--rm=false`.
func parseBool(_ text: String) -> Bool? {
    switch text {
    case "1", "t", "T", "true", "TRUE", "True": true
    case "0", "f", "F", "false", "FALSE", "False": false
    default: nil
    }
}
