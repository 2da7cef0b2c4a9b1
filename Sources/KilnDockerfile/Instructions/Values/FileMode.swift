/// A `--chmod` value: octal (`0755`) or symbolic (`u=rwx,go=rx`), as current BuildKit accepts.
public enum FileMode: Sendable, Hashable, Codable {
    case octal(UInt32)
    /// Comma-separated clauses like chmod(1)'s: `[ugoa]*` then one or more `[-+=]` each followed
    /// by `[rwxXst]*` or one of `u`, `g`, `o`.
    case symbolic(String)

    /// The largest octal mode: the setuid, setgid and sticky bits and the permission bits.
    /// BuildKit rejects anything above it, where chmod(2) would drop the extra bits silently.
    public static let maximumOctal: UInt32 = 0o7777

    /// Parses an octal mode up to `maximumOctal` or a symbolic mode; nil for anything else.
    public init?(parsing text: String) {
        if Self.isOctalDigits(text) {
            guard let value = UInt32(text, radix: 8), value <= Self.maximumOctal else { return nil }
            self = .octal(value)
            return
        }
        guard Self.isSymbolic(text) else { return nil }
        self = .symbolic(text)
    }

    /// Checks whether `text` is one or more digits 0 to 7, without a sign.
    public static func isOctalDigits(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }
    }

    private static func isSymbolic(_ text: String) -> Bool {
        guard !text.isEmpty else { return false }
        for clause in text.split(separator: ",", omittingEmptySubsequences: false) {
            var characters = clause[...]
            while let first = characters.first, "ugoa".contains(first) { characters = characters.dropFirst() }
            guard let first = characters.first, "-+=".contains(first) else { return false }
            while let operation = characters.first, "-+=".contains(operation) {
                characters = characters.dropFirst()
                if let who = characters.first, "ugo".contains(who) {
                    characters = characters.dropFirst()
                    continue
                }
                while let permission = characters.first, "rwxXst".contains(permission) { characters = characters.dropFirst() }
            }
            guard characters.isEmpty else { return false }
        }
        return true
    }

    private enum CodingKeys: String, CodingKey {
        case octal
        case symbolic
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let text = try container.decodeIfPresent(String.self, forKey: .octal), let value = UInt32(text, radix: 8) {
            self = .octal(value)
        } else {
            self = .symbolic(try container.decode(String.self, forKey: .symbolic))
        }
    }

    /// Octal modes encode as an octal string (`"755"`), which reads better than a decimal number.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .octal(let value): try container.encode(String(value, radix: 8), forKey: .octal)
        case .symbolic(let text): try container.encode(text, forKey: .symbolic)
        }
    }
}
