import Foundation
import KilnStore
import Testing

@Suite struct DatabaseTests {
    private let migrations = [
        "CREATE TABLE tags (name TEXT PRIMARY KEY, digest TEXT NOT NULL)",
        """
        ALTER TABLE tags ADD COLUMN created INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE leases (id TEXT PRIMARY KEY);
        CREATE INDEX tags_by_digest ON tags (digest);
        """,
    ]

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-db-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func migrationsRunOnceInOrder() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("kiln.db").path

        let first = try Database(path: path, migrations: migrations)
        #expect(try first.schemaVersion() == 2)
        // Every statement of a multi-statement migration ran, not only the first.
        let tables = try first.query("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name")
        #expect(tables.compactMap { $0.string(0) } == ["leases", "tags", "tags_by_digest"])
        try first.query("INSERT INTO tags (name, digest, created) VALUES (?, ?, ?)", ["a", "sha256:1", 5])

        let second = try Database(path: path, migrations: migrations)
        #expect(try second.schemaVersion() == 2)
        let rows = try second.query("SELECT name, digest, created FROM tags")
        #expect(rows.count == 1)
        #expect(rows.first?.string(1) == "sha256:1")
        #expect(rows.first?.int(2) == 5)
    }

    @Test func newerSchemaIsRejected() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("kiln.db").path
        _ = try Database(path: path, migrations: migrations)

        #expect {
            _ = try Database(path: path, migrations: Array(migrations.prefix(1)))
        } throws: { error in
            (error as? SQLiteError)?.kind == .newerSchema(found: 2, supported: 1)
        }
    }

    @Test func symlinkedDatabaseIsRejected() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("elsewhere.db").path
        _ = try Database(path: target, migrations: migrations)
        let link = folder.appendingPathComponent("kiln.db").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)

        #expect {
            _ = try Database(path: link, migrations: migrations)
        } throws: { error in
            (error as? SQLiteError)?.kind == .symlinkedDatabase
        }
    }

    @Test func failedTransactionRollsBack() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try Database(path: folder.appendingPathComponent("kiln.db").path, migrations: migrations)

        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try database.transaction { transaction in
                try transaction.query("INSERT INTO tags (name, digest) VALUES ('a', 'x')")
                throw Abort()
            }
        }
        #expect(try database.query("SELECT COUNT(*) FROM tags").first?.int(0) == 0)
    }

    @Test func constraintViolationNamesTheStatement() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try Database(path: folder.appendingPathComponent("kiln.db").path, migrations: migrations)
        try database.query("INSERT INTO tags (name, digest) VALUES ('a', 'x')")

        #expect {
            try database.query("INSERT INTO tags (name, digest) VALUES ('a', 'y')")
        } throws: { error in
            let sqliteError = error as? SQLiteError
            return sqliteError?.statement?.hasPrefix("INSERT INTO tags") == true
                && sqliteError?.diagnostic.message.contains("UNIQUE constraint failed") == true
        }
    }

    @Test func concurrentConnectionsAllCommit() async throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("kiln.db").path
        _ = try Database(path: path, migrations: migrations)

        // Separate connections stand in for separate kiln processes writing the same store.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    let database = try Database(path: path, migrations: self.migrations)
                    for item in 0..<50 {
                        try database.transaction { transaction in
                            try transaction.query(
                                "INSERT INTO tags (name, digest) VALUES (?, ?)", [.text("\(worker)-\(item)"), "d"])
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let database = try Database(path: path, migrations: migrations)
        #expect(try database.query("SELECT COUNT(*) FROM tags").first?.int(0) == 200)
    }

    private func fileSize(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
    }

    /// The next command then neither creates the WAL nor syncs the directory at its first commit.
    @Test func closingKeepsAnEmptyWriteAheadLog() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("kiln.db").path
        do {
            let database = try Database(path: path, migrations: migrations)
            try database.query("INSERT INTO tags (name, digest) VALUES (?, ?)", ["a", "sha256:1"])
        }
        #expect(fileSize(path + "-wal") == 0)
        let reopened = try Database(path: path, migrations: migrations, readOnly: false)
        #expect(try reopened.query("SELECT COUNT(*) FROM tags").first?.int(0) == 1)
    }

    @Test func skippedCheckpointLeavesCommitsReadable() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("kiln.db").path
        do {
            let database = try Database(path: path, migrations: migrations)
            try database.query("INSERT INTO tags (name, digest) VALUES (?, ?)", ["a", "sha256:1"])
            database.skipCheckpointAtClose()
        }
        // The commit is still in the log, not in the database file.
        #expect((fileSize(path + "-wal") ?? 0) > 0)
        let reopened = try Database(path: path, migrations: migrations)
        #expect(try reopened.query("SELECT digest FROM tags").first?.string(0) == "sha256:1")
        #expect(try reopened.integrityFindings().isEmpty)
    }

    @Test func healthyDatabaseHasNoFindings() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try Database(path: folder.appendingPathComponent("kiln.db").path, migrations: migrations)
        #expect(try database.integrityFindings().isEmpty)
    }
}
