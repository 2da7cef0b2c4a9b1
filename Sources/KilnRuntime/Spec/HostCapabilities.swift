import Foundation

/// The capability sets of the kiln process itself, from the `CapBnd` and `CapEff` lines of
/// /proc/self/status. runc runs with kiln's capabilities, so a container can get only what is in
/// kiln's bounding set, and runc can raise a resource limit above kiln's own only with
/// CAP_SYS_RESOURCE in kiln's effective set.
public struct HostCapabilities: Sendable, Equatable {
    /// Names without the `CAP_` prefix, in the order of their numbers.
    public var bounding: [String]
    public var effective: [String]

    public init(bounding: [String], effective: [String]) {
        self.bounding = bounding
        self.effective = effective
    }

    /// The sets of this process, read once. Where /proc cannot be read, both sets are every
    /// capability, which leaves the checks to runc as before.
    public static let current: HostCapabilities = {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
            return HostCapabilities(bounding: LinuxCapabilities.all, effective: LinuxCapabilities.all)
        }
        return parse(status: status)
    }()

    /// Reads the sets from the text of /proc/PID/status. A missing or unreadable line counts as
    /// every capability.
    public static func parse(status: String) -> HostCapabilities {
        // Splitting the text into Characters and trimming it with Foundation took 2 million
        // instructions of `kiln run` under callgrind, so this works on the UTF-8 bytes.
        let lines = status.utf8.split(separator: UInt8(ascii: "\n"))
        func names(_ field: String) -> [String] {
            let prefix = Array(field.utf8) + [UInt8(ascii: ":")]
            guard let line = lines.first(where: { $0.starts(with: prefix) }),
                let mask = UInt64(trimmedHex: line.dropFirst(prefix.count))
            else { return LinuxCapabilities.all }
            var names: [String] = []
            for (number, name) in LinuxCapabilities.all.enumerated() where mask & (1 << UInt64(number)) != 0 {
                names.append(name)
            }
            return names
        }
        return HostCapabilities(bounding: names("CapBnd"), effective: names("CapEff"))
    }
}

extension UInt64 {
    /// Parses hex digits with spaces or tabs around them, as a /proc status value.
    fileprivate init?(trimmedHex text: Substring.UTF8View) {
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = text.firstIndex(where: { !isBlank($0) }),
            let last = text.lastIndex(where: { !isBlank($0) })
        else { return nil }
        self.init(Substring(text[first...last]), radix: 16)
    }
}
