/// A Semantic Versioning 2.0.0 version: `MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD]`.
///
/// Parsing also accepts one leading `v`, as git tags often carry it; `description` drops it.
public struct SemanticVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int64
    public var minor: Int64
    public var patch: Int64
    /// Dot-separated pre-release identifiers (`rc.1` is `["rc", "1"]`).
    public var prerelease: [String]
    /// Dot-separated build metadata, which precedence ignores.
    public var build: [String]

    public init(major: Int64, minor: Int64, patch: Int64, prerelease: [String] = [], build: [String] = []) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = prerelease
        self.build = build
    }

    /// Parses `text`, or returns nil when it is not a semantic version.
    public init?(_ text: String) {
        var rest = Substring(text)
        if rest.first == "v" { rest = rest.dropFirst() }
        var buildPart: Substring?
        if let plus = rest.firstIndex(of: "+") {
            buildPart = rest[rest.index(after: plus)...]
            rest = rest[..<plus]
        }
        var prereleasePart: Substring?
        if let dash = rest.firstIndex(of: "-") {
            prereleasePart = rest[rest.index(after: dash)...]
            rest = rest[..<dash]
        }
        let core = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard core.count == 3 else { return nil }
        var numbers: [Int64] = []
        for part in core {
            guard let number = Self.numericIdentifier(part) else { return nil }
            numbers.append(number)
        }
        var prerelease: [String] = []
        if let prereleasePart {
            for identifier in prereleasePart.split(separator: ".", omittingEmptySubsequences: false) {
                guard Self.isIdentifier(identifier) else { return nil }
                if identifier.allSatisfy(\.isASCIIDigit), Self.numericIdentifier(identifier) == nil { return nil }
                prerelease.append(String(identifier))
            }
        }
        var build: [String] = []
        if let buildPart {
            for identifier in buildPart.split(separator: ".", omittingEmptySubsequences: false) {
                guard Self.isIdentifier(identifier) else { return nil }
                build.append(String(identifier))
            }
        }
        self.init(major: numbers[0], minor: numbers[1], patch: numbers[2], prerelease: prerelease, build: build)
    }

    public var description: String {
        var text = "\(major).\(minor).\(patch)"
        if !prerelease.isEmpty { text += "-" + prerelease.joined(separator: ".") }
        if !build.isEmpty { text += "+" + build.joined(separator: ".") }
        return text
    }

    public var isPrerelease: Bool { !prerelease.isEmpty }

    /// The next version after raising `part`, as npm's `semver.inc` does it: a pre-release of
    /// the target version is released rather than raised again (1.3.0-rc.1 bumps minor to 1.3.0).
    public func bumped(_ part: Part) -> SemanticVersion {
        switch part {
        case .major:
            if isPrerelease, minor == 0, patch == 0 { return SemanticVersion(major: major, minor: 0, patch: 0) }
            return SemanticVersion(major: major + 1, minor: 0, patch: 0)
        case .minor:
            if isPrerelease, patch == 0 { return SemanticVersion(major: major, minor: minor, patch: 0) }
            return SemanticVersion(major: major, minor: minor + 1, patch: 0)
        case .patch:
            if isPrerelease { return SemanticVersion(major: major, minor: minor, patch: patch) }
            return SemanticVersion(major: major, minor: minor, patch: patch + 1)
        }
    }

    public enum Part: String, Sendable, CaseIterable {
        case major, minor, patch
    }

    /// Precedence as the specification defines it; build metadata does not count.
    public static func < (lhs: SemanticVersion, rhs: SemanticVersion) -> Bool {
        compare(lhs, rhs) < 0
    }

    public static func == (lhs: SemanticVersion, rhs: SemanticVersion) -> Bool {
        lhs.major == rhs.major && lhs.minor == rhs.minor && lhs.patch == rhs.patch && lhs.prerelease == rhs.prerelease
            && lhs.build == rhs.build
    }

    /// -1, 0 or 1 by precedence.
    public static func compare(_ lhs: SemanticVersion, _ rhs: SemanticVersion) -> Int {
        for (left, right) in [(lhs.major, rhs.major), (lhs.minor, rhs.minor), (lhs.patch, rhs.patch)] where left != right {
            return left < right ? -1 : 1
        }
        switch (lhs.prerelease.isEmpty, rhs.prerelease.isEmpty) {
        case (true, true): return 0
        case (true, false): return 1
        case (false, true): return -1
        case (false, false): break
        }
        for (left, right) in zip(lhs.prerelease, rhs.prerelease) where left != right {
            switch (Int64(left), Int64(right)) {
            case (let l?, let r?): return l < r ? -1 : 1
            case (.some, nil): return -1
            case (nil, .some): return 1
            case (nil, nil): return left < right ? -1 : 1
            }
        }
        if lhs.prerelease.count == rhs.prerelease.count { return 0 }
        return lhs.prerelease.count < rhs.prerelease.count ? -1 : 1
    }

    private static func numericIdentifier(_ text: Substring) -> Int64? {
        guard !text.isEmpty, text.allSatisfy(\.isASCIIDigit) else { return nil }
        guard text.count == 1 || text.first != "0" else { return nil }
        return Int64(text)
    }

    private static func isIdentifier(_ text: Substring) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isASCIIDigit || $0.isASCIILetter || $0 == "-" }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
    var isASCIILetter: Bool { isASCII && isLetter }
}
