import CSystem
import Foundation
import KilnDiagnostics
import KilnSystem

/// Writes a command's output file (`kiln save -o`, `kiln build -o type=tar,dest=`, archive
/// destinations of `kiln push`) without ever replacing a device or FIFO by a regular file.
///
/// A new or regular file is written to a temporary file beside it, synced and renamed into
/// place, so the file is either complete or as it was. A symlink is followed, and its target is
/// written as if it had been named. An existing file that is not regular (`/dev/null`, a FIFO, a
/// socket), named directly or through symlinks, is opened and written in place, so a failed
/// write can leave part of the output there. So is anything reached through a link in `/proc`
/// (`/dev/stdout` is a link to `/proc/self/fd/1`): such a link names an open file, which may be
/// a pipe or a file the shell redirected to, and its text is not a path to rename over.
///
/// Read and write errors name `path` as the user gave it, because each descriptor carries it. A
/// FIFO whose reader closed early gives a "Broken pipe" error, as in Docker's CLI, instead of
/// killing kiln with SIGPIPE.
///
/// Docker's CLIs differ on symlinks: 20.10 renames a temporary file over the link, which
/// replaces it (and, as root, even `/dev/stdout`), and 28 refuses a symlink.
enum OutputFile {
    /// The maximum number of symlinks followed, as Linux's `MAXSYMLINKS`.
    static let maxSymlinkHops = 40

    static func write(to path: String, _ body: (FileDescriptor) throws -> Void) throws {
        let target = try resolvedTarget(of: path)
        if let number = ownDescriptor(named: target), !InheritedDescriptors.contains(number) {
            throw GeneralError(
                "cannot write \(quoted(path)): \(quoted(target)) names no descriptor that kiln was started with",
                hint: "name a file, or a descriptor that the shell opens for kiln, as in 3>FILE")
        }
        var status = stat()
        if stat(target, &status) == 0 {
            switch status.st_mode & S_IFMT {
            case S_IFDIR:
                throw GeneralError("cannot write \(quoted(path)): it is a directory", hint: "name a file instead")
            case S_IFREG where !isProcessLink(target):
                break
            default:
                try writeInPlace(path: path, target: target, regular: status.st_mode & S_IFMT == S_IFREG, body)
                return
            }
        } else if isProcessLink(target) {
            throw GeneralError("cannot write \(quoted(path)): \(quoted(target)) names no open file")
        }
        try writeReplacing(path: path, target: target, body)
    }

    /// Checks, before a build or push that may take minutes, that `path` can take a small output
    /// file such as `--iidfile`: it must not be empty or a directory, and its folder must exist.
    /// `write(to:)` still reports what changes on disk after this check. Returns the path made
    /// absolute.
    static func checkedPath(_ text: String, option: String, command: String, context: CommandContext) throws -> String {
        guard !text.isEmpty else {
            throw UsageError(command: command, reason: .custom("--\(option): the file name is empty"))
        }
        let path = context.absolutePath(text)
        let target = try resolvedTarget(of: path)
        var status = stat()
        if stat(target, &status) == 0 {
            if status.st_mode & S_IFMT == S_IFDIR {
                throw GeneralError(
                    "--\(option): cannot write \(quoted(path)): it is a directory", hint: "name a file instead")
            }
            return path
        }
        guard !isProcessLink(target) else { return path }
        let directory = (target as NSString).deletingLastPathComponent
        let folder = directory.isEmpty ? "." : directory
        guard stat(folder, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
            throw GeneralError(
                "--\(option): cannot write \(quoted(path)): the folder \(quoted(folder)) does not exist",
                hint: "create the folder first")
        }
        return path
    }

    /// Writes `text` as the whole of a small output file, such as the image ID of `--iidfile`.
    static func write(_ text: String, to path: String, option: String) throws {
        do {
            try write(to: path) { try $0.write(Array(text.utf8)) }
        } catch let error as KilnError {
            var diagnostic = error.diagnostic
            diagnostic.message = "--\(option): \(diagnostic.message)"
            throw GeneralError(diagnostic.message, hint: diagnostic.hint)
        }
    }

    /// Tells whether `path` lies in `/proc`, where the kernel resolves links such as
    /// `/proc/self/fd/1` to open files rather than by their text. `/dev/fd/1` counts too,
    /// because its folder resolves to `/proc/<pid>/fd`.
    static func isProcessLink(_ path: String) -> Bool {
        let parent = (path as NSString).deletingLastPathComponent
        guard let resolved = realpath(parent.isEmpty ? "." : parent, nil) else { return false }
        defer { free(resolved) }
        let folder = String(cString: resolved)
        return folder == "/proc" || folder.hasPrefix("/proc/")
    }

    /// Returns the descriptor number that `path` names when it is an entry of an `fd` folder in
    /// `/proc` of this process or one of its threads (`/proc/self/fd/3`, `/dev/fd/3`,
    /// `/proc/<pid>/task/<tid>/fd/3`, `/proc/<tid>/fd/3`).
    static func ownDescriptor(named path: String) -> Int32? {
        guard isProcessLink(path), let number = Int32((path as NSString).lastPathComponent) else { return nil }
        let parent = (path as NSString).deletingLastPathComponent
        guard let resolved = realpath(parent, nil) else { return nil }
        defer { free(resolved) }
        let components = String(cString: resolved).split(separator: "/")
        guard components.count >= 3, components[0] == "proc", components.last == "fd",
            let process = Int32(components[1])
        else { return nil }
        return threadGroup(of: process) == getpid() ? number : nil
    }

    /// Returns the process that thread `id` belongs to, from the `Tgid:` line of `/proc/<id>/status`.
    static func threadGroup(of id: Int32) -> Int32? {
        guard let status = try? String(contentsOfFile: "/proc/\(id)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("Tgid:") {
            return Int32(line.dropFirst("Tgid:".count).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// Follows `path` while it is a symlink and returns the path it ends at, which may not exist
    /// (a dangling link names the file to create). It stops at a link in `/proc`, whose text
    /// (`pipe:[…]`, or the path of a file that was since renamed) is no path to follow.
    static func resolvedTarget(of path: String) throws -> String {
        var current = path
        for _ in 0..<maxSymlinkHops {
            var status = stat()
            guard !isProcessLink(current), lstat(current, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else {
                return current
            }

            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink(current, &buffer, buffer.count - 1)
            guard count >= 0 else {
                throw GeneralError("cannot write \(quoted(path)): reading symlink \(quoted(current)) failed: \(errorText())")
            }
            let link = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if link.hasPrefix("/") {
                current = link
            } else {
                current = ((current as NSString).deletingLastPathComponent as NSString).appendingPathComponent(link)
            }
        }
        throw GeneralError("cannot write \(quoted(path)): too many levels of symlinks")
    }

    private static func writeInPlace(
        path: String, target: String, regular: Bool, _ body: (FileDescriptor) throws -> Void
    ) throws {
        // No O_CREAT: the file exists. A FIFO blocks here until a reader opens it. Only a regular
        // file reached through `/proc` has old bytes to truncate, as a shell's `>` would.
        let descriptor = try FileDescriptor.open(target, flags: O_WRONLY | (regular ? O_TRUNC : 0), displayPath: path)
        try withBrokenPipeAsError {
            try body(descriptor)
            try descriptor.close()
        }
    }

    /// Writes `target` through a file that has no name until it is complete, then gives it a
    /// hidden temporary name and renames that over `target`. A kiln killed while writing (Ctrl-C,
    /// `kill -9`, a full disk) so leaves nothing in the folder. A file system without
    /// `O_TMPFILE` gets the named temporary file from the start, which a killed kiln leaves.
    private static func writeReplacing(path: String, target: String, _ body: (FileDescriptor) throws -> Void) throws {
        let directory = (target as NSString).deletingLastPathComponent
        let name = (target as NSString).lastPathComponent
        let folder = directory.isEmpty ? "." : directory
        var folderStatus = stat()
        guard stat(folder, &folderStatus) == 0, folderStatus.st_mode & S_IFMT == S_IFDIR else {
            throw GeneralError(
                "cannot write \(quoted(path)): the folder \(quoted(folder)) does not exist", hint: "create the folder first")
        }
        let temporary = "\(folder)/.\(name).kiln-\(UUID().uuidString.prefix(8))"
        let unnamed = kiln_openat(AT_FDCWD, folder, O_WRONLY | kiln_o_tmpfile | O_CLOEXEC, 0o666)
        let descriptor =
            unnamed >= 0
            ? FileDescriptor(adopting: unnamed, path: path)
            : try FileDescriptor.open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o666, displayPath: path)
        do {
            try withBrokenPipeAsError {
                try body(descriptor)
                try descriptor.sync()
            }
            if unnamed >= 0,
                linkat(AT_FDCWD, "/proc/self/fd/\(descriptor.rawValue)", AT_FDCWD, temporary, AT_SYMLINK_FOLLOW) != 0
            {
                throw GeneralError("cannot write \(quoted(path)): \(errorText())")
            }
            try descriptor.close()
            guard rename(temporary, target) == 0 else {
                throw GeneralError("cannot write \(quoted(path)): \(errorText())")
            }
        } catch {
            try? descriptor.close()
            unlink(temporary)
            throw error
        }
    }

    private static func errorText() -> String {
        String(cString: strerror(errno))
    }

    private static func quoted(_ text: String) -> String {
        escapedForDisplay(text)
    }
}
