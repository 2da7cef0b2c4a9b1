/// One challenge of a `WWW-Authenticate` header: a scheme and its parameters.
///
///     Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a:pull"
public struct AuthChallenge: Sendable, Hashable {
    /// The scheme, lower-cased: `basic` or `bearer`.
    public var scheme: String
    /// Parameters by lower-cased name.
    public var parameters: [String: String]

    /// Parses every challenge of a header value (RFC 7235 section 4.1: comma-separated
    /// challenges, each a scheme and `name=value` or `name="quoted value"` parameters).
    ///
    /// - Throws: `RegistryError.invalidChallenge` with what is malformed.
    public static func parse(_ header: String, registry: String) throws -> [AuthChallenge] {
        var scanner = Scanner(Array(header.utf8))
        var challenges: [AuthChallenge] = []
        while true {
            scanner.skip { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: ",") }
            guard !scanner.isAtEnd else { break }
            let scheme = scanner.token()
            guard !scheme.isEmpty else {
                throw RegistryError.invalidChallenge(registry: registry, reason: "expected a scheme at byte \(scanner.position)")
            }
            var challenge = AuthChallenge(scheme: scheme.lowercased(), parameters: [:])
            while true {
                let mark = scanner.position
                scanner.skip { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: ",") }
                let name = scanner.token()
                scanner.skip { $0 == UInt8(ascii: " ") }
                guard !name.isEmpty, scanner.peek == UInt8(ascii: "=") else {
                    // The next challenge's scheme, or the end.
                    scanner.position = mark
                    break
                }
                scanner.advance()
                scanner.skip { $0 == UInt8(ascii: " ") }
                let value: String
                if scanner.peek == UInt8(ascii: "\"") {
                    guard let quoted = scanner.quotedString() else {
                        throw RegistryError.invalidChallenge(registry: registry, reason: "unterminated quoted value for \(name)")
                    }
                    value = quoted
                } else {
                    value = scanner.token()
                }
                challenge.parameters[name.lowercased()] = value
                if scanner.isAtEnd { break }
            }
            challenges.append(challenge)
        }
        return challenges
    }

    private struct Scanner {
        let bytes: [UInt8]
        var position = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var isAtEnd: Bool { position >= bytes.count }
        var peek: UInt8? { isAtEnd ? nil : bytes[position] }
        mutating func advance() { position += 1 }

        mutating func skip(while predicate: (UInt8) -> Bool) {
            while let byte = peek, predicate(byte) { position += 1 }
        }

        /// An RFC 7230 token: visible characters other than separators.
        mutating func token() -> String {
            let start = position
            while let byte = peek, byte > 0x20, byte < 0x7F, !"\"(),/:;<=>?@[\\]{}".utf8.contains(byte) || byte == UInt8(ascii: "/") {
                position += 1
            }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }

        mutating func quotedString() -> String? {
            advance()
            var value: [UInt8] = []
            while let byte = peek {
                advance()
                if byte == UInt8(ascii: "\"") { return String(decoding: value, as: UTF8.self) }
                if byte == UInt8(ascii: "\\"), let next = peek {
                    advance()
                    value.append(next)
                } else {
                    value.append(byte)
                }
            }
            return nil
        }
    }
}
