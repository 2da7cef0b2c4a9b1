import Foundation
import Glibc
import KilnDiagnostics
import KilnDockerfile
import KilnImage
import KilnSnapshot
import KilnStore
import KilnSystem
import Testing

@testable import KilnBuild

/// Ctrl-C during a large COPY: the hashing and copy loops stop at the next file, and a
/// cancelled build leaves the store as it was.
struct CopyCancellationTests {
    /// A build context of `count` small files in `files/`, in a new temporary directory.
    final class Workspace {
        let path = NSTemporaryDirectory() + "kiln-copy-cancel-" + UUID().uuidString
        var context: String { path + "/context" }
        var root: String { path + "/root" }

        init(files count: Int) throws {
            try FileManager.default.createDirectory(atPath: context + "/files", withIntermediateDirectories: true)
            for index in 0..<count {
                let file = context + "/files/file-\(index)"
                guard FileManager.default.createFile(atPath: file, contents: Data("content \(index)\n".utf8)) else {
                    throw SystemError("create", path: file, errno: errno)
                }
            }
        }

        deinit {
            try? FileManager.default.removeItem(atPath: path)
        }

        func buildContext() throws -> BuildContext {
            try BuildContext(directory: context, ignore: .empty, statCache: nil)
        }

        /// Lists the entries of `files/`, as COPY does.
        func entries(_ context: BuildContext) throws -> [ContextEntry] {
            let source = try #require(try context.resolve("files"))
            return try context.entries(below: source)
        }

        /// Lists every file below the store root except SQLite's own, with its size, then every
        /// row of the database.
        func storeState() throws -> [String] {
            var lines: [String] = []
            let walker = FileManager.default.enumerator(atPath: root)
            while let relative = walker?.nextObject() as? String {
                guard !["kiln.db", "kiln.db-wal", "kiln.db-shm", "gc.lock"].contains(relative) else { continue }
                var status = stat()
                lstat(root + "/" + relative, &status)
                lines.append("\(relative) \(status.st_size)")
            }
            return lines.sorted() + (try Store.databaseDump(root: root))
        }
    }

    static func cancelledFlag() -> CancellationFlag {
        let flag = CancellationFlag()
        flag.cancel()
        return flag
    }

    @Test func hashingStopsWhenCancelled() throws {
        let workspace = try Workspace(files: 50)
        let context = try workspace.buildContext()
        let entries = try workspace.entries(context)

        #expect(throws: CancellationError.self) {
            try context.hashes.digests(of: entries, root: context.root, cancellation: Self.cancelledFlag())
        }
        let digests = try context.hashes.digests(of: entries, root: context.root, cancellation: CancellationFlag())
        #expect(digests.compactMap { $0 }.count == 50)
    }

    @Test func treeCopyStopsWhenCancelled() throws {
        let workspace = try Workspace(files: 50)
        let context = try workspace.buildContext()
        let entries = try workspace.entries(context)
        let destination = workspace.path + "/destination"
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true)
        let root = try RootDirectory(path: FilePath(destination))

        var tree = TreeCopy(root: root, sourceRoot: context.root, copier: EntryCopier())
        tree.cancellation = Self.cancelledFlag()
        #expect(throws: CancellationError.self) {
            try tree.copyDirectory(entries, to: FilePath("copied"))
        }
        let copied = try FileManager.default.contentsOfDirectory(atPath: destination + "/copied")
        #expect(copied.isEmpty)
    }

    @Test(.enabled(if: geteuid() == 0, "copying files with their owners needs root"))
    func cancelledCopyLeavesStoreUnchanged() async throws {
        let workspace = try Workspace(files: 200)
        let store = try Store.open(root: workspace.root)
        let before = try workspace.storeState()

        // The progress handler runs in the stage's task, so cancelling the current task when the
        // COPY step starts is Ctrl-C at that moment.
        let progress = ProgressReporter { event in
            guard case .stepStarted(let step) = event, step.title.hasPrefix("COPY") else { return }
            withUnsafeCurrentTask { $0?.cancel() }
        }
        var options = BuildOptions()
        options.tags = [try Reference.normalized("kiln-test/cancelled:1")]
        let engine = BuildEngine(
            store: store, snapshotter: Snapshotter(store: store, method: .copy), options: options,
            context: try workspace.buildContext(), progress: progress)
        let plan = DockerfileFrontend.plan(try Dockerfile.parse("FROM scratch\nCOPY files /files\nLABEL after=1\n"))

        let error = await #expect(throws: BuildError.self) { try await engine.build(plan) }
        #expect(error?.diagnostic.message == "COPY files /files: build cancelled")
        #expect(try workspace.storeState() == before)
    }
}
