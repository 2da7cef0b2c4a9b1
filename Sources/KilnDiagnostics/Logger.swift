/// A small logger shaped like swift-log's, handed to libraries by the caller.
///
/// Libraries log at `debug` or below and never print; the command line decides where records go.
/// The default logger discards everything, so a library used without a logger stays silent.
public struct Logger: Sendable {
    public enum Level: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
        case trace
        case debug
        case info
        case notice
        case warning
        case error

        public static func < (lhs: Level, rhs: Level) -> Bool { lhs.rawValue < rhs.rawValue }

        public var description: String {
            switch self {
            case .trace: "trace"
            case .debug: "debug"
            case .info: "info"
            case .notice: "notice"
            case .warning: "warning"
            case .error: "error"
            }
        }

        /// Parses `--log-level` values: `trace`, `debug`, `info`, `notice`, `warn`, `warning`, `error`.
        public init?(name: String) {
            switch name.lowercased() {
            case "trace": self = .trace
            case "debug": self = .debug
            case "info": self = .info
            case "notice": self = .notice
            case "warn", "warning": self = .warning
            case "error", "fatal": self = .error
            default: return nil
            }
        }
    }

    public struct Record: Sendable {
        public var level: Level
        public var label: String
        public var message: String
        public var metadata: [String: String]
    }

    public typealias Handler = @Sendable (Record) -> Void

    public var label: String
    public var level: Level
    public var metadata: [String: String]
    private let handler: Handler

    public init(label: String, level: Level = .info, metadata: [String: String] = [:], handler: @escaping Handler) {
        self.label = label
        self.level = level
        self.metadata = metadata
        self.handler = handler
    }

    /// A logger that drops every record.
    public static let discard = Logger(label: "discard", level: .error) { _ in }

    /// A copy with another label, for a sub-component.
    public func labeled(_ label: String) -> Logger {
        var copy = self
        copy.label = label
        return copy
    }

    public func log(_ level: Level, _ message: @autoclosure () -> String, metadata extra: [String: String] = [:]) {
        guard level >= self.level else { return }
        let merged = extra.isEmpty ? metadata : metadata.merging(extra) { _, new in new }
        handler(Record(level: level, label: label, message: message(), metadata: merged))
    }

    public func trace(_ message: @autoclosure () -> String, metadata: [String: String] = [:]) {
        log(.trace, message(), metadata: metadata)
    }

    public func debug(_ message: @autoclosure () -> String, metadata: [String: String] = [:]) {
        log(.debug, message(), metadata: metadata)
    }

    public func info(_ message: @autoclosure () -> String, metadata: [String: String] = [:]) {
        log(.info, message(), metadata: metadata)
    }

    public func notice(_ message: @autoclosure () -> String, metadata: [String: String] = [:]) {
        log(.notice, message(), metadata: metadata)
    }

    public func warning(_ message: @autoclosure () -> String, metadata: [String: String] = [:]) {
        log(.warning, message(), metadata: metadata)
    }

    public func error(_ message: @autoclosure () -> String, metadata: [String: String] = [:]) {
        log(.error, message(), metadata: metadata)
    }
}
