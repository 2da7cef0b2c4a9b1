import Foundation
import KilnDiagnostics
import Synchronization

/// Progress as plain lines, in BuildKit's `--progress=plain` shape for build steps and the Docker
/// CLI's non-terminal shape for transfers:
///
///     #3 [build 2/7] RUN pip install -r requirements.txt
///     #3 0.412 Collecting flask
///     #3 DONE 5.2s
///     a3ed95caeb02: Pull complete
final class PlainProgressRenderer: ProgressRenderer {
    private struct Step {
        var number: Int
        var started: ContinuousClock.Instant
        var partialLine: [UInt8] = []
    }

    private struct State {
        var steps: [String: Step] = [:]
        var nextNumber = 1
        var transferPhases: [String: TransferInfo.Phase] = [:]
    }

    private let output: TextOutput
    private let state = Mutex(State())

    init(output: TextOutput) {
        self.output = output
    }

    func handle(_ event: ProgressEvent) {
        let text: String? = state.withLock { state in
            switch event {
            case .stepStarted(let info):
                let number = state.nextNumber
                state.nextNumber += 1
                state.steps[info.id] = Step(number: number, started: .now)
                return "#\(number) [\(info.stage) \(info.index)/\(info.count)] \(info.title)\n"
            case .stepCached(let id):
                guard let step = state.steps[id] else { return nil }
                return "#\(step.number) CACHED\n"
            case .stepOutput(let id, _, let bytes):
                guard var step = state.steps[id] else { return nil }
                let lines = Self.completeLines(&step.partialLine, appending: bytes)
                state.steps[id] = step
                let elapsed = ByteFormat.fixed(Self.seconds(since: step.started), decimals: 3)
                return lines.map { "#\(step.number) \(elapsed) \($0)\n" }.joined()
            case .stepFinished(let id, let seconds, let error):
                guard var step = state.steps.removeValue(forKey: id) else { return nil }
                var text = ""
                if !step.partialLine.isEmpty {
                    let elapsed = ByteFormat.fixed(Self.seconds(since: step.started), decimals: 3)
                    text += "#\(step.number) \(elapsed) \(String(decoding: step.partialLine, as: UTF8.self))\n"
                    step.partialLine = []
                }
                if let error {
                    text += "#\(step.number) ERROR: \(error)\n"
                } else {
                    text += "#\(step.number) DONE \(ByteFormat.duration(seconds))\n"
                }
                return text
            case .transfer(let info):
                // Plain output shows each change of phase once, not every byte count, and every retry.
                guard state.transferPhases[info.id] != info.phase || info.phase == .retrying else { return nil }
                state.transferPhases[info.id] = info.phase
                return "\(info.id): \(TransferText.status(info))\n"
            case .notice(let message):
                return "\(message)\n"
            }
        }
        if let text, !text.isEmpty {
            output.write(text)
        }
    }

    func finish() {}

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Appends `bytes` to the pending partial line and returns every line that is now complete.
    static func completeLines(_ partial: inout [UInt8], appending bytes: [UInt8]) -> [String] {
        partial.append(contentsOf: bytes)
        var lines: [String] = []
        var start = 0
        for index in partial.indices where partial[index] == UInt8(ascii: "\n") {
            var end = index
            if end > start, partial[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            lines.append(String(decoding: partial[start..<end], as: UTF8.self))
            start = index + 1
        }
        partial.removeFirst(start)
        return lines
    }
}

/// The words the Docker CLI shows for each transfer phase.
enum TransferText {
    static func status(_ info: TransferInfo) -> String {
        switch (info.phase, info.direction) {
        case (.waiting, _): "Waiting"
        case (.checking, .download): "Pulling fs layer"
        case (.checking, .upload): "Preparing"
        case (.downloading, _): "Downloading"
        case (.extracting, _): "Extracting"
        case (.uploading, _): "Pushing"
        case (.verifying, _): "Verifying Checksum"
        case (.retrying, _): retryText(info.retryDelay ?? 0)
        case (.complete, .download): "Pull complete"
        case (.complete, .upload): "Pushed"
        case (.alreadyExists, .download): "Already exists"
        case (.alreadyExists, .upload): "Layer already exists"
        case (.mounted, _): info.mountSource.map { "Mounted from \($0)" } ?? "Mounted"
        case (.failed, _): "Failed"
        }
    }

    /// Returns the words of moby's layer download manager ("Retrying in 5 seconds"), with the
    /// pause rounded up to whole seconds.
    private static func retryText(_ delay: Double) -> String {
        let seconds = max(1, Int(delay.rounded(.up)))
        return "Retrying in \(seconds) second\(seconds == 1 ? "" : "s")"
    }
}
