import CSystem
import Glibc

/// One entry met during a `DirectoryWalk`.
public struct WalkEntry: Sendable {
    /// The entry inside its open parent directory.
    public var entry: DirectoryEntry
    /// The path relative to the walk's top directory (`etc/passwd`).
    public var relativePath: FilePath
    public var status: FileStatus
    /// 1 for entries directly in the top directory.
    public var depth: Int
}

/// A depth-first walk of a directory tree through file descriptors, in byte order of names.
///
/// Nothing is resolved by path: each directory is opened from its parent with `O_NOFOLLOW`, and
/// links are reported, never followed. A RUN step can nest directories thousands deep, so the
/// walk keeps at most `maximumOpenDirectories` descriptors open. Beyond that it closes ancestors
/// and reopens them through `..`, checking their device and inode to detect a directory that
/// moved meanwhile.
public struct DirectoryWalk {
    public enum Action: Sendable {
        /// Walk into this directory (ignored for other entries).
        case descend
        /// Do not walk into this directory.
        case skip
    }

    public static let maximumOpenDirectories = 128

    private struct Frame {
        var descriptor: FileDescriptor?
        let device: dev_t
        let inode: ino_t
        /// The names left to visit, last name first.
        var remaining: [FilePath]
        /// The directory's own entry, nil for the top directory.
        let name: FilePath?
        let relativePath: FilePath
        let status: FileStatus?
    }

    /// Walks the tree under `top`.
    ///
    /// - Parameters:
    ///   - visit: called for every entry before its children; returns whether to descend.
    ///   - leave: called for every directory that was descended into, after its children. Its
    ///     parent is open again by then, so it can remove the directory or set its metadata last.
    public static func walk(
        _ top: FileDescriptor, path: FilePath = "",
        visit: (WalkEntry) throws -> Action,
        leave: (WalkEntry) throws -> Void = { _ in }
    ) throws {
        let topStatus = try top.stat()
        var stack = [
            Frame(
                descriptor: top, device: topStatus.device, inode: topStatus.inode,
                remaining: try listDirectory(top, path: path).sorted(by: >), name: nil, relativePath: "", status: nil)
        ]

        while !stack.isEmpty {
            let index = stack.count - 1
            guard let name = stack[index].remaining.popLast() else {
                let finished = stack.removeLast()
                guard let finishedName = finished.name, let finishedStatus = finished.status else { continue }
                let parent = try reopenTop(&stack, from: finished, path: path)
                try leave(
                    WalkEntry(
                        entry: DirectoryEntry(directory: parent, name: finishedName, path: path.appending(finished.relativePath)),
                        relativePath: finished.relativePath, status: finishedStatus, depth: stack.count))
                continue
            }
            guard let directory = stack[index].descriptor else {
                throw SystemError("walk", path: stack[index].relativePath.description, errno: EBADF)
            }
            let relativePath = stack[index].relativePath.appending(name)
            let entry = DirectoryEntry(directory: directory, name: name, path: path.appending(relativePath))
            // An entry removed since the listing was read is skipped.
            guard let status = try entry.status() else { continue }

            let action = try visit(WalkEntry(entry: entry, relativePath: relativePath, status: status, depth: stack.count))
            guard status.kind == .directory, action == .descend else { continue }

            let child: FileDescriptor
            do {
                child = try entry.openDirectory()
            } catch let error as SystemError where error.errno == ENOENT || error.errno == ENOTDIR || error.errno == ELOOP {
                continue
            }
            let childStatus = try child.stat()
            guard childStatus.device == status.device, childStatus.inode == status.inode else {
                throw SystemError("walk", path: relativePath.description, errno: EAGAIN, detail: "the directory changed during the walk")
            }
            stack.append(
                Frame(
                    descriptor: child, device: status.device, inode: status.inode,
                    remaining: try listDirectory(child, path: relativePath).sorted(by: >), name: name,
                    relativePath: relativePath, status: status))
            if stack.count > maximumOpenDirectories {
                stack[stack.count - maximumOpenDirectories - 1].descriptor = nil
            }
        }
    }

    /// Returns the descriptor of the frame now on top, reopening it through `..` of `finished`
    /// when it was closed to save descriptors.
    private static func reopenTop(_ stack: inout [Frame], from finished: Frame, path: FilePath) throws -> FileDescriptor {
        let index = stack.count - 1
        if let descriptor = stack[index].descriptor { return descriptor }
        guard let child = finished.descriptor else {
            throw SystemError("walk", path: finished.relativePath.description, errno: EBADF)
        }
        let parent = try child.openAt("..", flags: kiln_o_path | O_DIRECTORY | O_NOFOLLOW)
        let status = try parent.stat()
        guard status.device == stack[index].device, status.inode == stack[index].inode else {
            throw SystemError(
                "walk", path: stack[index].relativePath.description, errno: EAGAIN,
                detail: "the directory moved during the walk")
        }
        stack[index].descriptor = parent
        return parent
    }
}

extension DirectoryEntry {
    /// Removes the entry and, for a directory, everything below it, without following any link.
    /// Returns false when there was nothing to remove.
    @discardableResult
    public func removeAll() throws -> Bool {
        guard let status = try status() else { return false }
        guard status.kind == .directory else { return try remove() }
        let top = try openDirectory()
        try DirectoryWalk.walk(top, path: path) { walked in
            if walked.status.kind == .directory { return .descend }
            try walked.entry.remove()
            return .skip
        } leave: { walked in
            try walked.entry.remove()
        }
        return try remove()
    }

    /// Removes everything inside this directory entry and keeps the directory.
    public func removeContents() throws {
        let top = try openDirectory()
        for name in try listDirectory(top, path: path) {
            try DirectoryEntry(directory: top, name: name, path: path.appending(name)).removeAll()
        }
    }
}
