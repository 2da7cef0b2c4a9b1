import Foundation
import Testing

@testable import KilnDockerfile

/// Inputs that scripts/fuzz once found to crash or hang, kept in `Fixtures/fuzz/<target>/` and
/// replayed through the same entry points as the fuzz targets. Each must finish with a result
/// or an error.
@Suite struct FuzzRegressionTests {
    static func inputs(_ target: String) -> [String] {
        let folder = Golden.fixtures.appendingPathComponent("fuzz").appendingPathComponent(target)
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
    }

    static func read(_ target: String, _ name: String) throws -> [UInt8] {
        let url = Golden.fixtures.appendingPathComponent("fuzz").appendingPathComponent(target).appendingPathComponent(name)
        return try #require(FileManager.default.contents(atPath: url.path).map { [UInt8]($0) })
    }

    @Test(arguments: inputs("expansion"))
    func expansionInput(_ name: String) throws {
        let text = String(decoding: try Self.read("expansion", name), as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let word = lines.isEmpty ? "" : lines.removeFirst()
        var variables: [String: String] = [:]
        for line in lines {
            let (key, value) = EnvironmentList.split(line)
            if line.includes("=") { variables[key] = value }
        }
        let result = Result { try ShellExpander().expandWord(word, with: variables) }
        if case .failure(let error) = result {
            #expect(error is DockerfileError, "\(name) failed with \(error)")
        }
    }

    @Test(arguments: inputs("dockerfile"))
    func dockerfileInput(_ name: String) throws {
        let bytes = try Self.read("dockerfile", name)
        if let dockerfile = try? Dockerfile.parse(bytes) {
            #expect(!dockerfile.jsonDescription().isEmpty)
        }
    }
}
