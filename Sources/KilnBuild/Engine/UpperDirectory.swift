import Glibc
import KilnSystem

/// Tidying of a finished step's upper directory before it becomes a layer.
struct UpperDirectoryCleaner {
    let upper: String
    /// The step's lower directories, topmost first.
    let lowers: [String]

    /// Removes empty directories that the upper directory holds only as copies of a lower
    /// directory with the same owner and mode: overlayfs copies a directory up when something
    /// is created in it, and the runtime creates and removes mount points (/etc/hosts, /proc) in
    /// every RUN step. What is left would otherwise put `etc/` into every layer.
    ///
    /// NOTE: a step whose only change was the modification time of such a directory loses it.
    func pruneCopiedDirectories() throws {
        let top = try FileDescriptor.open(upper, flags: O_RDONLY | O_DIRECTORY)
        let lowerRoots = try lowers.map { try FileDescriptor.open($0, flags: O_RDONLY | O_DIRECTORY) }
        try DirectoryWalk.walk(top) { walked in
            walked.status.kind == .directory ? .descend : .skip
        } leave: { walked in
            let directory = try walked.entry.openDirectory()
            guard try listDirectory(directory).isEmpty else { return }
            guard try walked.entry.extendedAttributes()["trusted.overlay.opaque"] == nil else { return }
            guard let lower = try Self.lowerStatus(walked.relativePath, in: lowerRoots), lower.kind == .directory,
                lower.permissions == walked.status.permissions, lower.userID == walked.status.userID,
                lower.groupID == walked.status.groupID
            else { return }
            try walked.entry.remove()
        }
    }

    /// The status of `path` in the topmost lower directory that has it, looked up as overlayfs
    /// does: through directories only, never through a link.
    static func lowerStatus(_ path: FilePath, in lowers: [FileDescriptor]) throws -> FileStatus? {
        for lower in lowers {
            var directory = lower
            var found: FileStatus?
            var reachable = true
            let components = path.components
            for (index, component) in components.enumerated() {
                let entry = DirectoryEntry(directory: directory, name: component, path: component)
                guard let status = try entry.status() else {
                    reachable = false
                    break
                }
                if index == components.count - 1 {
                    found = status
                } else {
                    guard status.kind == .directory else { return nil }
                    directory = try entry.openDirectory()
                }
            }
            if let found { return found.isWhiteout ? nil : found }
            if !reachable { continue }
        }
        return nil
    }

    /// Sets every modification time later than `epoch` to `epoch`, as the layer will have it,
    /// so that the snapshot kept from this directory matches the layer.
    static func clampTimes(in upper: String, to epoch: Int64) throws {
        let top = try FileDescriptor.open(upper, flags: O_RDONLY | O_DIRECTORY)
        let limit = timespec(tv_sec: Int(epoch), tv_nsec: 0)
        try DirectoryWalk.walk(top) { walked in
            if walked.status.modificationTime.tv_sec >= limit.tv_sec && !walked.status.isWhiteout {
                try walked.entry.setTimes(access: nil, modification: limit)
            }
            return .descend
        }
    }
}

/// The entries of an upper directory as the `layer` hook sees them.
enum LayerEntries {
    static func list(_ upper: String) throws -> [LayerEntry] {
        let top = try FileDescriptor.open(upper, flags: O_RDONLY | O_DIRECTORY)
        var entries: [LayerEntry] = []
        try DirectoryWalk.walk(top) { walked in
            let path = walked.relativePath.string ?? walked.relativePath.description
            let status = walked.status
            let kind: LayerEntry.Kind
            var target: String?
            switch status.kind {
            case .regular: kind = status.linkCount > 1 ? .hardlink : .file
            case .directory: kind = .directory
            case .symbolicLink:
                kind = .symlink
                target = try walked.entry.readLink().string
            case .characterDevice where status.isWhiteout: kind = .whiteout
            default: kind = .other
            }
            entries.append(
                LayerEntry(path: path, kind: kind, size: status.size, mode: UInt32(status.permissions), linkTarget: target))
            return .descend
        }
        return entries
    }
}
