/// An image reference, `[host[:port]/]path[:tag][@digest]`, by the grammar of the distribution
/// project's reference package, which Docker uses.
///
/// Parsing normalises the way Docker does: no host means Docker Hub (`docker.io`), and a
/// one-component path on Docker Hub is under `library/`. `python:3.9` is therefore
/// `docker.io/library/python:3.9`. `familiarString` gives the short form back for display.
public struct Reference: Sendable, Hashable, CustomStringConvertible {
    public static let defaultDomain = "docker.io"
    public static let defaultTag = "latest"
    /// The maximum length of a repository name (host and path), in characters.
    public static let maximumNameLength = 255

    /// The registry host, with its port when one was given (`localhost:5000`).
    public let domain: String
    /// The repository path within the registry (`library/python`).
    public let path: String
    public let tag: String?
    public let digest: Digest?

    /// Parses and normalises a reference.
    ///
    /// - Throws: `ImageError.invalidReference` with the rule that `text` breaks, such as
    ///   `invalid reference "MyApp": repository names must be lowercase`.
    public init(parsing text: String) throws {
        func invalid(_ reason: String) -> ImageError { .invalidReference(text, reason: reason) }
        guard !text.isEmpty else { throw invalid("the reference is empty") }

        var remainder = Substring(text)
        var digest: Digest?
        if let at = remainder.firstIndex(of: "@") {
            let digestText = String(remainder[remainder.index(after: at)...])
            do {
                digest = try Digest(parsing: digestText)
            } catch ImageError.invalidDigest(_, let reason) {
                throw invalid("invalid digest \(quoted(digestText)): \(reason)")
            }
            remainder = remainder[..<at]
        }

        var tag: String?
        if let colon = remainder.lastIndex(of: ":"), !remainder[colon...].contains("/") {
            tag = String(remainder[remainder.index(after: colon)...])
            remainder = remainder[..<colon]
        }
        if let tag, !Self.isValidTag(tag) {
            throw invalid(
                "invalid tag \(quoted(tag)): a tag is 1 to 128 letters, digits, '_', '.' and '-', and does not start with '.' or '-'"
            )
        }

        let name = String(remainder)
        guard !name.isEmpty else { throw invalid("the repository name is empty") }
        guard name.count <= Self.maximumNameLength else {
            throw invalid("the repository name is longer than \(Self.maximumNameLength) characters")
        }

        var domain = Self.defaultDomain
        var path = name
        if let slash = name.firstIndex(of: "/") {
            let first = String(name[..<slash])
            // The distribution grammar: the first component is a host only when it has a dot or
            // a port or is "localhost". Otherwise it is a path component, so `UPPER/case` is
            // rejected as upper-case, not looked up as a registry host named `upper`.
            if first.contains(".") || first.contains(":") || first == "localhost" {
                domain = first
                path = String(name[name.index(after: slash)...])
            }
        }
        guard Self.isValidDomain(domain) else { throw invalid("invalid registry host \(quoted(domain))") }
        if domain == "index.docker.io" { domain = Self.defaultDomain }

        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        for component in components where !Self.isValidPathComponent(component) {
            if component.lowercased() != component && Self.isValidPathComponent(Substring(component.lowercased())) {
                throw invalid("repository names must be lowercase")
            }
            if component.isEmpty { throw invalid("the repository path has an empty component") }
            throw invalid(
                "invalid repository path component \(quoted(String(component))): use lower-case letters, digits and the separators '.', '_', '__' or '-', not at either end"
            )
        }
        if domain == Self.defaultDomain && components.count == 1 {
            if path.utf8.count == 64 && path.utf8.allSatisfy({ Self.isHexDigit($0) }) {
                throw invalid("a 64-character hexadecimal string is an image ID, not a repository name")
            }
            path = "library/" + path
        }
        guard domain.count + 1 + path.count <= Self.maximumNameLength else {
            throw invalid("the repository name is longer than \(Self.maximumNameLength) characters")
        }

        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest
    }

    public init(domain: String, path: String, tag: String? = nil, digest: Digest? = nil) {
        self.domain = domain
        self.path = path
        self.tag = tag
        self.digest = digest
    }

    /// Parses a reference and adds the `latest` tag when it has neither a tag nor a digest, as
    /// `docker pull python` and `docker tag … myapp` do.
    public static func normalized(_ text: String) throws -> Reference {
        try Reference(parsing: text).withDefaultTag()
    }

    /// The reference with the `latest` tag when it has neither a tag nor a digest.
    public func withDefaultTag() -> Reference {
        guard tag == nil && digest == nil else { return self }
        return Reference(domain: domain, path: path, tag: Self.defaultTag, digest: nil)
    }

    /// The same repository with another tag and no digest.
    public func withTag(_ tag: String) -> Reference {
        Reference(domain: domain, path: path, tag: tag, digest: nil)
    }

    /// The same repository with a digest and no tag.
    public func withDigest(_ digest: Digest) -> Reference {
        Reference(domain: domain, path: path, tag: nil, digest: digest)
    }

    /// The fully qualified repository name (`docker.io/library/python`).
    public var name: String { "\(domain)/\(path)" }

    /// The repository name as Docker shows it (`python`, `myname/myapp`, `localhost:5000/app`).
    public var familiarName: String {
        guard domain == Self.defaultDomain else { return name }
        let components = path.split(separator: "/")
        if components.count == 2 && components[0] == "library" { return String(components[1]) }
        return path
    }

    /// The fully qualified reference (`docker.io/library/python:3.9`).
    public var description: String { Self.join(name, tag, digest) }

    /// The reference as Docker shows it (`python:3.9`, `myname/myapp:1.0`).
    public var familiarString: String { Self.join(familiarName, tag, digest) }

    private static func join(_ name: String, _ tag: String?, _ digest: Digest?) -> String {
        var text = name
        if let tag { text += ":" + tag }
        if let digest { text += "@" + digest.description }
        return text
    }

    // MARK: Grammar

    /// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    public static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard (1...128).contains(bytes.count) else { return false }
        for (index, byte) in bytes.enumerated() {
            let isWord = isAlphanumeric(byte) || byte == UInt8(ascii: "_")
            if index == 0 ? !isWord : !(isWord || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")) {
                return false
            }
        }
        return true
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
    static func isValidPathComponent(_ component: Substring) -> Bool {
        let bytes = Array(component.utf8)
        guard let first = bytes.first, let last = bytes.last, isLowerAlphanumeric(first), isLowerAlphanumeric(last)
        else { return false }
        var index = 0
        while index < bytes.count {
            if isLowerAlphanumeric(bytes[index]) {
                index += 1
                continue
            }
            // A separator: ".", "_", "__" or a run of "-", then an alphanumeric.
            let start = index
            switch bytes[index] {
            case UInt8(ascii: "."):
                index += 1
            case UInt8(ascii: "_"):
                index += 1
                if index < bytes.count && bytes[index] == UInt8(ascii: "_") { index += 1 }
            case UInt8(ascii: "-"):
                while index < bytes.count && bytes[index] == UInt8(ascii: "-") { index += 1 }
            default:
                return false
            }
            guard index > start, index < bytes.count, isLowerAlphanumeric(bytes[index]) else { return false }
        }
        return true
    }

    /// `host[:port]` where host is DNS-style labels joined by dots, or an IPv6 address in brackets.
    static func isValidDomain(_ domain: String) -> Bool {
        var host = Substring(domain)
        if let colon = domain.lastIndex(of: ":"), !domain[colon...].contains("]") {
            let port = domain[domain.index(after: colon)...]
            guard !port.isEmpty, port.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                return false
            }
            host = domain[..<colon]
        }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { return false }
            return host.dropFirst().dropLast().utf8.allSatisfy { isHexDigit($0) || $0 == UInt8(ascii: ":") }
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return !labels.isEmpty && labels.allSatisfy { label in
            let bytes = Array(label.utf8)
            guard let first = bytes.first, let last = bytes.last, isAlphanumeric(first), isAlphanumeric(last) else {
                return false
            }
            return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isLowerAlphanumeric(byte) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
    }
}
