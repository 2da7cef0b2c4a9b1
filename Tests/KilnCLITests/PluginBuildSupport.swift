import Foundation
import KilnImage
import KilnStore
import Testing

@testable import KilnCLI

/// A build context and a store in a temporary folder, for `kiln build` runs that need no runc:
/// FROM scratch with config-only steps.
final class BuildWorkspace {
    let path = NSTemporaryDirectory() + "kiln-plugin-build-" + UUID().uuidString
    var context: String { path + "/context" }
    var root: String { path + "/root" }

    init() {
        try? FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `text` at `relative` inside the context.
    func write(_ relative: String, _ text: String) {
        write(relative, bytes: Array(text.utf8))
    }

    func write(_ relative: String, bytes: [UInt8]) {
        let file = context + "/" + relative
        try? FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
    }

    /// Runs `kiln --root ROOT ARGUMENTS` in the context folder, with `stdin` as standard input
    /// and `environment` added to the environment.
    func run(
        _ arguments: [String], stdin: [UInt8] = [], environment: [String: String] = [:]
    ) async -> (status: Int32, stdout: String, stderr: String) {
        let stdout = TextOutput(capturingAsTerminal: false)
        let stderr = TextOutput(capturingAsTerminal: false)
        let context = CommandContext(
            stdout: stdout, stderr: stderr, stdin: .bytes(stdin),
            environment: environment.merging(["HOME": path + "/home"]) { _, home in home },
            workingDirectory: self.context)
        let status = await Kiln.main(["--root", root] + arguments, context: context)
        return (status, stdout.text, stderr.text)
    }

    /// Runs `kiln build --progress=plain ARGUMENTS .`.
    func build(_ arguments: [String] = []) async -> (status: Int32, stdout: String, stderr: String) {
        await run(["build", "--progress=plain"] + arguments + ["."])
    }

    /// The config of an image in the store.
    func config(of name: String) throws -> ImageConfig {
        let store = try Store.open(root: root)
        return try store.readConfig(try store.image(named: name).config.digest)
    }

    /// The tags in the store, sorted.
    func tags() throws -> [String] {
        try Store.open(root: root).images().flatMap(\.tags).map(\.familiarString).sorted()
    }

    /// Every file under the store root (except SQLite's own) with its size and digest, and
    /// every row of the database: what "the store is unchanged" compares.
    func storeState() throws -> [String] {
        var lines: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            guard !["kiln.db", "kiln.db-wal", "kiln.db-shm", "gc.lock"].contains(relative) else { continue }
            let file = root + "/" + relative
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory)
            if isDirectory.boolValue {
                lines.append("\(relative)/")
            } else {
                let bytes = [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data())
                lines.append("\(relative) \(bytes.count) \(Digest.sha256(of: bytes))")
            }
        }
        return lines.sorted() + (try Store.databaseDump(root: root))
    }

    /// How many steps a build's plain progress output reports as reused.
    static func cachedCount(_ output: String) -> Int {
        output.split(separator: "\n").filter { $0.hasSuffix(" CACHED") }.count
    }
}
