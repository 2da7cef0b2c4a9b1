import Foundation

/// A runc version as `runc --version` prints it: `1.1.5+ds1`, `1.0.0-rc6`.
public struct RuncVersion: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int
    /// A pre-release such as `rc6`; empty for a release.
    public var prerelease: String
    /// The text as runc printed it, kept for messages.
    public var text: String

    /// The oldest runc kiln runs with: 1.1 is the first line that Debian 12 ships and that has
    /// `--console-socket`, `--log-format json` and the fix for CVE-2019-5736.
    public static let minimum = RuncVersion(parsing: "1.1.0")!

    /// Parses a version, ignoring build metadata (`+ds1`); nil when it does not start with
    /// MAJOR.MINOR.PATCH.
    public init?(parsing text: String) {
        self.text = text
        var core = Substring(text)
        if let plus = core.firstIndex(of: "+") { core = core[..<plus] }
        var pre = Substring("")
        if let dash = core.firstIndex(of: "-") {
            pre = core[core.index(after: dash)...]
            core = core[..<dash]
        }
        let numbers = core.split(separator: ".").map { Int($0) }
        guard numbers.count == 3, let major = numbers[0], let minor = numbers[1], let patch = numbers[2] else {
            return nil
        }
        (self.major, self.minor, self.patch, self.prerelease) = (major, minor, patch, String(pre))
    }

    /// The version in the first line of `runc --version` output (`runc version 1.1.5+ds1`).
    public init?(versionOutput: String) {
        guard let first = versionOutput.split(separator: "\n").first else { return nil }
        let words = first.split(separator: " ")
        guard words.count >= 3, words[0] == "runc", words[1] == "version" else { return nil }
        self.init(parsing: String(words[2]))
    }

    public var description: String { text }

    public static func < (lhs: RuncVersion, rhs: RuncVersion) -> Bool {
        if (lhs.major, lhs.minor, lhs.patch) != (rhs.major, rhs.minor, rhs.patch) {
            return (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
        }
        // A pre-release comes before its release: 1.0.0-rc6 < 1.0.0.
        switch (lhs.prerelease.isEmpty, rhs.prerelease.isEmpty) {
        case (true, _): return false
        case (false, true): return true
        case (false, false): return lhs.prerelease.compare(rhs.prerelease, options: .numeric) == .orderedAscending
        }
    }

    public static func == (lhs: RuncVersion, rhs: RuncVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch, lhs.prerelease) == (rhs.major, rhs.minor, rhs.patch, rhs.prerelease)
    }

    /// Rejects a runc older than `minimum`, naming the best-known flaw of that age: before
    /// 1.0.0-rc7 a container can overwrite the host's runc binary (CVE-2019-5736).
    public func checkSupported() throws {
        guard self < Self.minimum else { return }
        let cve = self < RuncVersion(parsing: "1.0.0-rc7")! ? "CVE-2019-5736" : nil
        throw RuntimeError(.runcTooOld(version: text, minimum: Self.minimum.text, cve: cve))
    }
}
