import Foundation
import KilnDiagnostics

/// Progress as one JSON object per line, for programs that drive kiln:
///
///     {"id":"s3","index":2,"count":7,"stage":"build","title":"RUN make","type":"step.started"}
///     {"bytes":"aGVsbG8K","id":"s3","stream":"stdout","type":"step.output"}
///     {"error":null,"id":"s3","seconds":1.25,"type":"step.finished"}
final class JSONProgressRenderer: ProgressRenderer {
    private let output: TextOutput

    init(output: TextOutput) {
        self.output = output
    }

    func handle(_ event: ProgressEvent) {
        var object: [String: Any] = [:]
        switch event {
        case .stepStarted(let info):
            object = [
                "type": "step.started", "id": info.id, "stage": info.stage, "index": info.index,
                "count": info.count, "title": info.title,
            ]
        case .stepCached(let id):
            object = ["type": "step.cached", "id": id]
        case .stepOutput(let id, let stream, let bytes):
            // Base64, because step output is arbitrary bytes and need not be UTF-8.
            object = ["type": "step.output", "id": id, "stream": stream.rawValue, "bytes": Data(bytes).base64EncodedString()]
        case .stepFinished(let id, let seconds, let error):
            object = ["type": "step.finished", "id": id, "seconds": seconds, "error": error ?? NSNull()]
        case .transfer(let info):
            object = [
                "type": "transfer", "id": info.id, "direction": info.direction.rawValue, "phase": info.phase.rawValue,
                "current": info.currentBytes, "total": info.totalBytes.map { $0 as Any } ?? NSNull(),
            ]
            if let delay = info.retryDelay {
                object["retry_delay"] = delay
            }
            if let source = info.mountSource {
                object["mount_source"] = source
            }
        case .notice(let message):
            object = ["type": "notice", "message": message]
        }
        // Slashes stay as they are, so `grep 'WORKDIR /src'` finds the step in the stream.
        guard
            let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        output.write(bytes: Array(data) + [UInt8(ascii: "\n")])
    }

    func finish() {}
}
