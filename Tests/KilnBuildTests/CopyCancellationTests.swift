import Foundation
import Glibc
import KilnSnapshot
import KilnSystem
import Testing

@testable import KilnBuild

/// Ctrl-C during a large COPY: the hashing and copy loops stop at the next file. The build
/// around them is in Integration's `BuildCancellationTests`.
struct CopyCancellationTests {
    /// A build context of `count` small files in `files/`, in a new temporary directory.
    final class Workspace {
        let path = NSTemporaryDirectory() + "kiln-copy-cancel-" + UUID().uuidString
        var context: String { path + "/context" }

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
}
