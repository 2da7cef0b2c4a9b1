import KilnImage

/// The checks on what tag hooks return: a bare tag, or a full image reference.
enum ReferenceSyntax {
    /// Checks a tag by the distribution grammar: a letter, digit or `_`, then up to 127 letters,
    /// digits, `_`, `.` and `-`.
    static func isValidTag(_ tag: Substring) -> Bool {
        guard let first = tag.utf8.first, tag.utf8.count <= 128 else { return false }
        guard isAlphanumeric(first) || first == UInt8(ascii: "_") else { return false }
        return tag.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// Checks a bare tag (`1.2.3`) or a full reference (`registry:5000/team/app:1.2.3`).
    static func isValidTagOrReference(_ text: String) -> Bool {
        if !text.contains("/"), !text.contains(":"), !text.contains("@") { return isValidTag(Substring(text)) }
        return (try? Reference(parsing: text)) != nil
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A)
    }
}
