import CSQLite
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

    public var kind: Kind
    public var path: String
    public var message: String
    public var statement: String?

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

    public var diagnostic: Diagnostic {
        switch kind {
        case .call:
            let detail = statement.map { " (in \"\($0.prefix(80))\")" } ?? ""
            return .error(
                "store database \(path): \(message)\(detail)",
                hint: primaryCode == SQLITE_FULL ? "free disk space, then run the command again" : nil)
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
                hint: "copy the store aside, then run `kiln store verify --deep`; remove the store to start over")
        }
    }
}
