import KilnDiagnostics

/// The progress display of long-running commands: `--progress=auto|plain|tty|json` and
/// `--quiet`. Builds draw it on standard error, and `pull` and `push` on standard output, as
/// Docker's CLI does.
public enum ProgressMode: String, Sendable, CaseIterable {
    /// `tty` when the progress output is a terminal, else `plain`.
    case auto
    /// One line per event, with no cursor movement: what CI logs want.
    case plain
    /// Live redrawn lines: running steps with timers, transfer bars.
    case tty
    /// One JSON object per event and line, for other programs.
    case json
    /// Nothing but errors.
    case quiet

    /// Reads a `--progress` value, with the flag name for the error.
    public static func parse(_ value: String?, quiet: Bool, command: String) throws -> ProgressMode {
        if quiet { return .quiet }
        guard let value else { return .auto }
        guard let mode = ProgressMode(rawValue: value.lowercased()), mode != .quiet else {
            throw UsageError(
                command: command,
                reason: .invalidValue(flag: "--progress", value: value, reason: "expected auto, plain, tty or json"))
        }
        return mode
    }

    /// Returns the mode that `auto` means for the destination: `plain` when it is no terminal,
    /// or a terminal that `TERM=dumb` marks as one without cursor movement (as Emacs' shell
    /// buffers do).
    func resolved(for output: TextOutput, environment: [String: String]) -> ProgressMode {
        guard self == .auto else { return self }
        return output.isTerminal && environment["TERM"] != "dumb" ? .tty : .plain
    }
}

/// Makes the renderer that draws a mode's progress events on `output`. `environment` is the
/// command's, which `auto` reads `TERM` from.
public func makeProgressRenderer(_ mode: ProgressMode, output: TextOutput, environment: [String: String])
    -> ProgressRenderer
{
    switch mode.resolved(for: output, environment: environment) {
    case .auto, .plain: PlainProgressRenderer(output: output)
    case .tty: TerminalProgressRenderer(output: output)
    case .json: JSONProgressRenderer(output: output)
    case .quiet: QuietProgressRenderer()
    }
}

/// Writes one line of a command's own output beside its progress (`Digest: …`, the pushed
/// digest): as a `notice` object in JSON mode, so that every line there stays one JSON object,
/// and as text in the other modes.
public func writeResultLine(_ line: String, mode: ProgressMode, output: TextOutput) {
    if mode == .json {
        JSONProgressRenderer(output: output).handle(.notice(line))
    } else {
        output.line(line)
    }
}

/// Draws progress events. Renderers are called from any task, so they serialise internally.
public protocol ProgressRenderer: Sendable {
    func handle(_ event: ProgressEvent)
    /// Draws the final state and stops any live redraw. Call it once, when the work ends.
    func finish()
}

extension ProgressRenderer {
    /// A reporter that hands events to this renderer, for the libraries.
    public var reporter: ProgressReporter {
        ProgressReporter { event in self.handle(event) }
    }
}

struct QuietProgressRenderer: ProgressRenderer {
    func handle(_ event: ProgressEvent) {}
    func finish() {}
}
