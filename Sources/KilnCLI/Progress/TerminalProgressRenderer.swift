import Foundation
import KilnDiagnostics
import Synchronization

/// Progress redrawn in place on a terminal: finished steps scroll up as permanent lines, running
/// steps show a timer and their last output lines, and transfers show Docker-style bars.
///
///     [+] Building 4.1s (3 done)
///      => [build 2/7] RUN pip install -r requirements.txt        3.2s
///      => => # Collecting flask
///     a3ed95caeb02: Downloading [=====>                    ]  12.3MB/45.6MB
final class TerminalProgressRenderer: ProgressRenderer {
    private static let outputLinesShown = 6
    private static let redrawInterval = 0.1

    private struct RunningStep {
        var info: StepInfo
        var started: ContinuousClock.Instant
        var lines: [String] = []
        var partialLine: [UInt8] = []
    }

    private struct State {
        var started = ContinuousClock.now
        var steps: [String: RunningStep] = [:]
        var stepOrder: [String] = []
        var finishedSteps = 0
        var transfers: [String: TransferInfo] = [:]
        var transferOrder: [String] = []
        var pending: [String] = []
        var liveLineCount = 0
        var lastDraw: ContinuousClock.Instant?
        var finished = false
    }

    private let output: TextOutput
    private let state = Mutex(State())
    private let width: Int

    /// Draws on `output`, `width` columns wide: by default the width of the terminal that
    /// `output` writes to.
    init(output: TextOutput, width: Int? = nil) {
        self.output = output
        self.width = max(width ?? Self.terminalWidth(of: output.fileDescriptor ?? STDERR_FILENO), 1)
        let ticker = Thread { [weak self] in
            while let self, self.tick() {
                Thread.sleep(forTimeInterval: Self.redrawInterval)
            }
        }
        ticker.start()
    }

    func handle(_ event: ProgressEvent) {
        state.withLock { state in
            switch event {
            case .stepStarted(let info):
                state.steps[info.id] = RunningStep(info: info, started: .now)
                state.stepOrder.append(info.id)
            case .stepCached(let id):
                guard let step = state.steps.removeValue(forKey: id) else { return }
                state.stepOrder.removeAll { $0 == id }
                state.finishedSteps += 1
                state.pending.append(line(" => CACHED \(stepLabel(step.info))", trailing: "0.0s"))
            case .stepOutput(let id, _, let bytes):
                guard var step = state.steps[id] else { return }
                let lines = PlainProgressRenderer.completeLines(&step.partialLine, appending: bytes)
                step.lines.append(contentsOf: lines.map(Self.displayable))
                if step.lines.count > Self.outputLinesShown {
                    step.lines.removeFirst(step.lines.count - Self.outputLinesShown)
                }
                state.steps[id] = step
            case .stepFinished(let id, let seconds, let error):
                guard let step = state.steps.removeValue(forKey: id) else { return }
                state.stepOrder.removeAll { $0 == id }
                state.finishedSteps += 1
                Self.dropFinishedTransfers(&state)
                if let error {
                    state.pending.append(line(" => ERROR \(stepLabel(step.info))", trailing: ByteFormat.duration(seconds)))
                    state.pending.append(contentsOf: step.lines.map { " => => # \($0)" })
                    state.pending.append(" => => \(error)")
                } else {
                    state.pending.append(line(" => \(stepLabel(step.info))", trailing: ByteFormat.duration(seconds)))
                }
            case .transfer(let info):
                if state.transfers[info.id] == nil {
                    state.transferOrder.append(info.id)
                }
                state.transfers[info.id] = info
            case .notice(let message):
                state.pending.append(message)
            }
            redraw(&state, force: false)
        }
    }

    /// Removes the bars of finished transfers when a step ends. A build's pull belongs to its
    /// FROM step, and its bars would otherwise stay under every later step.
    private static func dropFinishedTransfers(_ state: inout State) {
        let over: Set<TransferInfo.Phase> = [.complete, .alreadyExists, .mounted, .failed]
        state.transferOrder.removeAll { id in
            guard let info = state.transfers[id], over.contains(info.phase) else { return false }
            state.transfers[id] = nil
            return true
        }
    }

    func finish() {
        state.withLock { state in
            redraw(&state, force: true)
            state.finished = true
        }
    }

    /// Redraws the timers; returns false once the renderer has finished, which ends the ticker.
    private func tick() -> Bool {
        state.withLock { state in
            guard !state.finished else { return false }
            if !state.steps.isEmpty {
                redraw(&state, force: true)
            }
            return true
        }
    }

    private func redraw(_ state: inout State, force: Bool) {
        let now = ContinuousClock.now
        if !force, state.pending.isEmpty, let last = state.lastDraw,
            PlainProgressRenderer.seconds(since: last) < Self.redrawInterval
        {
            return
        }
        state.lastDraw = now

        var text = ""
        if state.liveLineCount > 0 {
            text += "\u{1B}[\(state.liveLineCount)A\r"
        }
        text += "\u{1B}[J"
        // Finished lines are printed once and never redrawn, so they may wrap: the image ID of
        // `writing image sha256:… done` must stay whole. Only the live lines below them are
        // cut to the width, because the next redraw moves up by their count.
        for line in state.pending {
            text += line + "\n"
        }
        state.pending.removeAll()

        var live: [String] = []
        if !state.steps.isEmpty {
            let total = ByteFormat.fixed(PlainProgressRenderer.seconds(since: state.started), decimals: 1)
            live.append("[+] Building \(total)s (\(state.finishedSteps) done)")
            for id in state.stepOrder {
                guard let step = state.steps[id] else { continue }
                let elapsed = ByteFormat.duration(PlainProgressRenderer.seconds(since: step.started))
                live.append(line(" => \(stepLabel(step.info))", trailing: elapsed))
                live.append(contentsOf: step.lines.map { " => => # \($0)" })
            }
        }
        for id in state.transferOrder {
            guard let info = state.transfers[id] else { continue }
            live.append(transferLine(info))
        }
        for line in live {
            text += clip(line) + "\n"
        }
        state.liveLineCount = live.count
        output.write(text)
    }

    private func stepLabel(_ info: StepInfo) -> String {
        "[\(info.stage) \(info.index)/\(info.count)] \(info.title)"
    }

    private func line(_ text: String, trailing: String) -> String {
        Self.line(text, trailing: trailing, columns: width)
    }

    /// Returns `text` padded so that `trailing` ends at column `columns`, counting terminal
    /// columns as `clip` does. When both do not fit, `text` is cut and ends in "…". On a terminal
    /// too narrow for that, `text` is cut to the width and `trailing` left out.
    static func line(_ text: String, trailing: String, columns: Int) -> String {
        let room = columns - displayWidth(trailing) - 1
        guard room >= 2 else { return clip(text, columns: columns) }
        let head = displayWidth(text) > room ? clip(text, columns: room - 1) + "…" : text
        return head + String(repeating: " ", count: max(room - displayWidth(head), 0)) + " " + trailing
    }

    /// Returns the terminal columns that `text` takes.
    static func displayWidth(_ text: String) -> Int {
        text.reduce(0) { used, character in used + (character.unicodeScalars.first.map(cellWidth) ?? 0) }
    }

    private func transferLine(_ info: TransferInfo) -> String {
        let status = TransferText.status(info)
        guard info.phase == .downloading || info.phase == .uploading, let total = info.totalBytes, total > 0 else {
            return "\(info.id): \(status)"
        }
        let barWidth = 50
        let filled = Int(Double(barWidth) * min(Double(info.currentBytes) / Double(total), 1))
        let bar = String(repeating: "=", count: max(filled - 1, 0)) + (filled > 0 ? ">" : "")
            + String(repeating: " ", count: barWidth - filled)
        let sizes = "\(ByteFormat.humanSize(info.currentBytes))/\(ByteFormat.humanSize(total))"
        return "\(info.id): \(status) [\(bar)]  \(sizes)"
    }

    /// Cuts a line to the terminal width, because a wrapped line would break the redraw's line count.
    private func clip(_ line: String) -> String {
        Self.clip(line, columns: width)
    }

    /// Cuts `line` to at most `columns` terminal columns, counting wide characters (CJK, most
    /// emoji) as two.
    static func clip(_ line: String, columns: Int) -> String {
        var used = 0
        var end = line.startIndex
        for character in line {
            let cells = character.unicodeScalars.first.map(cellWidth) ?? 0
            guard used + cells <= columns else { break }
            used += cells
            end = line.index(after: end)
        }
        return String(line[..<end])
    }

    /// Returns the columns a character starting with `scalar` takes: 2 in the East Asian wide
    /// and emoji blocks, 0 for combining marks, else 1. An estimate: no table of every script.
    private static func cellWidth(_ scalar: Unicode.Scalar) -> Int {
        switch scalar.value {
        case 0x0300...0x036F, 0x200B...0x200F: return 0
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F,
            0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            return 2
        default: return 1
        }
    }

    /// Returns a step's output line without terminal control: escape sequences (colours, cursor
    /// moves, screen clears) are dropped, tabs become a space and other control characters `?`,
    /// because they would move the cursor under the redraw.
    static func displayable(_ line: String) -> String {
        var result = String.UnicodeScalarView()
        var scalars = line.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            switch scalar.value {
            case 0x1B:
                skipEscapeSequence(&scalars)
            case 0x09:
                result.append(" ")
            case 0x00...0x1F, 0x7F, 0x80...0x9F:
                result.append("?")
            default:
                result.append(scalar)
            }
        }
        return String(result)
    }

    /// Skips the rest of an escape sequence after ESC: CSI (`[` … a final byte from `@` to `~`),
    /// OSC (`]` … BEL or ESC `\`), or a single character.
    private static func skipEscapeSequence(_ scalars: inout String.UnicodeScalarView.Iterator) {
        guard let introducer = scalars.next() else { return }
        switch introducer {
        case "[":
            while let scalar = scalars.next(), !(0x40...0x7E).contains(scalar.value) {}
        case "]":
            while let scalar = scalars.next() {
                if scalar.value == 0x07 { return }
                if scalar.value == 0x1B {
                    _ = scalars.next()
                    return
                }
            }
        default:
            return
        }
    }

    /// Returns the width of the terminal on `descriptor`, else 80 columns, as BuildKit assumes
    /// when the terminal reports none.
    private static func terminalWidth(of descriptor: Int32) -> Int {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0 else { return width(reportedColumns: nil) }
        return width(reportedColumns: Int(size.ws_col))
    }

    /// Returns the width to draw with when the terminal reports `reportedColumns`: any width it
    /// reports, however narrow, and 80 when it reports none (0) or cannot be asked.
    static func width(reportedColumns: Int?) -> Int {
        guard let reportedColumns, reportedColumns > 0 else { return 80 }
        return reportedColumns
    }
}
