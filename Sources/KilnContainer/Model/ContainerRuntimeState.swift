import Foundation
import KilnImage

/// A container's lifecycle status, in Docker's words.
public enum ContainerStatus: String, Codable, Sendable, CaseIterable {
    case created
    case running
    case paused
    case restarting
    case removing
    case exited
    case dead

    public var isActive: Bool { self == .running || self == .paused || self == .restarting }
}

/// What changes while a container lives: written by the monitor process and by `stop`, `kill`
/// and the reconciliation that `ps` runs, stored as JSON beside the record's status column.
public struct ContainerRuntimeState: Codable, Sendable, Equatable {
    /// The container's init process on the host; 0 when it is not running.
    public var pid: Int32 = 0
    public var exitCode: Int32 = 0
    /// Why the last start failed, or why the exit status is unknown; empty otherwise.
    public var error: String = ""
    /// Unix time with fractions; nil before the first start.
    public var startedAt: Double?
    public var finishedAt: Double?
    public var health: HealthState?
    /// The ports as published at the last start, with the host ports kiln chose.
    public var ports: [PublishedPort] = []
    /// The process that watches the container: the foreground `kiln run`, or the background
    /// monitor of `kiln run -d` and `kiln start`.
    public var monitorPID: Int32?
    public var monitorStartTime: UInt64?
    public var monitorBootID: String?
    /// The restarts by the restart policy since the last `kiln start` or `kiln run`.
    public var restartCount: Int = 0
    /// Whether `kiln stop`, `kiln kill` or a signal sent to a foreground `kiln run` stopped the
    /// container, so that the restart policy leaves it stopped. The next start clears it.
    public var manuallyStopped: Bool?
    /// Whether the kernel's OOM killer acted in the container's memory cgroup during the last run.
    /// Only containers with a memory limit on cgroup v1 are watched.
    public var oomKilled: Bool?

    public init() {}
}

/// The result of health checks, as Docker's `State.Health` reports it.
public struct HealthState: Codable, Sendable, Equatable {
    /// `starting`, `healthy` or `unhealthy`.
    public var status: String
    public var failingStreak: Int
    /// The last five checks, oldest first.
    public var log: [HealthProbe]

    public init(status: String = "starting", failingStreak: Int = 0, log: [HealthProbe] = []) {
        self.status = status
        self.failingStreak = failingStreak
        self.log = log
    }
}

/// One health check run.
public struct HealthProbe: Codable, Sendable, Equatable {
    public var start: Double
    public var end: Double
    public var exitCode: Int32
    /// The first 4096 bytes of the check's output.
    public var output: String

    public init(start: Double, end: Double, exitCode: Int32, output: String) {
        self.start = start
        self.end = end
        self.exitCode = exitCode
        self.output = output
    }
}

/// Times as Docker's API writes them: RFC 3339 with nanoseconds, UTC.
public enum DockerTime {
    /// Go's zero time, which Docker shows for a time never set.
    public static let zero = "0001-01-01T00:00:00Z"

    public static func format(_ seconds: Double?) -> String {
        guard let seconds else { return zero }
        let whole = seconds.rounded(.down)
        let nanoseconds = Int32(((seconds - whole) * 1_000_000_000).rounded(.down))
        return RFC3339.format(RFC3339.Instant(seconds: Int64(whole), nanoseconds: max(0, min(nanoseconds, 999_999_999))))
    }

    public static var now: Double { Date().timeIntervalSince1970 }
}
