import Foundation
@testable import KilnCLI
import KilnDiagnostics
import Testing

@Suite struct ProgressRendererTests {
    private let step = StepInfo(id: "s1", stage: "build", index: 2, count: 7, title: "RUN make")

    @Test func plainStepLines() {
        let output = TextOutput()
        let renderer = PlainProgressRenderer(output: output)
        renderer.handle(.stepStarted(step))
        renderer.handle(.stepOutput(id: "s1", stream: .stdout, bytes: Array("hello\nwor".utf8)))
        renderer.handle(.stepOutput(id: "s1", stream: .stdout, bytes: Array("ld\r\n".utf8)))
        renderer.handle(.stepFinished(id: "s1", seconds: 1.25, error: nil))
        let lines = output.text.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines.first == "#1 [build 2/7] RUN make")
        #expect(lines[1].hasPrefix("#1 0."))
        #expect(lines[1].hasSuffix(" hello"))
        #expect(lines[2].hasSuffix(" world"))
        #expect(lines.last == "#1 DONE 1.3s")
    }

    @Test func plainCachedAndFailedSteps() {
        let output = TextOutput()
        let renderer = PlainProgressRenderer(output: output)
        renderer.handle(.stepStarted(step))
        renderer.handle(.stepCached(id: "s1"))
        renderer.handle(.stepStarted(StepInfo(id: "s2", stage: "build", index: 3, count: 7, title: "RUN false")))
        renderer.handle(.stepOutput(id: "s2", stream: .stderr, bytes: Array("no newline".utf8)))
        renderer.handle(.stepFinished(id: "s2", seconds: 0.2, error: "exit status 1"))
        let lines = output.text.split(separator: "\n").map(String.init)
        #expect(lines[1] == "#1 CACHED")
        #expect(lines[2] == "#2 [build 3/7] RUN false")
        #expect(lines[3].hasSuffix(" no newline"))
        #expect(lines[4] == "#2 ERROR: exit status 1")
    }

    @Test func plainTransfersShowPhaseChangesOnce() {
        let output = TextOutput()
        let renderer = PlainProgressRenderer(output: output)
        renderer.handle(.transfer(TransferInfo(id: "a3ed95caeb02", direction: .download, phase: .downloading, currentBytes: 1)))
        renderer.handle(.transfer(TransferInfo(id: "a3ed95caeb02", direction: .download, phase: .downloading, currentBytes: 2)))
        renderer.handle(.transfer(TransferInfo(id: "a3ed95caeb02", direction: .download, phase: .complete)))
        renderer.handle(.transfer(TransferInfo(id: "b1", direction: .upload, phase: .alreadyExists)))
        #expect(output.text == "a3ed95caeb02: Downloading\na3ed95caeb02: Pull complete\nb1: Layer already exists\n")
    }

    @Test func retriesShowInEveryMode() throws {
        let events: [ProgressEvent] = [
            .transfer(TransferInfo(id: "a3ed95caeb02", direction: .download, phase: .downloading, currentBytes: 1)),
            .transfer(TransferInfo(id: "a3ed95caeb02", direction: .download, phase: .retrying, retryDelay: 0.5)),
            .transfer(TransferInfo(id: "a3ed95caeb02", direction: .download, phase: .retrying, retryDelay: 1.9)),
        ]

        let plain = TextOutput()
        let plainRenderer = PlainProgressRenderer(output: plain)
        events.forEach(plainRenderer.handle)
        #expect(
            plain.text == """
                a3ed95caeb02: Downloading
                a3ed95caeb02: Retrying in 1 second
                a3ed95caeb02: Retrying in 2 seconds

                """)

        let json = TextOutput()
        let jsonRenderer = JSONProgressRenderer(output: json)
        events.forEach(jsonRenderer.handle)
        let lines = json.text.split(separator: "\n")
        #expect(lines.count == 3)
        let retry = try JSONSerialization.jsonObject(with: Data(lines[2].utf8)) as? [String: Any]
        #expect(retry?["phase"] as? String == "retrying")
        #expect(retry?["retry_delay"] as? Double == 1.9)
        let download = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(download?["retry_delay"] == nil)

        let terminal = TextOutput(capturingAsTerminal: true)
        let terminalRenderer = TerminalProgressRenderer(output: terminal)
        events.forEach(terminalRenderer.handle)
        terminalRenderer.finish()
        #expect(terminal.text.contains("a3ed95caeb02: Retrying in 2 seconds"))
    }

    @Test func jsonEventPerLine() throws {
        let output = TextOutput()
        let renderer = JSONProgressRenderer(output: output)
        renderer.handle(.stepStarted(step))
        renderer.handle(.stepOutput(id: "s1", stream: .stdout, bytes: [0xFF, 0x0A]))
        let lines = output.text.split(separator: "\n")
        #expect(lines.count == 2)
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
        #expect(first?["type"] as? String == "step.started")
        #expect(first?["title"] as? String == "RUN make")
        let second = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any]
        #expect(second?["bytes"] as? String == "/wo=")
    }

    @Test func jsonLeavesSlashesUnescaped() {
        let output = TextOutput()
        let renderer = JSONProgressRenderer(output: output)
        renderer.handle(.stepStarted(StepInfo(id: "s2", stage: "build", index: 3, count: 7, title: "WORKDIR /src")))
        renderer.handle(.stepOutput(id: "s2", stream: .stdout, bytes: [0xFF, 0x0A]))
        #expect(output.text.contains(#""title":"WORKDIR /src""#), "\(output.text)")
        #expect(output.text.contains(#""bytes":"/wo=""#), "\(output.text)")
    }

    @Test func terminalMovesFinishedStepsAboveLiveArea() {
        let output = TextOutput(capturingAsTerminal: true)
        let renderer = TerminalProgressRenderer(output: output)
        renderer.handle(.stepStarted(step))
        renderer.handle(.stepFinished(id: "s1", seconds: 0.5, error: nil))
        renderer.finish()
        #expect(output.text.contains(" => [build 2/7] RUN make"))
        #expect(output.text.contains("0.5s\n"))
        #expect(output.text.contains("\u{1B}[J"))
    }

    @Test func terminalDropsFinishedTransfersAfterTheirStep() {
        let output = TextOutput(capturingAsTerminal: true)
        let renderer = TerminalProgressRenderer(output: output)
        renderer.handle(.stepStarted(step))
        renderer.handle(.transfer(TransferInfo(id: "a3ed95caeb02", direction: .download, phase: .complete)))
        renderer.handle(.transfer(TransferInfo(id: "b4fe06dbfc13", direction: .download, phase: .downloading)))
        renderer.handle(.stepFinished(id: "s1", seconds: 0.5, error: nil))
        renderer.finish()
        let lastDraw = output.text.components(separatedBy: "\u{1B}[J").last ?? ""
        #expect(!lastDraw.contains("a3ed95caeb02"))
        #expect(lastDraw.contains("b4fe06dbfc13: Downloading"))
    }

    /// Returns the lines of a terminal rendering without its cursor movement and clearing sequences.
    private func drawnLines(_ text: String) -> [String] {
        let escapes = try! Regex("\u{1B}\\[[0-9]*[AJ]\r?")
        return text.replacing(escapes, with: "").split(separator: "\n").map(String.init)
    }

    @Test(arguments: [20, 12, 5])
    func terminalFitsNarrowWidth(_ width: Int) {
        let output = TextOutput(capturingAsTerminal: true)
        let renderer = TerminalProgressRenderer(output: output, width: width)
        renderer.handle(.stepStarted(step))
        renderer.handle(.stepOutput(id: "s1", stream: .stdout, bytes: Array((String(repeating: "x", count: 100) + "\n").utf8)))
        renderer.handle(.stepStarted(StepInfo(id: "s2", stage: "build", index: 3, count: 7, title: "RUN sleep 5")))
        renderer.handle(.stepFinished(id: "s1", seconds: 1.25, error: nil))
        renderer.finish()
        let lines = drawnLines(output.text)
        #expect(!lines.isEmpty)
        for line in lines {
            #expect(line.count <= width, "\(line.debugDescription) is wider than \(width) columns")
        }
    }

    /// A step's escape sequences would clear the screen or move the cursor under the redraw.
    @Test func stepOutputLosesTerminalControl() {
        #expect(TerminalProgressRenderer.displayable("\u{1B}[31mRED\u{1B}[0m\tTAB\rCR") == "RED TAB?CR")
        #expect(TerminalProgressRenderer.displayable("\u{1B}[2J\u{1B}[Hcleared") == "cleared")
        #expect(TerminalProgressRenderer.displayable("\u{1B}]0;title\u{07}after") == "after")
        #expect(TerminalProgressRenderer.displayable("plain 漢字") == "plain 漢字")

        let output = TextOutput(capturingAsTerminal: true)
        let renderer = TerminalProgressRenderer(output: output, width: 80)
        renderer.handle(.stepStarted(step))
        renderer.handle(.stepOutput(id: "s1", stream: .stdout, bytes: Array("\u{1B}[2J\u{1B}[Hcleared\n".utf8)))
        renderer.handle(.stepFinished(id: "s1", seconds: 1, error: "failed"))
        renderer.finish()
        #expect(!output.text.contains("\u{1B}[2J"))
        #expect(!output.text.contains("\u{1B}[H"))
        #expect(output.text.contains(" => => # cleared"))
    }

    @Test func wideCharactersCountTwoColumns() {
        #expect(TerminalProgressRenderer.clip("漢字漢字", columns: 5) == "漢字")
        #expect(TerminalProgressRenderer.clip("ab漢", columns: 3) == "ab")
        #expect(TerminalProgressRenderer.clip("abc", columns: 3) == "abc")
        #expect(TerminalProgressRenderer.clip("e\u{301}x", columns: 2) == "e\u{301}x")
    }

    @Test func stepLinePadsByColumns() {
        let ascii = TerminalProgressRenderer.line(" => RUN ab", trailing: "0.5s", columns: 30)
        let wide = TerminalProgressRenderer.line(" => RUN 漢", trailing: "0.5s", columns: 30)
        #expect(TerminalProgressRenderer.displayWidth(ascii) == 30)
        #expect(TerminalProgressRenderer.displayWidth(wide) == 30)
        #expect(wide.hasSuffix(" 0.5s"))
    }

    @Test func stepLineCutsWideTitleByColumns() {
        let title = " => RUN " + String(repeating: "漢", count: 20)
        let line = TerminalProgressRenderer.line(title, trailing: "1.0s", columns: 30)
        #expect(TerminalProgressRenderer.displayWidth(line) <= 30)
        #expect(line.contains("…"))
        #expect(line.hasSuffix(" 1.0s"))
    }

    @Test func terminalWidthFollowsNarrowTerminal() {
        #expect(TerminalProgressRenderer.width(reportedColumns: 20) == 20)
        #expect(TerminalProgressRenderer.width(reportedColumns: 1) == 1)
        #expect(TerminalProgressRenderer.width(reportedColumns: 0) == 80)
        #expect(TerminalProgressRenderer.width(reportedColumns: nil) == 80)
    }

    @Test func terminalPrintsResultLineWhole() {
        let output = TextOutput(capturingAsTerminal: true)
        let renderer = TerminalProgressRenderer(output: output, width: 80)
        let result = "writing image sha256:" + String(repeating: "d2", count: 32) + " done"
        renderer.handle(.stepStarted(step))
        renderer.handle(.stepFinished(id: "s1", seconds: 0.5, error: nil))
        renderer.handle(.notice(result))
        renderer.finish()
        #expect(drawnLines(output.text).contains(result), "\(output.text.debugDescription)")
    }

    @Test func dumbTerminalGetsPlainProgress() {
        let terminal = TextOutput(capturingAsTerminal: true)
        #expect(ProgressMode.auto.resolved(for: terminal, environment: ["TERM": "dumb"]) == .plain)
        #expect(ProgressMode.auto.resolved(for: terminal, environment: ["TERM": "xterm-256color"]) == .tty)
        #expect(ProgressMode.auto.resolved(for: terminal, environment: [:]) == .tty)
        #expect(ProgressMode.tty.resolved(for: terminal, environment: ["TERM": "dumb"]) == .tty)
        #expect(ProgressMode.auto.resolved(for: TextOutput(), environment: [:]) == .plain)
    }

    @Test func modeParsing() throws {
        #expect(try ProgressMode.parse(nil, quiet: false, command: "kiln build") == .auto)
        #expect(try ProgressMode.parse("plain", quiet: false, command: "kiln build") == .plain)
        #expect(try ProgressMode.parse("tty", quiet: true, command: "kiln build") == .quiet)
        #expect(throws: UsageError.self) { try ProgressMode.parse("fancy", quiet: false, command: "kiln build") }
    }
}

@Suite struct ByteFormatTests {
    @Test(arguments: [
        (Int64(0), "0B"), (512, "512B"), (1000, "1kB"), (12_345, "12.3kB"), (45_600_000, "45.6MB"),
        (1_020_000_000, "1.02GB"), (999_999, "1MB"),
    ])
    func humanSize(bytes: Int64, expected: String) {
        #expect(ByteFormat.humanSize(bytes) == expected)
    }

    @Test func durations() {
        #expect(ByteFormat.duration(0.04) == "0.0s")
        #expect(ByteFormat.duration(12.06) == "12.1s")
        #expect(ByteFormat.duration(123) == "2m3s")
    }
}
