import Foundation
import KilnImage

/// One hostile archive from `Fixtures/layers/index.json`, written by `Fixtures/generate.py`.
struct LayerFixture: Decodable, Sendable, CustomTestStringConvertible {
    var id: String
    var description: String
    /// "accept" or "reject".
    var expect: String
    /// Text that the rejection message contains after the "layer <digest>: " prefix.
    var error: String?
    /// The threat row of kiln's reliability plan that the case exercises.
    var anchor: String
    /// Whether the archive contains the victim's absolute path, so it is generated per test.
    var needsVictim: Bool
    var files: [String]

    var testDescription: String { "\(id): \(description)" }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let generator = folder.appendingPathComponent("generate.py").path
    static let layers = folder.appendingPathComponent("layers")

    static let all: [LayerFixture] = {
        guard let data = try? Data(contentsOf: layers.appendingPathComponent("index.json")),
            let cases = try? JSONDecoder().decode([LayerFixture].self, from: data)
        else { return [] }
        return cases
    }()

    static func named(_ id: String) -> LayerFixture? {
        all.first { $0.id == id }
    }

    /// The rejections whose archive alone is bad; L12 is valid and fails only against a wrong
    /// expected diff ID, which its own test passes.
    static var staticRejections: [LayerFixture] {
        all.filter { $0.expect == "reject" && !$0.needsVictim && $0.id != "L12" }
    }

    /// The archive paths of the case, generating them into `directory` when they need the victim.
    func paths(victim: String, in directory: String) throws -> [String] {
        if needsVictim {
            try run("/usr/bin/env", ["python3", Self.generator, "--victim", victim, "--out", directory, id])
            return files.map { directory + "/" + $0 }
        }
        return files.map { Self.layers.appendingPathComponent($0).path }
    }
}

import Testing
