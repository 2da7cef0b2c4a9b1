import Foundation
import Testing

/// Golden-file support: each case is a folder under `Fixtures/<suite>/` found from this file's
/// path, so the tests run from any working directory.
///
/// Set `KILN_UPDATE_GOLDENS=1` to rewrite the expected files from kiln's current output. The
/// test still fails after rewriting, so every refresh is a reviewed diff.
enum Golden {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static var isUpdating: Bool {
        ProcessInfo.processInfo.environment["KILN_UPDATE_GOLDENS"] == "1"
    }

    /// The case folders of a suite, sorted by name.
    static func cases(_ suite: String) -> [String] {
        let folder = fixtures.appendingPathComponent(suite)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted()
    }

    static func url(_ suite: String, _ name: String, _ file: String) -> URL {
        fixtures.appendingPathComponent(suite).appendingPathComponent(name).appendingPathComponent(file)
    }

    static func read(_ suite: String, _ name: String, _ file: String) -> [UInt8]? {
        FileManager.default.contents(atPath: url(suite, name, file).path).map { [UInt8]($0) }
    }

    /// Compares `actual` with the expected file, or rewrites it when updating.
    static func check(_ actual: String, suite: String, name: String, file: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let expectedURL = url(suite, name, file)
        let text = actual.hasSuffix("\n") ? actual : actual + "\n"
        if isUpdating {
            try? text.write(to: expectedURL, atomically: true, encoding: .utf8)
            Issue.record("rewrote \(suite)/\(name)/\(file); review the diff and run the tests again", sourceLocation: sourceLocation)
            return
        }
        guard let data = FileManager.default.contents(atPath: expectedURL.path) else {
            Issue.record("missing \(suite)/\(name)/\(file); run with KILN_UPDATE_GOLDENS=1 to create it", sourceLocation: sourceLocation)
            return
        }
        let expected = String(decoding: data, as: UTF8.self)
        #expect(text == expected, "\(suite)/\(name)/\(file) differs from kiln's output", sourceLocation: sourceLocation)
    }
}
