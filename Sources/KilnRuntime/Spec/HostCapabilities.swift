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
        func names(_ field: String) -> [String] {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
                let mask = UInt64(line.dropFirst(field.count + 1).trimmingCharacters(in: .whitespaces), radix: 16)
            else { return LinuxCapabilities.all }
            return LinuxCapabilities.all.enumerated().filter { mask & (1 << UInt64($0.offset)) != 0 }.map(\.element)
        }
        return HostCapabilities(bounding: names("CapBnd"), effective: names("CapEff"))
    }
}
