import Foundation
import KilnBuild
import KilnDiagnostics
import KilnDockerfile
import KilnImage
import KilnSnapshot
import KilnStore
import Testing

/// Ctrl-C during a COPY stops the step at the next file and leaves the store as it was.
@Suite(.enabled(if: geteuid() == 0, "copying files with their owners needs root"))
struct BuildCancellationTests {
    /// Lists every file below `root` except SQLite's own, with its size, then every row of the
    /// database.
    static func storeState(_ root: String) throws -> [String] {
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

    @Test func cancelledCopyLeavesStoreUnchanged() async throws {
        let scratch = try TemporaryDirectory("kiln-cancel")
        defer { scratch.remove() }
        for index in 0..<200 {
            try scratch.write("context/files/file-\(index)", "content \(index)\n")
        }
        let root = scratch.appending("root")
        let store = try Store.open(root: root)
        let before = try Self.storeState(root)

        // The progress handler runs in the stage's task, so cancelling the current task when the
        // COPY step starts is Ctrl-C at that moment.
        let progress = ProgressReporter { event in
            guard case .stepStarted(let step) = event, step.title.hasPrefix("COPY") else { return }
            withUnsafeCurrentTask { $0?.cancel() }
        }
        var options = BuildOptions()
        options.tags = [try Reference.normalized("kiln-test/cancelled:1")]
        let context = try BuildContext(directory: scratch.appending("context"), ignore: .empty, statCache: nil)
        let engine = BuildEngine(
            store: store, snapshotter: Snapshotter(store: store, method: .copy), options: options, context: context,
            progress: progress)
        let plan = DockerfileFrontend.plan(try Dockerfile.parse("FROM scratch\nCOPY files /files\nLABEL after=1\n"))

        let error = await #expect(throws: BuildError.self) { try await engine.build(plan) }
        #expect(error?.diagnostic.message == "COPY files /files: build cancelled")
        #expect(try Self.storeState(root) == before)
    }

    /// Ctrl-C while the last step's layer is written: Docker exits 130 and tags nothing.
    @Test func cancelledLastStepWritesNoImage() async throws {
        let scratch = try TemporaryDirectory("kiln-cancel")
        defer { scratch.remove() }
        try scratch.write("context/files/file", "content\n")
        let store = try Store.open(root: scratch.appending("root"))

        // The step finishes after its layer is written; cancelling then is the latest Ctrl-C
        // that must still stop the build.
        let progress = ProgressReporter { event in
            guard case .stepFinished(let id, _, _) = event, id == "0.2" else { return }
            withUnsafeCurrentTask { $0?.cancel() }
        }
        var options = BuildOptions()
        options.tags = [try Reference.normalized("kiln-test/cancelled:2")]
        let context = try BuildContext(directory: scratch.appending("context"), ignore: .empty, statCache: nil)
        let engine = BuildEngine(
            store: store, snapshotter: Snapshotter(store: store, method: .copy), options: options, context: context,
            progress: progress)
        let plan = DockerfileFrontend.plan(try Dockerfile.parse("FROM scratch\nCOPY files /files\n"))

        await #expect(throws: CancellationError.self) { try await engine.build(plan) }
        #expect(try store.images().isEmpty)
    }
}
