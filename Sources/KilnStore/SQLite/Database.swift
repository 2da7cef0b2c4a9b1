import CSQLite
import Foundation
import Synchronization

/// A connection to the store's SQLite database.
///
/// The database runs in WAL mode with a busy timeout, so several kiln processes share one store
/// without "database is locked" errors reaching the user. Migrations run when the connection
/// opens, before anything else reads the schema. One connection serves one process; the mutex
/// makes it safe to use from several tasks, and each statement runs to completion under it.
public final class Database: Sendable {
    /// Everything the connection owns, touched only under the mutex.
    private struct Handle: @unchecked Sendable {
        var connection: OpaquePointer
    }

    public let path: String
    private let handle: Mutex<Handle>

    /// How long a writer waits for another process's transaction before failing, in milliseconds.
    public static let busyTimeoutMilliseconds: Int32 = 60_000

    /// Opens (creating when missing) the database at `path` and applies `migrations` in order.
    ///
    /// `migrations[i]` moves the schema from version `i` to `i + 1`; the version is kept in
    /// `PRAGMA user_version`. A database from a newer kiln is rejected, never downgraded.
    ///
    /// With `readOnly`, for a store on a read-only file system, the file is opened as immutable
    /// (SQLite then needs no `-shm` file), nothing is written, and a schema that needs a
    /// migration is an error.
    ///
    /// With `exclusiveLock`, for reading a store on a full disk, the connection takes SQLite's
    /// exclusive locking mode before its first read. It then keeps the WAL index in memory and
    /// needs no `-shm` file, which SQLite cannot create without free space. Other processes
    /// wait for the store until this connection closes.
    public init(path: String, migrations: [String], readOnly: Bool = false, exclusiveLock: Bool = false) throws {
        self.path = path

        // SQLite follows symbolic links; the store never uses one, so a link means tampering.
        var status = stat()
        if lstat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFLNK {
            throw SQLiteError(kind: .symlinkedDatabase, path: path, message: "symbolic link")
        }

        handle = Mutex(Handle(connection: try Self.connect(path, readOnly: readOnly)))
        do {
            if exclusiveLock { try execute("PRAGMA locking_mode = EXCLUSIVE") }
            try configure(migrations, readOnly: readOnly)
        } catch let error as SQLiteError {
            throw error.notingFileSystem(of: path)
        }
    }

    private static func connect(_ path: String, readOnly: Bool) throws -> OpaquePointer {
        var connection: OpaquePointer?
        let result: Int32
        if readOnly {
            // Nothing can change a file on a read-only file system, which is what `immutable`
            // promises SQLite. A WAL file left there is not read, so an uncheckpointed commit of
            // a kiln that crashed before the remount is not seen.
            let flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW
            result = sqlite3_open_v2(Self.immutableURI(path), &connection, flags, nil)
        } else {
            let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW
            result = sqlite3_open_v2(path, &connection, flags, nil)
        }
        guard result == SQLITE_OK, let connection else {
            let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let connection { sqlite3_close_v2(connection) }
            throw SQLiteError(kind: .call(code: result), path: path, message: message).notingFileSystem(of: path)
        }
        sqlite3_extended_result_codes(connection, 1)
        sqlite3_busy_timeout(connection, Self.busyTimeoutMilliseconds)
        return connection
    }

    /// Builds a `file:` URI for `path` with `immutable=1`, escaping what a URI path cannot hold.
    static func immutableURI(_ path: String) -> String {
        var escaped = ""
        for byte in path.utf8 {
            let isPlain = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || "/-._~".utf8.contains(byte)
            escaped += isPlain ? String(UnicodeScalar(byte)) : String(format: "%%%02X", byte)
        }
        return "file:\(escaped)?immutable=1"
    }

    /// Sets the connection's pragmas and migrates the schema.
    ///
    /// `journal_mode` is stored in the file, so it is set only when it is not WAL yet, and
    /// opening a store that is already in WAL mode writes nothing here. The other pragmas only
    /// change the connection.
    private func configure(_ migrations: [String], readOnly: Bool) throws {
        if !readOnly {
            let mode = try query("PRAGMA journal_mode").first?.string(0)
            if mode?.lowercased() != "wal" {
                try execute("PRAGMA journal_mode = WAL")
            }
        }
        try execute("PRAGMA synchronous = NORMAL")
        try execute("PRAGMA foreign_keys = ON")
        if !readOnly {
            keepWriteAheadLogFile()
        }
        if readOnly {
            let current = try schemaVersion()
            guard current == migrations.count else {
                throw SQLiteError(
                    kind: current > migrations.count
                        ? .newerSchema(found: current, supported: migrations.count) : .call(code: SQLITE_READONLY),
                    path: path,
                    message: "schema version \(current) needs a migration, which a read-only store cannot take")
            }
        } else {
            try migrate(migrations)
        }
    }

    /// Keeps the `-wal` file when the last connection closes (emptied after its checkpoint)
    /// instead of deleting it. A command that finds no WAL creates it and syncs the store's
    /// directory at its first commit, two file-system round trips that every `kiln run` paid.
    ///
    /// The WAL is kept small: each command's first connection reads all of it to rebuild its
    /// index, so it is checkpointed at 256 pages (1 MiB) rather than SQLite's 1000, and cut to
    /// 1 MiB when it restarts.
    private func keepWriteAheadLogFile() {
        handle.withLock { handle in
            var persist: Int32 = 1
            _ = sqlite3_file_control(handle.connection, "main", SQLITE_FCNTL_PERSIST_WAL, &persist)
        }
        try? execute("PRAGMA wal_autocheckpoint = 256")
        try? execute("PRAGMA journal_size_limit = 1048576")
    }

    /// Makes closing this connection leave the write-ahead log as it is: the committed pages
    /// stay in the WAL, where every later connection reads them, until a later command or
    /// SQLite's automatic checkpoint copies them. This saves the checkpoint's two syncs. It is
    /// for a process such as `kiln run --rm`, whose container record is gone again when it ends.
    public func skipCheckpointAtClose() {
        handle.withLock { handle in
            _ = kiln_sqlite_skip_checkpoint_on_close(handle.connection, 1)
        }
    }

    deinit {
        handle.withLock { handle in
            _ = sqlite3_close_v2(handle.connection)
        }
    }

    /// Runs one or more statements that take no parameters and return no rows.
    public func execute(_ sql: String) throws {
        try handle.withLock { handle in
            try Self.executeScript(sql, on: handle.connection, path: path)
        }
    }

    /// Runs every statement in `sql` in order; `run` would stop after the first one.
    static func executeScript(_ sql: String, on connection: OpaquePointer, path: String) throws {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(connection, sql, nil, nil, &errorMessage)
        guard result == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(connection))
            sqlite3_free(errorMessage)
            throw SQLiteError(kind: .call(code: result), path: path, message: message, statement: sql)
                .notingFileSystem(of: path)
        }
    }

    /// Runs a statement with `parameters` bound to its `?` placeholders and returns every row.
    @discardableResult
    public func query(_ sql: String, _ parameters: [SQLValue] = []) throws -> [Row] {
        try handle.withLock { handle in
            try Self.run(sql, parameters, on: handle.connection, path: path)
        }
    }

    /// Runs `body` inside one write transaction (`BEGIN IMMEDIATE`), committing when it returns and
    /// rolling back when it throws. Other processes see all of its writes or none of them.
    /// Inside `body`, run statements through the `Transaction`: calling back into this
    /// `Database` would wait for the lock that the transaction holds.
    @discardableResult
    public func transaction<T>(_ body: (Transaction) throws -> T) throws -> T {
        try handle.withLock { handle in
            let connection = handle.connection
            _ = try Self.run("BEGIN IMMEDIATE", [], on: connection, path: path)
            let transaction = Transaction(connection: connection, path: path)
            do {
                let result = try body(transaction)
                _ = try Self.run("COMMIT", [], on: connection, path: path)
                return result
            } catch {
                _ = try? Self.run("ROLLBACK", [], on: connection, path: path)
                throw error
            }
        }
    }

    /// Runs `body` inside one read transaction, so that every query in it reads the same state of
    /// the database even while other processes commit. It takes no write lock.
    @discardableResult
    public func readTransaction<T>(_ body: (Transaction) throws -> T) throws -> T {
        try handle.withLock { handle in
            let connection = handle.connection
            _ = try Self.run("BEGIN DEFERRED", [], on: connection, path: path)
            let transaction = Transaction(connection: connection, path: path)
            do {
                let result = try body(transaction)
                _ = try Self.run("COMMIT", [], on: connection, path: path)
                return result
            } catch {
                _ = try? Self.run("ROLLBACK", [], on: connection, path: path)
                throw error
            }
        }
    }

    /// Runs `PRAGMA integrity_check` and `PRAGMA foreign_key_check` and returns their findings, empty when healthy.
    public func integrityFindings() throws -> [String] {
        var findings = try checkFindings("integrity_check")
        for row in try query("PRAGMA foreign_key_check") {
            findings.append("row \(row.int(1) ?? 0) of table \(row.string(0) ?? "?") refers to a missing \(row.string(2) ?? "?") row")
        }
        return findings
    }

    /// Runs `PRAGMA integrity_check` or `PRAGMA quick_check` and returns one finding per
    /// problem, empty when healthy.
    public func checkFindings(_ pragma: String) throws -> [String] {
        // A row can contain several lines. Each is a finding of its own, except a heading such as
        // "*** in database main ***", which names no problem.
        try query("PRAGMA \(pragma)").compactMap { $0.string(0) }.filter { $0 != "ok" }
            .flatMap { $0.split(separator: "\n").map(String.init) }
            .filter { !($0.hasPrefix("*** in database ") && $0.hasSuffix(" ***")) }
    }

    /// The schema version recorded in the database.
    public func schemaVersion() throws -> Int {
        try query("PRAGMA user_version").first?.int(0) ?? 0
    }

    private func migrate(_ migrations: [String]) throws {
        let current = try schemaVersion()
        guard current <= migrations.count else {
            throw SQLiteError(
                kind: .newerSchema(found: current, supported: migrations.count), path: path,
                message: "newer schema")
        }
        guard current < migrations.count else { return }
        try transaction { transaction in
            // Another process may have migrated between the check above and this transaction.
            let locked = try transaction.query("PRAGMA user_version").first?.int(0) ?? 0
            for version in locked..<migrations.count {
                try transaction.execute(migrations[version])
            }
            try transaction.execute("PRAGMA user_version = \(migrations.count)")
        }
    }

    static func run(_ sql: String, _ parameters: [SQLValue], on connection: OpaquePointer, path: String) throws -> [Row] {
        var statement: OpaquePointer?
        let prepared = sqlite3_prepare_v2(connection, sql, -1, &statement, nil)
        guard prepared == SQLITE_OK, let statement else {
            throw SQLiteError(
                kind: .call(code: prepared), path: path, message: String(cString: sqlite3_errmsg(connection)),
                statement: sql
            ).notingFileSystem(of: path)
        }
        defer { sqlite3_finalize(statement) }

        for (offset, value) in parameters.enumerated() {
            let index = Int32(offset + 1)
            let bound: Int32
            switch value {
            case .null:
                bound = sqlite3_bind_null(statement, index)
            case .integer(let number):
                bound = sqlite3_bind_int64(statement, index, number)
            case .real(let number):
                bound = sqlite3_bind_double(statement, index, number)
            case .text(let text):
                bound = sqlite3_bind_text(statement, index, text, -1, kiln_sqlite_transient())
            case .blob(let bytes):
                bound = bytes.withUnsafeBytes { raw in
                    sqlite3_bind_blob(statement, index, raw.baseAddress, Int32(raw.count), kiln_sqlite_transient())
                }
            }
            guard bound == SQLITE_OK else {
                throw SQLiteError(
                    kind: .call(code: bound), path: path, message: String(cString: sqlite3_errmsg(connection)),
                    statement: sql)
            }
        }

        var rows: [Row] = []
        while true {
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { break }
            guard step == SQLITE_ROW else {
                throw SQLiteError(
                    kind: .call(code: step), path: path, message: String(cString: sqlite3_errmsg(connection)),
                    statement: sql
                ).notingFileSystem(of: path)
            }
            let count = sqlite3_column_count(statement)
            var values: [SQLValue] = []
            values.reserveCapacity(Int(count))
            for column in 0..<count {
                values.append(SQLValue(statement: statement, column: column))
            }
            rows.append(Row(values: values))
        }
        return rows
    }
}

/// The statements of one open transaction; valid only inside `Database.transaction`.
public struct Transaction {
    fileprivate let connection: OpaquePointer
    fileprivate let path: String

    @discardableResult
    public func query(_ sql: String, _ parameters: [SQLValue] = []) throws -> [Row] {
        try Database.run(sql, parameters, on: connection, path: path)
    }

    /// Runs one or more statements that take no parameters and return no rows.
    public func execute(_ sql: String) throws {
        try Database.executeScript(sql, on: connection, path: path)
    }

    /// The row ID of the last insert on this connection.
    public var lastInsertRowID: Int64 {
        sqlite3_last_insert_rowid(connection)
    }

    /// The number of rows the last statement changed.
    public var changes: Int {
        Int(sqlite3_changes(connection))
    }
}
