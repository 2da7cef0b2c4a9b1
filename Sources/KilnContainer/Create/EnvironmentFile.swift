/// `--env-file`: one variable per line, read the way the Docker CLI reads it.
///
/// Leading whitespace is dropped, and empty lines and lines starting with `#` are skipped.
/// `KEY=VALUE` is taken literally, quotes included. A line with only `KEY` copies the value
/// from kiln's environment, and is dropped when kiln's environment does not have it.
public enum EnvironmentFile {
    public static func parse(_ text: String, path: String, environment: [String: String]) throws -> [String] {
        var entries: [String] = []
        for (index, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            while let first = line.first, first == " " || first == "\t" { line = line.dropFirst() }
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let key = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            guard !key.isEmpty else {
                throw ContainerError(.invalidOption(flag: "--env-file", value: "\(path):\(index + 1)", reason: "no variable name before '='"))
            }
            guard !key.contains(where: { $0 == " " || $0 == "\t" }) else {
                throw ContainerError(
                    .invalidOption(flag: "--env-file", value: "\(path):\(index + 1)", reason: "variable '\(key)' contains whitespaces"))
            }
            if line.contains("=") {
                entries.append(String(line))
            } else if let value = environment[String(key)] {
                entries.append("\(key)=\(value)")
            }
        }
        return entries
    }
}
