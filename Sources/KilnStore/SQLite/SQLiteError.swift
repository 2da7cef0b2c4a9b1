import CSQLite
import Glibc
import KilnDiagnostics

/// A failed SQLite call, with SQLite's result code and message and the statement that failed.
public struct SQLiteError: KilnError, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The call failed with this SQLite result code.
        case call(code: Int32)
        /// The database file is a symbolic link, which kiln never opens.
        case symlinkedDatabase
        /// The schema was written by a newer kiln.
        case newerSchema(found: Int, supported: Int)
        /// `PRAGMA integrity_check` or `foreign_key_check` reported problems.
        case corrupt(findings: [String])
    }

    /// A state of the database's file system that explains a failed call.
    public enum FileSystemState: Sendable, Equatable {
        /// No space is left for the database, its journal or its `-shm` file.
        case full
        /// The file system is mounted read-only.
        case readOnly
    }

    public var kind: Kind
    public var path: String
    public var message: String
    public var statement: String?
    /// Why the call failed when the file system explains it, set by `notingFileSystem(of:)`.
    public var fileSystemState: FileSystemState?

    public init(kind: Kind, path: String, message: String, statement: String? = nil) {
        self.kind = kind
        self.path = path
        self.message = message
        self.statement = statement
    }

    /// SQLite's primary result code, such as `SQLITE_BUSY`, for callers that decide on it.
    public var primaryCode: Int32? {
        guard case .call(let code) = kind else { return nil }
        return code & 0xFF
    }

    /// This error with `fileSystemState` set when the file system of `path` is full or read-only
    /// and the call failed the way that state makes SQLite fail. SQLite reports a full disk as
    /// "disk I/O error" when it cannot size its `-shm` file, so the state is read from
    /// `statvfs`, not from the result code alone.
    func notingFileSystem(of path: String) -> SQLiteError {
        guard case .call = kind, fileSystemState == nil else { return self }
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        var status = statvfs()
        guard statvfs(directory.isEmpty ? "/" : directory, &status) == 0 else { return self }
        var noted = self
        let code = primaryCode ?? 0
        if status.f_flag & UInt(ST_RDONLY) != 0, [SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_IOERR].contains(code) {
            noted.fileSystemState = .readOnly
        } else if status.f_bavail == 0, [SQLITE_FULL, SQLITE_IOERR, SQLITE_CANTOPEN].contains(code) {
            noted.fileSystemState = .full
        }
        return noted
    }

    /// Whether SQLite found the database file damaged: `SQLITE_CORRUPT`, `SQLITE_NOTADB`, or
    /// findings of the integrity check.
    public var isDamage: Bool {
        if case .corrupt = kind { return true }
        return primaryCode == SQLITE_CORRUPT || primaryCode == SQLITE_NOTADB
    }

    /// The store root: the folder that contains the database file.
    var storeRoot: String {
        let folder = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return folder.isEmpty ? "/" : folder
    }

    /// The failed statement for a message: whole, on one line, so a reader never sees it cut off.
    private var statementDetail: String {
        guard let statement else { return "" }
        let words = statement.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return " (in \"\(words)\")"
    }

    public var diagnostic: Diagnostic {
        if isDamage, case .call = kind {
            return .error(
                "store database \(path) is damaged: \(message)",
                hint: StoreRecovery.steps(root: storeRoot))
        }
        switch kind {
        case .call where fileSystemState == .full:
            return .error(
                "store database \(path): no space left on device (SQLite: \(message))",
                hint: "free disk space (`kiln image prune` and `kiln system prune` work on a full disk), then run the command again")
        case .call where fileSystemState == .readOnly:
            return .error(
                "store database \(path): the store is on a read-only file system (SQLite: \(message))",
                hint: "commands that only read the store work there; remount it read-write to change it")
        case .call:
            return .error(
                "store database \(path): \(message)\(statementDetail)",
                hint: primaryCode == SQLITE_FULL ? "free disk space (`kiln image prune` and `kiln system prune` work on a full disk), then run the command again" : nil)
        case .symlinkedDatabase:
            return .error(
                "store database \(path) is a symbolic link; kiln opens only a regular file",
                hint: "remove the link, or point --root at another directory")
        case .newerSchema(let found, let supported):
            return .error(
                "store database \(path) has schema version \(found), written by a newer kiln; this kiln supports up to \(supported)",
                hint: "upgrade kiln; older versions never downgrade a store")
        case .corrupt(let findings):
            let shown = findings.prefix(5).joined(separator: "; ")
            return .error(
                "store database \(path) failed its integrity check: \(shown)",
                hint: StoreRecovery.steps(root: storeRoot))
        }
    }
}

/// How to recover from a damaged store, printed by every command that finds one.
public enum StoreRecovery {
    /// Returns the recovery steps for the store at `root`, as one hint.
    public static func steps(root: String) -> String {
        "kiln does not change a damaged store. Move it aside with `mv \(root) \(root).damaged`. "
            + "`kiln --root \(root).damaged save -o FILE IMAGE` may still save images whose records can be read. "
            + "Then pull, load or build the images again, which starts a new store at \(root)"
    }
}
