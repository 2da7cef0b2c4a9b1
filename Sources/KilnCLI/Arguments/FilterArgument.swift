/// One `--filter key=value` of `ps`, `container prune`, `volume ls` and `volume prune`, split and
/// checked as the Docker CLI does before any command looks at the key.
enum FilterArgument {
    /// Splits `value` at its first `=`. A filter without `=`, or with an empty key, is a usage
    /// error; so is a `label` or `label!` filter that names no label.
    static func split(_ value: String, command: String) throws -> (key: String, argument: String) {
        guard let equals = value.firstIndex(of: "="), equals != value.startIndex else {
            throw UsageError(
                command: command,
                reason: .invalidValue(flag: "--filter", value: value, reason: "bad format of filter (expected name=value)"))
        }
        let key = value[..<equals].lowercased()
        let argument = String(value[value.index(after: equals)...])
        if key == "label" || key == "label!", argument.isEmpty || argument.hasPrefix("=") {
            throw UsageError(
                command: command,
                reason: .invalidValue(
                    flag: "--filter", value: value, reason: "the label name is empty; write label=KEY or label=KEY=VALUE"))
        }
        return (key, argument)
    }

    /// Checks the values given for one key: every `label` and `label!` condition must hold, as
    /// in Docker, and the values of any other key are alternatives.
    static func matches(key: String, values: [String], _ matchesValue: (String) -> Bool) -> Bool {
        key.hasPrefix("label") ? values.allSatisfy(matchesValue) : values.contains(where: matchesValue)
    }
}
