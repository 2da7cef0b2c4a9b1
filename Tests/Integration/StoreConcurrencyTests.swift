import Foundation
import Glibc
import KilnSystem
import Testing

@testable import KilnStore

/// Several kiln processes on one store, garbage collection beside work in progress, and a
/// damaged or foreign database.
@Suite(.enabled(if: KilnBinary.isAvailable, "needs the built kiln binary"))
struct StoreConcurrencyTests {
    /// An archive with a 3 MiB layer, large enough to be written into the store while the
    /// archive is still being read.
    private func bigArchive(_ scratch: TemporaryDirectory, tag: String) throws -> String {
        let layer = scratch.appending("big-layer")
        try FileManager.default.createDirectory(atPath: layer, withIntermediateDirectories: true)
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<(3 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(bytes).write(to: URL(fileURLWithPath: layer + "/blob.bin"))
        let path = scratch.appending("big-\(tag).tar")
        try ArchiveBuilder.dockerArchive(at: path, layers: [layer], tag: "big:\(tag)", scratch: scratch.path)
        return path
    }

    @Test func parallelLoadsTagsRemovalsAndCollections() async throws {
        let scratch = try TemporaryDirectory("kiln-concurrency")
        defer { scratch.remove() }
        let root = scratch.appending("root")
        let archive = try #require(ArchiveFixture.all.first { $0.id == "A00" }).path
        let other = try #require(ArchiveFixture.all.first { $0.id == "A00b" }).path
        _ = try await KilnBinary.run(root: root, ["images"])

        let deadline = Date().addingTimeInterval(8)
        let failures = try await withThrowingTaskGroup(of: [String].self) { group in
            func worker(_ commands: [[String]]) {
                group.addTask {
                    var failures: [String] = []
                    while Date() < deadline {
                        for command in commands {
                            let result = try await KilnBinary.run(root: root, command)
                            let clean =
                                result.stderr.hasPrefix("error: ") && !result.stderr.contains("database is locked")
                            if result.status != 0 && !clean || result.stderr.contains("Fatal error") {
                                failures.append("\(command.joined(separator: " ")): \(result.status) \(result.stderr)")
                            }
                        }
                    }
                    return failures
                }
            }
            for _ in 0..<3 { worker([["load", "-q", "-i", archive]]) }
            worker([["load", "-q", "-i", other], ["tag", "kiln-fixture:1", "copy:1"], ["rmi", "copy:1"]])
            worker([["rmi", "-f", "kiln-fixture:1"], ["image", "prune", "-a", "-f"]])
            worker([["store", "gc"]])
            var all: [String] = []
            for try await failures in group { all += failures }
            return all
        }
        #expect(failures.isEmpty, "\(failures.prefix(5).joined(separator: "\n"))")
        let verify = try await KilnBinary.run(root: root, ["store", "verify", "--deep"])
        #expect(verify.status == 0, "verify: \(verify.stdout)")
    }

    @Test(.enabled(if: Host.hasExecutable("mkfifo"), "needs mkfifo"))
    func collectionDuringSlowLoadKeepsItsBlobs() async throws {
        let scratch = try TemporaryDirectory("kiln-concurrency")
        defer { scratch.remove() }
        let root = scratch.appending("root")
        let archive = try bigArchive(scratch, tag: "slow")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        let fifo = scratch.appending("pipe")
        try await Command.run("/usr/bin/mkfifo", [fifo])
        _ = try await KilnBinary.run(root: root, ["images"])

        let output = try FileDescriptor.pipe()
        let process = try ChildProcess.spawn(
            try #require(KilnBinary.path), arguments: ["--root", root, "load", "-q", "-i", fifo],
            descriptors: [0: 0, 1: output.writeEnd.rawValue, 2: output.writeEnd.rawValue])
        try output.writeEnd.close()
        let writer = try #require(FileHandle(forWritingAtPath: fifo))
        // The layer but not the documents after it: the layer is in the store, the load goes on.
        let split = try ArchiveBuilder.layerBytes(of: archive)
        writer.write(bytes.prefix(split))
        try waitUntil { (try? FileManager.default.contentsOfDirectory(atPath: root + "/blobs/sha256").count) ?? 0 > 0 }

        let gc = try await KilnBinary.run(root: root, ["store", "gc"])
        #expect(gc.status == 0, "gc: \(gc.stderr)")
        let prune = try await KilnBinary.run(root: root, ["image", "prune", "-a", "-f"])
        #expect(prune.status == 0, "prune: \(prune.stderr)")

        writer.write(bytes.dropFirst(split))
        try writer.close()
        let status = process.waitBlocking()
        let text = String(decoding: try output.readEnd.readAll(limit: 1 << 20), as: UTF8.self)
        #expect(status == .exited(0), "load: \(text)")
        #expect(text.contains("Loaded image: big:slow"))
        let verify = try await KilnBinary.run(root: root, ["store", "verify", "--deep"])
        #expect(verify.status == 0, "verify: \(verify.stdout)")
    }

    @Test(.enabled(if: Host.hasExecutable("mkfifo"), "needs mkfifo"))
    func collectionReclaimsWhatAKilledLoadWrote() async throws {
        let scratch = try TemporaryDirectory("kiln-concurrency")
        defer { scratch.remove() }
        let root = scratch.appending("root")
        let archive = try bigArchive(scratch, tag: "killed")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: archive))
        let fifo = scratch.appending("pipe")
        try await Command.run("/usr/bin/mkfifo", [fifo])
        _ = try await KilnBinary.run(root: root, ["images"])

        let devNull = try FileDescriptor.open("/dev/null", flags: O_WRONLY)
        let process = try ChildProcess.spawn(
            try #require(KilnBinary.path), arguments: ["--root", root, "load", "-q", "-i", fifo],
            descriptors: [0: 0, 1: devNull.rawValue, 2: devNull.rawValue])
        let writer = try #require(FileHandle(forWritingAtPath: fifo))
        writer.write(bytes.prefix(try ArchiveBuilder.layerBytes(of: archive)))
        try waitUntil { (try? FileManager.default.contentsOfDirectory(atPath: root + "/blobs/sha256").count) ?? 0 > 0 }

        process.signal(SIGKILL)
        _ = process.waitBlocking()
        try? writer.close()

        let gc = try await KilnBinary.run(root: root, ["store", "gc"])
        #expect(gc.status == 0)
        #expect(gc.stdout.hasPrefix("Removed 1 blob and 0 snapshots"), "gc: \(gc.stdout)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/blobs/sha256").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/ingest").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/work").isEmpty)
        #expect(
            try Store.databaseDump(root: root).filter { $0.hasPrefix("leases") || $0.hasPrefix("lease_resources") }
                .isEmpty)
    }

    @Test func symlinkedDatabaseIsRefused() async throws {
        let scratch = try TemporaryDirectory("kiln-sqlite")
        defer { scratch.remove() }
        let root = scratch.appending("root")
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root + "/kiln.db", withDestinationPath: "/etc/passwd")
        let result = await KilnInvocation(root: root)("images")
        #expect(result.status == 1)
        #expect(result.stderr.contains("is a symbolic link; kiln opens only a regular file"))
    }

    @Test func newerSchemaIsRefusedWithoutDowngrade() async throws {
        let scratch = try TemporaryDirectory("kiln-sqlite")
        defer { scratch.remove() }
        let root = scratch.appending("root")
        let kiln = KilnInvocation(root: root)
        _ = await kiln("images")
        let database = try Database(path: root + "/kiln.db", migrations: Schema.migrations)
        try database.execute("PRAGMA user_version = 99")
        let result = await kiln("images")
        #expect(result.status == 1)
        #expect(result.stderr.contains("has schema version 99, written by a newer kiln"), "stderr: \(result.stderr)")
        #expect(try database.schemaVersion() == 99)
    }

    @Test func corruptedDatabaseBlocksChangesAndVerifyReportsIt() async throws {
        let scratch = try TemporaryDirectory("kiln-sqlite")
        defer { scratch.remove() }
        let root = scratch.appending("root")
        let kiln = KilnInvocation(root: root)
        let archive = try #require(ArchiveFixture.all.first { $0.id == "A00" }).path
        #expect(await kiln("load", "-q", "-i", archive).status == 0)
        // Fold the WAL into the main file, then overwrite the header of page 3 (a b-tree page
        // of some table or index) with bytes that are no valid page type.
        let database = try Database(path: root + "/kiln.db", migrations: Schema.migrations)
        try database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        let pageSize = try #require(try database.query("PRAGMA page_size").first?.int(0))
        let handle = try #require(FileHandle(forUpdatingAtPath: root + "/kiln.db"))
        try handle.seek(toOffset: UInt64(pageSize * 2))
        handle.write(Data(repeating: 0xA5, count: 8))
        try handle.close()

        let load = await kiln("load", "-q", "-i", archive)
        #expect(load.status == 1)
        #expect(load.stderr.contains("is damaged") || load.stderr.contains("malformed"), "stderr: \(load.stderr)")
        let verify = await kiln("store", "verify")
        #expect(verify.status == 1, "verify: \(verify.stdout)\(verify.stderr)")
    }

    @Test(.enabled(if: Host.isRoot && Host.hasExecutable("runuser"), "needs root and runuser"))
    func storeIsPrivateAndBlobsReadOnly() async throws {
        let scratch = try TemporaryDirectory("kiln-permissions")
        defer { scratch.remove() }
        // A root under a world-readable directory, so only the store's own modes keep users out.
        chmod(scratch.path, 0o755)
        let root = scratch.appending("root")
        let kiln = KilnInvocation(root: root)
        let archive = try #require(ArchiveFixture.all.first { $0.id == "A00" }).path
        #expect(await kiln("load", "-q", "-i", archive).status == 0)

        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            let attributes = try FileManager.default.attributesOfItem(atPath: root + "/" + relative)
            let mode = (attributes[.posixPermissions] as? Int) ?? 0
            #expect(mode & 0o002 == 0, "\(relative) is world-writable")
            if relative.hasPrefix("blobs/sha256/") {
                #expect(mode == 0o444, "\(relative) has mode \(String(mode, radix: 8))")
            }
            if attributes[.type] as? FileAttributeType == .typeDirectory {
                #expect(mode == 0o700, "\(relative) has mode \(String(mode, radix: 8))")
            }
        }
        let rootMode = (try FileManager.default.attributesOfItem(atPath: root)[.posixPermissions] as? Int) ?? 0
        #expect(rootMode == 0o700)
        let listing = try await Command.status("/usr/sbin/runuser", ["-u", "nobody", "--", "/bin/ls", root])
        #expect(listing.status != 0)
    }

    private func waitUntil(_ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(20)
        while !condition() {
            guard Date() < deadline else { throw Command.Failure(command: "wait", status: -1, stderr: "timed out") }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}
