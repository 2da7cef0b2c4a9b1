import Foundation
import Testing

@testable import KilnDockerfile

/// Every folder in `Fixtures/ignore` holds a `dockerignore` (written to the context as
/// `.dockerignore`), a `context` file listing the paths to create, and `expected`: the sorted
/// `find .` listing of what a COPY of the whole context receives, or `error: MESSAGE`.
@Suite struct IgnoreGoldenTests {
    @Test(arguments: Golden.cases("ignore"))
    func ignoreCase(_ name: String) throws {
        let ignoreFile = try #require(Golden.read("ignore", name, "dockerignore"), "\(name) has no dockerignore")
        let listing = try #require(Golden.read("ignore", name, "context"), "\(name) has no context list")
        let paths = String(decoding: listing, as: UTF8.self).split(separator: "\n").map(String.init)

        let context = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-ignore-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: context) }
        try Self.makeContext(at: context, paths: paths, ignoreFile: ignoreFile)

        let output: String
        do {
            let ignore = try DockerIgnore.load(contextDirectory: context.path)
            output = Self.copiedListing(context: context.path, ignore: ignore).joined(separator: "\n")
        } catch {
            output = "error: " + error.diagnostic.locatedMessage.replacingOccurrences(of: context.path, with: "CONTEXT")
        }
        Golden.check(output, suite: "ignore", name: name, file: "expected")
    }

    static func makeContext(at context: URL, paths: [String], ignoreFile: [UInt8]) throws {
        let manager = FileManager.default
        try manager.createDirectory(at: context, withIntermediateDirectories: true)
        try Data(ignoreFile).write(to: context.appendingPathComponent(".dockerignore"))
        for path in paths where path != ".dockerignore" {
            let url = context.appendingPathComponent(path)
            try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("\(path)\n".utf8).write(to: url)
        }
    }

    /// Walks the context as a build context walker does with `match(_:parent:)` and
    /// `mustDescend(intoExcluded:)`, and lists what a copy would create: each included entry and
    /// the directories above it.
    static func copiedListing(context: String, ignore: DockerIgnore) -> [String] {
        var listed: Set<String> = ["."]
        func walk(_ relative: String, parent: DockerIgnore.Match?) {
            let directory = relative.isEmpty ? context : context + "/" + relative
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            for name in names {
                let path = relative.isEmpty ? name : relative + "/" + name
                var isDirectory: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: context + "/" + path, isDirectory: &isDirectory)
                let match = ignore.match(path, parent: parent)
                if match.isExcluded {
                    if isDirectory.boolValue && ignore.mustDescend(intoExcluded: path) { walk(path, parent: match) }
                    continue
                }
                var components = path.split(separator: "/").map(String.init)
                while !components.isEmpty {
                    listed.insert("./" + components.joined(separator: "/"))
                    components.removeLast()
                }
                if isDirectory.boolValue { walk(path, parent: match) }
            }
        }
        walk("", parent: nil)
        return listed.sorted()
    }
}
