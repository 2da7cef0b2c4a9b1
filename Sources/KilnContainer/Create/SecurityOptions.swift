import KilnRuntime

/// The `--cap-add`, `--cap-drop` and `--security-opt` values of `kiln run` and `kiln create`,
/// checked at create and applied to the runc configuration at each start.
public struct SecurityOptions: Sendable, Equatable {
    public var noNewPrivileges = false
    /// False for `--security-opt seccomp=unconfined`.
    public var seccomp = true

    /// Parses `--security-opt` values as Docker reads them: `no-new-privileges` (with `:true`,
    /// `=true`, `:false` or `=false`) and `seccomp=unconfined`. Other options kiln cannot apply
    /// are errors rather than silently ignored.
    public init(parsing values: [String]) throws {
        for value in values {
            let separator = value.firstIndex { $0 == "=" || $0 == ":" }
            let key = separator.map { String(value[..<$0]) } ?? value
            let setting = separator.map { String(value[value.index(after: $0)...]) }
            switch key {
            case "no-new-privileges":
                switch setting {
                case nil, "true": noNewPrivileges = true
                case "false": noNewPrivileges = false
                default: throw Self.invalid(value, "expected no-new-privileges, no-new-privileges=true or =false")
                }
            case "seccomp":
                guard setting == "unconfined" else {
                    throw Self.invalid(
                        value, "kiln applies Docker's default seccomp profile and cannot load another one; seccomp=unconfined turns it off")
                }
                seccomp = false
            case "apparmor", "label":
                throw Self.invalid(value, "kiln applies no AppArmor or SELinux profile, so there is nothing to change")
            default:
                throw Self.invalid(value, "unknown option; kiln supports no-new-privileges and seccomp=unconfined")
            }
        }
    }

    /// Checks `--cap-add` and `--cap-drop` names (`NET_ADMIN`, `CAP_NET_ADMIN`, `ALL`). Each
    /// capability named in `--cap-add` must be in `bounding`, kiln's own bounding set, because
    /// runc cannot grant one outside it. `ALL` means the whole bounding set, as in Podman.
    public static func checkCapabilities(
        adding: [String], dropping: [String], bounding: [String] = HostCapabilities.current.bounding
    ) throws {
        for (flag, names) in [("--cap-add", adding), ("--cap-drop", dropping)] {
            if let unknown = names.first(where: { !LinuxCapabilities.isKnown($0) }) {
                let isPrefixedAll = unknown.trimmingCharacters(in: .whitespaces).uppercased() == "CAP_ALL"
                let reason =
                    isPrefixedAll
                    ? "unknown capability; write ALL, without the CAP_ prefix, for every capability"
                    : "Linux has no such capability; write a name such as NET_ADMIN or ALL"
                throw ContainerError(.invalidOption(flag: flag, value: unknown, reason: reason))
            }
        }
        for name in adding {
            guard let canonical = LinuxCapabilities.canonicalName(name), canonical != "ALL", !bounding.contains(canonical)
            else { continue }
            throw ContainerError(
                .invalidOption(
                    flag: "--cap-add", value: name,
                    reason:
                        "kiln itself lacks CAP_\(canonical) (it is not in its capability bounding set), so no container it starts can have it; run kiln where it has CAP_\(canonical), or leave out this --cap-add"
                ))
        }
    }

    private static func invalid(_ value: String, _ reason: String) -> ContainerError {
        ContainerError(.invalidOption(flag: "--security-opt", value: value, reason: reason))
    }
}
