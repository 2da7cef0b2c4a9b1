/// A path as the kernel sees it: bytes without NUL, not necessarily UTF-8.
///
/// Linux file names are bytes, and layers carry names that are not valid UTF-8. Keeping the bytes
/// means such a name is written, found and removed exactly, where a `String` would replace the
/// invalid bytes and name another file.
public struct FilePath: Sendable, Hashable, Comparable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The path's bytes, never containing NUL.
    public private(set) var bytes: [UInt8]

    /// A path from a string; a NUL in `string` makes every system call on the path fail with EINVAL.
    public init(_ string: String) {
        bytes = Array(string.utf8)
    }

    public init(stringLiteral value: String) {
        self.init(value)
    }

    public init(bytes: some Sequence<UInt8>) {
        self.bytes = Array(bytes)
    }

    /// The path as a string, or nil when it is not valid UTF-8.
    public var string: String? {
        String(validating: bytes, as: UTF8.self)
    }

    /// The path for messages: valid UTF-8 as is, other bytes as `\xNN`, control characters escaped.
    public var description: String {
        var result = ""
        var index = 0
        while index < bytes.count {
            let length = Self.validSequenceLength(bytes, at: index)
            if length > 0, let scalarText = String(validating: bytes[index..<index + length], as: UTF8.self) {
                for scalar in scalarText.unicodeScalars {
                    if scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value) {
                        result += Self.hexEscape(UInt8(truncatingIfNeeded: scalar.value))
                    } else if scalar == "\\" {
                        result += "\\\\"
                    } else {
                        result.unicodeScalars.append(scalar)
                    }
                }
                index += length
            } else {
                result += Self.hexEscape(bytes[index])
                index += 1
            }
        }
        return result
    }

    public var isEmpty: Bool { bytes.isEmpty }
    public var isAbsolute: Bool { bytes.first == UInt8(ascii: "/") }
    public var containsNUL: Bool { bytes.contains(0) }

    /// The components between slashes, without empty ones and without `.`; `..` is kept.
    public var components: [FilePath] {
        bytes.split(separator: UInt8(ascii: "/")).compactMap { component in
            component.count == 1 && component.first == UInt8(ascii: ".") ? nil : FilePath(bytes: component)
        }
    }

    public var isDotDot: Bool { bytes == [UInt8(ascii: "."), UInt8(ascii: ".")] }

    /// The last component, or nil for a path without components (`/`, `.`, empty).
    public var lastComponent: FilePath? { components.last }

    public func appending(_ component: FilePath) -> FilePath {
        guard !bytes.isEmpty else { return component }
        if bytes.last == UInt8(ascii: "/") { return FilePath(bytes: bytes + component.bytes) }
        return FilePath(bytes: bytes + [UInt8(ascii: "/")] + component.bytes)
    }

    public func appending(_ component: String) -> FilePath {
        appending(FilePath(component))
    }

    /// Joins components with `/`, without a leading slash.
    public static func joining(_ components: some Sequence<FilePath>) -> FilePath {
        var bytes: [UInt8] = []
        for component in components {
            if !bytes.isEmpty { bytes.append(UInt8(ascii: "/")) }
            bytes.append(contentsOf: component.bytes)
        }
        return FilePath(bytes: bytes)
    }

    /// Byte order, which is how kiln sorts layer entries so that layers are reproducible.
    public static func < (lhs: FilePath, rhs: FilePath) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    /// Calls `body` with the path as a NUL-terminated C string.
    public func withCString<Result>(_ body: (UnsafePointer<CChar>) throws -> Result) rethrows -> Result {
        var terminated = bytes
        terminated.append(0)
        return try terminated.withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { chars in
                // A non-empty array always has a base address.
                guard let base = chars.baseAddress else { preconditionFailure("empty C string buffer") }
                return try body(base)
            }
        }
    }

    private static func hexEscape(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return "\\x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0F)])
    }

    /// The length of the valid UTF-8 sequence starting at `index`, or 0 when it is invalid.
    private static func validSequenceLength(_ bytes: [UInt8], at index: Int) -> Int {
        let lead = bytes[index]
        let length: Int
        switch lead {
        case 0x00..<0x80: return 1
        case 0xC2..<0xE0: length = 2
        case 0xE0..<0xF0: length = 3
        case 0xF0..<0xF5: length = 4
        default: return 0
        }
        guard index + length <= bytes.count else { return 0 }
        for offset in 1..<length where bytes[index + offset] & 0xC0 != 0x80 { return 0 }
        return length
    }
}
