import Foundation
import Glibc
import KilnSnapshot
import KilnSystem

/// Creates a volume's `_data` directory and, as Docker does for a new volume, fills it with the
/// image's files at the volume's destination, keeping owners, modes, modification times, links
/// and hard links.
///
/// The rootfs comes from the image and is untrusted. The destination is resolved inside it
/// (`RootDirectory`), the walk never follows a link, and links are copied as links, so no link
/// in the image makes kiln read or write a file outside the rootfs and the volume.
struct VolumeFiller {
    /// The volume's directory, `<root>/volumes/NAME`.
    var volumeDirectory: String
    /// Whether a new volume gets the image's files (false for `nocopy`).
    var copiesImageContent: Bool

    static let dataName: FilePath = "_data"

    /// Creates `_data` when it is missing, filled from `destination` in `rootfs`. An existing
    /// `_data` is left as it is, so a volume is filled once, by the first container that mounts it.
    func prepare(rootfs: String, destination: String) throws {
        try FileManager.default.createDirectory(atPath: volumeDirectory, withIntermediateDirectories: true)
        let volume = try RootDirectory(path: FilePath(volumeDirectory))
        let data = try volume.entry(Self.dataName)
        if try data.status() != nil { return }
        guard copiesImageContent, let source = try Self.openSource(rootfs: rootfs, destination: destination) else {
            do {
                try data.makeDirectory(permissions: 0o755)
            } catch let error as SystemError where error.errno == EEXIST {}
            return
        }

        // The copy is made beside `_data` and renamed into place, so a failed or interrupted copy
        // never leaves a half-filled volume that later starts would take as filled.
        // NOTE: a kiln killed during the copy leaves its `.filling-` directory in the volume's
        // directory until the volume is removed.
        let scratch = try volume.entry(FilePath(".filling-" + ContainerIdentifier.random().prefix(16)))
        try scratch.makeDirectory(permissions: 0o700)
        do {
            try copyTree(from: source, into: scratch)
        } catch {
            _ = try? scratch.removeAll()
            throw error
        }
        do {
            try scratch.rename(to: data, replace: false)
        } catch let error as SystemError where error.errno == EEXIST {
            // Another start of a container with this volume filled it first.
            _ = try? scratch.removeAll()
        } catch {
            _ = try? scratch.removeAll()
            throw error
        }
    }

    /// Opens the directory at `destination` inside `rootfs`, following links inside it. Returns nil
    /// when the image has nothing there or a file that is not a directory.
    static func openSource(rootfs: String, destination: String) throws -> FileDescriptor? {
        let root = try RootDirectory(path: FilePath(rootfs))
        do {
            return try root.open(FilePath(destination), flags: O_RDONLY | O_DIRECTORY)
        } catch let error as SystemError where error.errno == ENOENT || error.errno == ENOTDIR {
            return nil
        }
    }

    private func copyTree(from source: FileDescriptor, into scratch: DirectoryEntry) throws {
        let copier = EntryCopier()
        let target = try RootDirectory(path: FilePath(volumeDirectory).appending(scratch.name))
        // The first copy of each file with several names in the tree, so its other names become
        // hard links to it.
        var firstCopies: [FileIdentity: FilePath] = [:]
        try DirectoryWalk.walk(source) { walked in
            let destination = try target.entry(walked.relativePath)
            if walked.status.kind != .directory, walked.status.linkCount > 1 {
                let identity = FileIdentity(device: walked.status.device, inode: walked.status.inode)
                if let first = firstCopies[identity] {
                    try destination.makeHardLink(to: try target.entry(first))
                    return .skip
                }
                firstCopies[identity] = walked.relativePath
            }
            try copier.copy(walked.entry, status: walked.status, to: destination)
            return .descend
        } leave: { walked in
            try copier.finishDirectory(try target.entry(walked.relativePath), status: walked.status)
        }

        // The volume's top directory takes the owner, mode and time of the image's directory.
        let status = try source.stat()
        if copier.setsOwners { try scratch.setOwner(user: status.userID, group: status.groupID) }
        try scratch.setPermissions(status.permissions)
        try copier.finishDirectory(scratch, status: status)
    }
}

/// A file's device and inode, which its hard links share.
private struct FileIdentity: Hashable {
    var device: dev_t
    var inode: ino_t
}
