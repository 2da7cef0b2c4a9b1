import Foundation
import KilnDiagnostics
import KilnStore
import Synchronization

/// Options that apply to every command: `kiln [OPTIONS] COMMAND`.
public struct GlobalOptions: Sendable {
    public var root: String?
    public var logLevel: Logger.Level

    public init(root: String? = nil, logLevel: Logger.Level = .warning) {
        self.root = root
        self.logLevel = logLevel
    }
}

/// What a running command can use: its output streams, input, environment and global options.
///
/// Commands read everything through the context, never from globals, so tests run commands
/// in-process with captured output.
public struct CommandContext: Sendable {
    public var stdout: TextOutput
    public var stderr: TextOutput
    public var stdin: InputSource
    public var environment: [String: String]
    public var workingDirectory: String
    public var globals: GlobalOptions
    public var logger: Logger
    /// The stores this command opened that deleted their space reserve on a full disk.
    let storesSpendingReserve = StoresSpendingReserve()

    public init(
        stdout: TextOutput,
        stderr: TextOutput,
        stdin: InputSource,
        environment: [String: String],
        workingDirectory: String,
        globals: GlobalOptions = GlobalOptions(),
        logger: Logger = .discard
    ) {
        self.stdout = stdout
        self.stderr = stderr
        self.stdin = stdin
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.globals = globals
        self.logger = logger
    }

    /// The context of the real process: its stdio, environment and current directory.
    public static func process() -> CommandContext {
        CommandContext(
            stdout: .standardOutput,
            stderr: .standardError,
            stdin: .standardInput,
            environment: ProcessInfo.processInfo.environment,
            workingDirectory: FileManager.default.currentDirectoryPath)
    }

    /// The store root: `--root`, else `$KILN_ROOT`, else `/var/lib/kiln` for root and
    /// `$XDG_DATA_HOME/kiln` (by default `~/.local/share/kiln`) for other users.
    public var storeRoot: String {
        if let root = globals.root, !root.isEmpty {
            return absolutePath(root)
        }
        if let root = environment["KILN_ROOT"], !root.isEmpty {
            return absolutePath(root)
        }
        if geteuid() == 0 {
            return "/var/lib/kiln"
        }
        if let data = environment["XDG_DATA_HOME"], data.hasPrefix("/") {
            return data + "/kiln"
        }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.local/share/kiln"
    }

    /// `path` made absolute against the command's working directory.
    public func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        if path == "." { return workingDirectory }
        return workingDirectory + "/" + path
    }
}

/// The stores a command opened that deleted their space reserve, so that the command makes the
/// reserves again when it ends. Kept per command, because tests run many commands in one process.
final class StoresSpendingReserve: Sendable {
    private let stores = Mutex<[Store]>([])

    func add(_ store: Store) {
        stores.withLock { $0.append(store) }
    }

    func restoreReserves() {
        let spending = stores.withLock { stores in
            defer { stores.removeAll() }
            return stores
        }
        for store in spending { store.restoreSpentReserve() }
    }
}
