/// `--restart`: whether the container's monitor starts the container again after it exits.
///
/// kiln has no daemon, so the monitor process that watches the container does the restarting.
/// Nothing restarts a container after a reboot or after its monitor was killed.
public struct RestartPolicy: Codable, Sendable, Equatable {
    public enum Name: String, Codable, Sendable {
        case no
        case always
        case unlessStopped = "unless-stopped"
        case onFailure = "on-failure"
    }

    public var name: Name
    /// For `on-failure`, the number of restarts after which the monitor gives up; 0 for no limit.
    public var maximumRetryCount: Int

    public init(name: Name = .no, maximumRetryCount: Int = 0) {
        self.name = name
        self.maximumRetryCount = maximumRetryCount
    }

    /// Parses `no`, `always`, `unless-stopped` or `on-failure[:N]`, with Docker's messages.
    public static func parse(_ text: String) throws -> RestartPolicy {
        func invalid(_ reason: String) -> ContainerError {
            ContainerError(.invalidOption(flag: "--restart", value: text, reason: reason))
        }
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let name = Name(rawValue: parts[0]) else {
            throw invalid("invalid restart policy: expected no, always, unless-stopped or on-failure[:MAX-RETRIES]")
        }
        guard parts.count == 2 else { return RestartPolicy(name: name) }
        guard name == .onFailure else {
            throw invalid("maximum retry count cannot be used with restart policy '\(name.rawValue)'")
        }
        guard let count = Int(parts[1]) else { throw invalid("maximum retry count must be an integer") }
        guard count >= 0 else { throw invalid("maximum retry count cannot be negative") }
        return RestartPolicy(name: name, maximumRetryCount: count)
    }

    /// Decides whether a container that exited with `exitCode` after `restartCount` restarts
    /// runs again. A container stopped with `kiln stop` or `kiln kill` never does.
    public func restarts(exitCode: Int32, restartCount: Int, manuallyStopped: Bool) -> Bool {
        guard !manuallyStopped else { return false }
        switch name {
        case .no: return false
        case .always, .unlessStopped: return true
        case .onFailure: return exitCode != 0 && (maximumRetryCount == 0 || restartCount < maximumRetryCount)
        }
    }

    /// Returns the wait before the next restart: 100 ms, doubled for every restart since the
    /// container last ran for 10 seconds, at most a minute, as Docker waits.
    public static func delay(afterRestarts restartCount: Int) -> Duration {
        let milliseconds = 100 << min(restartCount, 10)
        return .milliseconds(min(milliseconds, 60_000))
    }

    /// A run at least this long resets the doubling of `delay`.
    public static let resetAfter: Duration = .seconds(10)
}
