import Foundation
import Testing

/// The built `kiln` executable, for tests that run it as a separate process (crash injection
/// under strace, several processes on one store).
enum KilnBinary {
    static var path: String? {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kiln")
                .path,
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/debug/kiln")
                .path,
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var isAvailable: Bool { path != nil }

    /// Runs `kiln --root ROOT ARGUMENTS...` and returns its status and output. `environment`
    /// replaces the test's environment when given. Blocks the calling thread.
    static func run(
        root: String, _ arguments: [String], input: Data? = nil, environment: [String: String]? = nil,
        timeout: TimeInterval = 1200
    ) throws -> Command.Result {
        try Command.status(try located(), ["--root", root] + arguments, input: input, environment: environment, timeout: timeout)
    }

    /// Runs kiln as the blocking `run` does, on a thread of its own (see `Command.run`).
    static func run(
        root: String, _ arguments: [String], input: Data? = nil, environment: [String: String]? = nil,
        timeout: TimeInterval = 1200
    ) async throws -> Command.Result {
        try await Command.status(
            try located(), ["--root", root] + arguments, input: input, environment: environment, timeout: timeout)
    }

    private static func located() throws -> String {
        guard let path else {
            throw Command.Failure(command: "kiln", status: -1, stderr: "the kiln binary is not built")
        }
        return path
    }
}

/// The archives written by Fixtures/archives/generate.py, with what each must do.
struct ArchiveFixture: Decodable, CustomTestStringConvertible {
    var id: String
    var description: String
    var expect: String
    var anchor: String
    var error: String?
    var file: String

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/archives")

    static var all: [ArchiveFixture] {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent("index.json")),
            let fixtures = try? JSONDecoder().decode([ArchiveFixture].self, from: data)
        else { return [] }
        return fixtures
    }

    var path: String { Self.directory.appendingPathComponent(file).path }
    var testDescription: String { "\(id): \(description)" }
}
