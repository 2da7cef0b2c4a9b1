import Foundation
import KilnContainer
import KilnDiagnostics
import KilnImage

/// `kiln logs`: a container's output as its monitor logged it, stdout to stdout and stderr
/// to stderr, optionally following it until the container stops.
enum LogsCommand {
    static let follow = BoolFlag("follow", short: "f", help: "Follow log output")
    static let tail = ValueFlag("tail", short: "n", help: "Number of lines to show from the end of the logs", default: "\"all\"")
    static let timestamps = BoolFlag("timestamps", short: "t", help: "Show timestamps")
    static let since = ValueFlag(
        "since", help: "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)")
    static let until = ValueFlag(
        "until", help: "Show logs before a timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)")
    static let details = BoolFlag("details", help: "Show extra details provided to logs")

    static let spec = CommandSpec(
        name: "logs", summary: "Fetch the logs of a container", usage: "[OPTIONS] CONTAINER",
        flags: [details.spec, follow.spec, since.spec, tail.spec, timestamps.spec, until.spec], arity: .exactly(1)
    ) { arguments, context in
        let now = DockerTime.now
        var selection = LogReader.Selection()
        for (flag, value) in [(since, arguments[since]), (until, arguments[until])] {
            guard let value else { continue }
            guard let time = LogTime.parse(value, now: now) else {
                throw UsageError(
                    command: arguments.commandName,
                    reason: .invalidValue(flag: "--\(flag.spec.long)", value: value, reason: "expected a timestamp or a duration such as 42m"))
            }
            if flag.spec.long == "since" { selection.since = time } else { selection.until = time }
        }
        if let text = arguments[tail], text != "all" {
            guard let lines = Int(text) else {
                throw UsageError(command: arguments.commandName, reason: .invalidValue(flag: "--tail", value: text, reason: "expected a number or all"))
            }
            selection.tail = lines >= 0 ? lines : nil
        }
        let showTimes = arguments[timestamps]

        let manager = try ContainerSupport.manager(context, access: .recordingState)
        let container = try manager.repository.find(arguments.positionals[0])
        let reader = LogReader(path: manager.logPath(container.id), maximumFiles: container.specification.logMaximumFiles)
        let printer = LogPrinter(context: context, showTimes: showTimes)
        let size = reader.currentSize()
        reader.entries(selection).forEach(printer.print)
        printer.flush()

        if arguments[follow] {
            let id = container.id
            var followSelection = selection
            followSelection.tail = nil
            await reader.follow(
                from: size, selection: followSelection,
                isDone: {
                    guard let current = try? manager.repository.container(id: id) else { return true }
                    return !current.status.isActive || !ContainerManagerProbe.monitorAlive(current)
                }, afterEntries: printer.flush, emit: printer.print)
        }
        return ExitStatus.success
    }
}

/// Prints log entries for `kiln logs`, stdout entries to stdout and stderr entries to stderr.
/// A run of entries of one stream goes out with one write, so a long log costs few writes,
/// and the order of the entries across both streams stays as stored.
final class LogPrinter {
    private let context: CommandContext
    private let showTimes: Bool
    private var stream = "stdout"
    private var buffer: [UInt8] = []

    /// The buffered bytes at which `print` writes them out.
    static let bufferSize = 64 * 1024

    init(context: CommandContext, showTimes: Bool) {
        self.context = context
        self.showTimes = showTimes
    }

    func print(_ entry: LogEntry) {
        if entry.stream != stream {
            flush()
            stream = entry.stream
        }
        if showTimes {
            buffer += entry.time.utf8
            buffer.append(UInt8(ascii: " "))
        }
        buffer += entry.log.utf8
        if buffer.count >= Self.bufferSize { flush() }
    }

    /// Writes out the buffered entries.
    func flush() {
        guard !buffer.isEmpty else { return }
        (stream == "stderr" ? context.stderr : context.stdout).write(bytes: buffer)
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Whether a container's monitor still writes its log.
enum ContainerManagerProbe {
    static func monitorAlive(_ container: Container) -> Bool {
        guard let pid = container.state.monitorPID else { return false }
        return kill(pid, 0) == 0
    }
}

/// Times as `--since` and `--until` take them: RFC 3339 (`2013-01-02T13:23:37Z`), Unix seconds
/// (`1690000000`, `1690000000.5`), or a Go duration before now (`42m`, `1h30m`, `10s`).
enum LogTime {
    static func parse(_ text: String, now: Double) -> Double? {
        if let seconds = Double(text) { return seconds }
        if let instant = RFC3339.parse(text) {
            return Double(instant.seconds) + Double(instant.nanoseconds) / 1_000_000_000
        }
        if let instant = RFC3339.parse(text + "Z") {
            return Double(instant.seconds) + Double(instant.nanoseconds) / 1_000_000_000
        }
        if let duration = goDuration(text) { return now - duration }
        return nil
    }

    /// Parses a Go duration into seconds: numbers with units h, m, s, ms, us or ns, such as `1h30m`.
    static func goDuration(_ text: String) -> Double? {
        var total = 0.0
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        let units: [(String, Double)] = [("ms", 0.001), ("us", 0.000_001), ("ns", 0.000_000_001), ("h", 3600), ("m", 60), ("s", 1)]
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            guard let unit = units.first(where: { rest.hasPrefix($0.0) }) else { return nil }
            rest = rest.dropFirst(unit.0.count)
            total += value * unit.1
        }
        return total
    }
}
