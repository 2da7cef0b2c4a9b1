import CSystem
import Foundation
import KilnContainer
import KilnDiagnostics
import KilnSystem

/// `kiln cp`: copies files and directories between a container, running or stopped, and the
/// host, or streams them as a tar archive with `-`, with `docker cp`'s path rules.
enum CopyCommand {
    static let archive = BoolFlag("archive", short: "a", help: "Archive mode: give copied files the container user's UID and GID")
    static let followLink = BoolFlag("follow-link", short: "L", help: "Always follow symbol link in SRC_PATH")
    static let quiet = BoolFlag(
        "quiet", short: "q",
        help: "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached")

    static let spec = CommandSpec(
        name: "cp", summary: "Copy files/folders between a container and the local filesystem",
        usage: "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n  kiln cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
        flags: [archive.spec, followLink.spec, quiet.spec], arity: .exactly(2)
    ) { arguments, context in
        let command = arguments.commandName
        // An empty path would mean the current folder, so it is rejected as in Docker's CLI.
        if arguments.positionals[0].isEmpty {
            throw UsageError(command: command, reason: .custom("source can not be empty"))
        }
        if arguments.positionals[1].isEmpty {
            throw UsageError(command: command, reason: .custom("destination can not be empty"))
        }
        let source = split(arguments.positionals[0])
        let destination = split(arguments.positionals[1])
        switch (source.container, destination.container) {
        case (.some, .some):
            throw UsageError(command: command, reason: .custom("copying between containers is not supported"))
        case (nil, nil):
            throw UsageError(command: command, reason: .custom("must specify at least one container source"))
        default:
            break
        }
        for part in [source, destination] where part.container != nil && part.path.isEmpty {
            throw UsageError(command: command, reason: .custom("the path after \"\(part.container ?? ""):\" is empty"))
        }

        let manager = try ContainerSupport.manager(context)
        raiseOpenFileLimit()
        let showsProgress = !arguments[quiet] && context.stderr.isTerminal
        let follow = arguments[followLink]

        if let name = source.container {
            let container = try manager.repository.find(name)
            if destination.path == "-" {
                let output = context.stdout
                _ = try await StoreSupport.blocking {
                    try manager.copyOut(
                        container, path: source.path, to: .archive({ output.write(bytes: Array($0)) }), followLink: follow)
                }
                return ExitStatus.success
            }
            let target = context.absolutePath(destination.path)
            let copied = try await StoreSupport.blocking {
                try manager.copyOut(container, path: source.path, to: .local(target), followLink: follow)
            }
            if showsProgress { context.stderr.line("Successfully copied \(HumanUnits.preciseSize(copied)) to \(destination.path)") }
            return ExitStatus.success
        }

        let name = destination.container ?? ""
        let container = try manager.repository.find(name)
        let origin: CopyInSource
        if source.path == "-" {
            origin = .archive(try spool(context.stdin, storeRoot: manager.store.layout.root))
        } else {
            origin = .local(context.absolutePath(source.path))
        }
        let keepsOwner = arguments[archive]
        let copied = try await StoreSupport.blocking {
            try manager.copyIn(container, path: destination.path, from: origin, followLink: follow, archive: keepsOwner)
        }
        if showsProgress, source.path != "-" {
            context.stderr.line("Successfully copied \(HumanUnits.preciseSize(copied)) to \(name):\(destination.path)")
        }
        return ExitStatus.success
    }

    /// Splits `CONTAINER:PATH` as Docker does: an absolute path, a path starting with `.` and a
    /// word without a colon are local paths, so `./a:b` names a local file.
    static func split(_ argument: String) -> (container: String?, path: String) {
        if argument.hasPrefix("/") { return (nil, argument) }
        guard let colon = argument.firstIndex(of: ":") else { return (nil, argument) }
        let container = String(argument[..<colon])
        if container.hasPrefix(".") { return (nil, argument) }
        return (container, String(argument[argument.index(after: colon)...]))
    }

    /// Copies standard input into an unnamed temporary file in the store, which the copy reads
    /// twice: once to check every entry, once to extract. The file disappears when it is closed.
    static func spool(_ input: InputSource, storeRoot: String) throws -> FileDescriptor {
        let file = try FileDescriptor.open(storeRoot, flags: O_RDWR | kiln_o_tmpfile, mode: 0o600, displayPath: "a temporary file in \(storeRoot)")
        switch input {
        case .bytes(let bytes):
            try file.write(bytes)
        case .fileDescriptor(let fd):
            let stdin = FileDescriptor(adopting: dup(fd), path: "standard input")
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let count = try buffer.withUnsafeMutableBytes { try stdin.read(into: $0) }
                if count == 0 { break }
                try buffer.withUnsafeBytes { try file.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            }
            try stdin.close()
        }
        return file
    }

    /// Raises the soft limit of open files to the hard limit, as Go programs such as Docker's do
    /// at start. A folder copy keeps about one descriptor per file until it ends (for the undo on
    /// failure), so the soft limit of 1024 failed copies of larger folders.
    // TODO: keep paths instead of descriptors for the undo, so that no limit applies.
    static func raiseOpenFileLimit() {
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(resource, &limit)
    }
}
