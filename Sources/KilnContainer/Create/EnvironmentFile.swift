/// `--env-file`: one variable per line, read the way the Docker CLI reads it.
///
/// Leading whitespace is dropped, and empty lines and lines starting with `#` are skipped.
/// `KEY=VALUE` is taken literally, quotes included. A line with only `KEY` copies the value
/// from kiln's environment, and is dropped when kiln's environment does not have it.
public enum EnvironmentFile {
    /// Parses the bytes of an env file, which must be UTF-8, as Docker's CLI requires. The error
    /// for the first invalid line gives its number, the byte and its column.
    public static func parse(bytes: [UInt8], path: String, environment: [String: String]) throws -> [String] {
        for (index, line) in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            guard let offset = invalidUTF8Offset(line) else { continue }
            let byte = line[line.startIndex + offset]
            throw ContainerError(
                .invalidOption(
                    flag: "--env-file", value: "\(path):\(index + 1)",
                    reason: "invalid UTF-8: byte 0x\(String(byte, radix: 16, uppercase: true)) at column \(offset + 1); save the file as UTF-8"))
        }
        return try parse(String(decoding: bytes, as: UTF8.self), path: path, environment: environment)
    }

    /// Returns the offset of the first invalid UTF-8 sequence in `line`, or nil when the whole
    /// line is valid.
    static func invalidUTF8Offset(_ line: ArraySlice<UInt8>) -> Int? {
        var iterator = line.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                offset += UTF8.width(scalar)
            case .emptyInput:
                return nil
            case .error:
                return offset
            }
        }
    }

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
