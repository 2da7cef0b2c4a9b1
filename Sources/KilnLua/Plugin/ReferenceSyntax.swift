/// The image reference grammar, for checking what tag hooks return.
///
/// TODO: use KilnImage's reference parser once it exists; until then this follows the
/// distribution grammar: `[HOST[:PORT]/]NAME[:TAG][@DIGEST]` with lower-case path components.
enum ReferenceSyntax {
    static func isValidTag(_ tag: Substring) -> Bool {
        guard let first = tag.utf8.first, tag.utf8.count <= 128 else { return false }
        guard isAlphanumeric(first) || first == UInt8(ascii: "_") else { return false }
        return tag.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// Checks a bare tag (`1.2.3`) or a full reference (`registry:5000/team/app:1.2.3`).
    static func isValidTagOrReference(_ text: String) -> Bool {
        if !text.contains("/"), !text.contains(":"), !text.contains("@") { return isValidTag(Substring(text)) || isValidName(text) }
        var rest = Substring(text)
        if let at = rest.firstIndex(of: "@") {
            let digest = rest[rest.index(after: at)...]
            guard digest.hasPrefix("sha256:"), digest.count == 71 else { return false }
            rest = rest[..<at]
        }
        let lastSlash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            guard isValidTag(rest[rest.index(after: colon)...]) else { return false }
            rest = rest[..<colon]
        }
        return isValidName(String(rest))
    }

    private static func isValidName(_ name: String) -> Bool {
        var components = name.split(separator: "/", omittingEmptySubsequences: false)
        guard !components.isEmpty, name.utf8.count <= 255 else { return false }
        if components.count > 1, let host = components.first, host.contains(".") || host.contains(":") || host == "localhost" {
            guard isValidHost(host) else { return false }
            components.removeFirst()
        }
        return components.allSatisfy(isValidPathComponent)
    }

    /// `host[:port]`, the host made of dot-separated labels of letters, digits and inner hyphens.
    private static func isValidHost(_ text: Substring) -> Bool {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let host = parts.first else { return false }
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].utf8.count <= 5, parts[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                return false
            }
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            guard let first = label.utf8.first, let last = label.utf8.last else { return false }
            return isAlphanumeric(first) && isAlphanumeric(last)
                && label.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }

    private static func isValidPathComponent(_ component: Substring) -> Bool {
        guard let first = component.utf8.first, let last = component.utf8.last else { return false }
        guard isLowerAlphanumeric(first), isLowerAlphanumeric(last) else { return false }
        return component.utf8.allSatisfy {
            isLowerAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || ((byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A)
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x7A)
    }
}
