/// Progress of long work, reported as events that the command line draws.
///
/// Libraries emit events through a `ProgressReporter` and never draw anything; `KilnCLI` renders
/// them for `--progress=tty|plain|json` and drops them for `--quiet`.
public enum ProgressEvent: Sendable, Equatable {
    /// A build step began. `step.id` identifies it in the events that follow.
    case stepStarted(StepInfo)
    /// A build step was satisfied from the build cache and did not run.
    case stepCached(id: String)
    /// Output of a running step or container, as raw bytes in the order they arrived.
    case stepOutput(id: String, stream: OutputStream, bytes: [UInt8])
    /// A build step ended; `error` is set when it failed.
    case stepFinished(id: String, seconds: Double, error: String?)
    /// A blob transfer moved forward or changed state (pull, push, load, save).
    case transfer(TransferInfo)
    /// A one-line notice, such as a fallback that changes what the user gets.
    case notice(String)

    public enum OutputStream: String, Sendable, Codable {
        case stdout
        case stderr
    }
}

/// A build step as progress output names it: `[build 3/7] RUN pip install -r requirements.txt`.
public struct StepInfo: Sendable, Equatable, Codable {
    public var id: String
    /// The stage's name or index, such as `build` or `stage-0`.
    public var stage: String
    /// The step's position within its stage, from 1.
    public var index: Int
    public var count: Int
    /// The instruction as the user wrote it, after variable expansion.
    public var title: String

    public init(id: String, stage: String, index: Int, count: Int, title: String) {
        self.id = id
        self.stage = stage
        self.index = index
        self.count = count
        self.title = title
    }
}

/// The state of one blob moving between the store and a registry or archive.
public struct TransferInfo: Sendable, Equatable, Codable {
    public enum Phase: String, Sendable, Codable {
        case waiting
        case checking
        case downloading
        case extracting
        case uploading
        case verifying
        /// An attempt failed and another follows after `retryDelay`.
        case retrying
        case complete
        case alreadyExists
        case mounted
        case failed
    }

    public enum Direction: String, Sendable, Codable {
        case download
        case upload
    }

    /// The blob's short digest, as Docker shows it (`a3ed95caeb02`).
    public var id: String
    public var direction: Direction
    public var phase: Phase
    public var currentBytes: Int64
    /// The expected size, when known.
    public var totalBytes: Int64?
    /// The pause in seconds before the next attempt, in the `retrying` phase.
    public var retryDelay: Double?
    /// The repository the registry mounted the blob from (`library/python`), in the `mounted` phase.
    public var mountSource: String?

    public init(
        id: String, direction: Direction, phase: Phase, currentBytes: Int64 = 0, totalBytes: Int64? = nil,
        retryDelay: Double? = nil, mountSource: String? = nil
    ) {
        self.id = id
        self.direction = direction
        self.phase = phase
        self.currentBytes = currentBytes
        self.totalBytes = totalBytes
        self.retryDelay = retryDelay
        self.mountSource = mountSource
    }
}

/// The sink that libraries report progress to.
public struct ProgressReporter: Sendable {
    private let handler: @Sendable (ProgressEvent) -> Void

    public init(_ handler: @escaping @Sendable (ProgressEvent) -> Void) {
        self.handler = handler
    }

    /// A reporter that drops every event.
    public static let silent = ProgressReporter { _ in }

    public func report(_ event: ProgressEvent) {
        handler(event)
    }
}
