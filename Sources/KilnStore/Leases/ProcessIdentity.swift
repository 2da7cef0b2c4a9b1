import Foundation
import KilnSystem

/// A process as the store names the owner of a lease or a temporary file: its PID, the time it
/// started (so that a reused PID is a different process), its PID namespace and the boot.
///
/// A PID alone is not enough: after a crash the number is soon given to another process, and a
/// lease would never expire. The start time (field 22 of `/proc/PID/stat`, in clock ticks since
/// boot) tells the two apart, and the boot ID makes every owner from an earlier boot dead.
public struct ProcessIdentity: Sendable, Hashable, CustomStringConvertible {
    public var pid: Int32
    /// Clock ticks after boot at which the process started.
    public var startTime: UInt64
    /// The inode of the PID namespace (`/proc/self/ns/pid`); PIDs from another namespace cannot
    /// be checked from this one.
    public var pidNamespace: UInt64
    /// `/proc/sys/kernel/random/boot_id`, without dashes.
    public var bootID: String

    public init(pid: Int32, startTime: UInt64, pidNamespace: UInt64, bootID: String) {
        self.pid = pid
        self.startTime = startTime
        self.pidNamespace = pidNamespace
        self.bootID = bootID
    }

    /// The calling process.
    public static let current: ProcessIdentity = {
        let pid = getpid()
        return ProcessIdentity(
            pid: pid, startTime: startTime(of: pid) ?? 0, pidNamespace: currentPIDNamespace, bootID: currentBootID)
    }()

    public var description: String { "pid \(pid)" }

    /// What this process can tell about `owner`.
    public enum Liveness: Sendable, Equatable {
        case alive
        case dead
        /// The owner is in another PID namespace, so its PID means nothing here.
        case unknown
    }

    /// Whether `owner` is still running, judged from this process.
    public static func liveness(of owner: ProcessIdentity) -> Liveness {
        let me = current
        guard owner.bootID == me.bootID else { return .dead }
        guard owner.pidNamespace == me.pidNamespace else { return .unknown }
        if owner.pid == me.pid { return owner.startTime == me.startTime ? .alive : .dead }
        guard let started = startTime(of: owner.pid) else { return .dead }
        return started == owner.startTime ? .alive : .dead
    }

    /// The start time of `pid` from `/proc/PID/stat`, or nil when the process does not exist or
    /// has exited. A killed build that its parent has not reaped yet is a zombie. It keeps its
    /// `/proc` entry, but its leases and scratch directories count as abandoned.
    static func startTime(of pid: Int32) -> UInt64? {
        guard let descriptor = try? FileDescriptor.open("/proc/\(pid)/stat", flags: O_RDONLY),
            let bytes = try? descriptor.readAll(limit: 8192)
        else { return nil }
        // The command name (field 2) is in parentheses and may itself contain spaces and
        // parentheses, so the fields are counted from the last closing parenthesis.
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        // After the name come field 3 (state) onwards. The start time is field 22.
        let index = 22 - 3
        guard fields.count > index else { return nil }
        // `Z` is a zombie, `X` a process being torn down.
        if let state = fields.first?.first, state == UInt8(ascii: "Z") || state == UInt8(ascii: "X") { return nil }
        return UInt64(String(decoding: fields[index], as: UTF8.self))
    }

    private static let currentPIDNamespace: UInt64 = {
        var status = stat()
        guard stat("/proc/self/ns/pid", &status) == 0 else { return 0 }
        return UInt64(status.st_ino)
    }()

    private static let currentBootID: String = {
        guard let descriptor = try? FileDescriptor.open("/proc/sys/kernel/random/boot_id", flags: O_RDONLY),
            let bytes = try? descriptor.readAll(limit: 256)
        else { return "unknown" }
        return String(decoding: bytes.filter { $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    }()

    // MARK: Owner tags in file names

    /// A file-name-safe tag of this identity, `NAMESPACE-PID-START-BOOT`, for temporary files
    /// whose owner a later process must recognise.
    public var fileTag: String {
        "\(pidNamespace)-\(pid)-\(startTime)-\(bootID.prefix(12))"
    }

    /// The owner encoded by `fileTag` at the start of `name`, or nil when `name` has no tag.
    public static func owner(fromFileName name: String) -> ProcessIdentity? {
        let parts = name.split(separator: "-", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count >= 4, let namespace = UInt64(parts[0]), let pid = Int32(parts[1]),
            let start = UInt64(parts[2])
        else { return nil }
        let boot = String(parts[3])
        // Only the prefix of the boot ID is in the name; compare on that prefix.
        let me = current
        let bootID = me.bootID.hasPrefix(boot) ? me.bootID : boot
        return ProcessIdentity(pid: pid, startTime: start, pidNamespace: namespace, bootID: bootID)
    }
}
