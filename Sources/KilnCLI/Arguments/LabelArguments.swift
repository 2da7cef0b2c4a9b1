import Foundation

/// `--label` values as the Docker CLI reads them: `KEY=VALUE`, or `KEY` alone for an empty value.
///
/// As in Docker's `ValidateLabel`, a key that is empty or contains a space or tab, after
/// surrounding whitespace is trimmed, is an error. A later value of the same key wins.
enum LabelArguments {
    static func parse(_ values: [String], flag: String = "--label", command: String) throws -> [String: String] {
        var labels: [String: String] = [:]
        for value in values {
            let parts = value.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            let key = parts[0]
            let trimmed = key.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty {
                throw UsageError(
                    command: command,
                    reason: .invalidValue(flag: flag, value: value, reason: "the label name is empty (expected KEY=VALUE or KEY)"))
            }
            if trimmed.contains(where: { $0 == " " || $0 == "\t" }) {
                throw UsageError(
                    command: command,
                    reason: .invalidValue(flag: flag, value: value, reason: "the label name \"\(trimmed)\" contains whitespace"))
            }
            labels[key] = parts.count > 1 ? parts[1] : ""
        }
        return labels
    }
}
