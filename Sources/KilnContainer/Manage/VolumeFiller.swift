import CSystem
import Foundation
import Glibc
import KilnSnapshot
import KilnStore
import KilnSystem

/// Creates a volume's `_data` directory and, as Docker does for a new or empty volume, fills it
/// with the image's files at the volume's destination, keeping owners, modes, modification times, links
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

    /// The prefix of the scratch directories that a copy fills before it moves into `_data`.
    static let scratchPrefix = ".filling-"

    /// Creates `_data` when it is missing and, as Docker does, fills a new or empty `_data` from
    /// `destination` in `rootfs`. A `_data` with any entry is left as it is, so a volume is
    /// filled once, by the first container that mounts it with the image's files there. Scratch
    /// directories of a copy whose kiln was killed are removed first.
    func prepare(rootfs: String, destination: String) throws {
        try FileManager.default.createDirectory(atPath: volumeDirectory, withIntermediateDirectories: true)
        let volume = try RootDirectory(path: FilePath(volumeDirectory))
        removeAbandonedScratchDirectories(in: volume)
        let data = try volume.entry(Self.dataName)
        let existing = try data.status()
        if let existing {
            guard existing.kind == .directory, try Self.isEmptyDirectory(data) else { return }
        }
        guard copiesImageContent, let source = try Self.openSource(rootfs: rootfs, destination: destination) else {
            guard existing == nil else { return }
            do {
                try data.makeDirectory(permissions: 0o755)
            } catch let error as SystemError where error.errno == EEXIST {}
            return
        }

        // The copy is made beside `_data` and moved into place, so a failed or interrupted copy
        // never leaves a half-filled volume that later starts would take as filled. The name
        // carries the owner, so that the next use of the volume can tell an abandoned copy from
        // one in progress.
        let scratchName = Self.scratchPrefix + ProcessIdentity.current.fileTag + "-" + ContainerIdentifier.random().prefix(8)
        let scratch = try volume.entry(FilePath(scratchName))
        try scratch.makeDirectory(permissions: 0o700)
        do {
            try copyTree(from: source, into: scratch)
            if existing == nil {
                try moveNew(scratch, to: data)
            } else {
                try moveContents(of: scratch, into: data)
            }
        } catch {
            _ = try? scratch.removeAll()
            throw error
        }
    }

    /// Renames the filled scratch directory to `_data`.
    private func moveNew(_ scratch: DirectoryEntry, to data: DirectoryEntry) throws {
        do {
            try scratch.rename(to: data, replace: false)
        } catch let error as SystemError where error.errno == EEXIST {
            // Another start of a container with this volume made `_data` first.
            _ = try? scratch.removeAll()
        }
    }

    /// Moves the entries of the filled scratch directory into an existing empty `_data`, which
    /// keeps its inode: a running container may have it mounted already, as in Docker, where the
    /// copy goes into the volume's directory itself. The directory then takes the owner, mode and
    /// time of the image's directory.
    ///
    /// NOTE: a kiln killed between two moves leaves `_data` partly filled, and since it is no
    /// longer empty, no later start fills it.
    private func moveContents(of scratch: DirectoryEntry, into data: DirectoryEntry) throws {
        let scratchDirectory = try scratch.openDirectory()
        let dataDirectory = try data.openDirectory()
        let names = try listDirectory(scratchDirectory, path: scratch.path)
        // Read before the moves, which change the scratch directory's times.
        let status = try scratchDirectory.stat()
        // Another start that filled the volume first wins, and this copy goes.
        guard try Self.isEmptyDirectory(data) else {
            _ = try scratch.removeAll()
            return
        }
        for name in names {
            let from = DirectoryEntry(directory: scratchDirectory, name: name, path: scratch.path.appending(name))
            let to = DirectoryEntry(directory: dataDirectory, name: name, path: data.path.appending(name))
            try from.rename(to: to, replace: false)
        }
        let copier = EntryCopier()
        if copier.setsOwners { try data.setOwner(user: status.userID, group: status.groupID) }
        _ = try data.setPermissions(status.permissions)
        try copier.finishDirectory(data, status: status)
        _ = try scratch.remove()
    }

    /// Removes the scratch directories of copies whose kiln has exited. A directory of a live
    /// process, or of one in another PID namespace, stays. One without an owner tag, made by an
    /// older kiln, counts as abandoned.
    private func removeAbandonedScratchDirectories(in volume: RootDirectory) {
        guard let top = try? volume.openDirectory(""), let names = try? listDirectory(top) else { return }
        for name in names {
            guard let text = name.string, text.hasPrefix(Self.scratchPrefix) else { continue }
            let tag = String(text.dropFirst(Self.scratchPrefix.count))
            if let owner = ProcessIdentity.owner(fromFileName: tag), ProcessIdentity.liveness(of: owner) != .dead {
                continue
            }
            _ = try? DirectoryEntry(directory: top, name: name, path: name).removeAll()
        }
    }

    /// Tells whether the directory has no entries. It reads no further than the first entry,
    /// because every start of a container with the volume checks, however full the volume is.
    static func isEmptyDirectory(_ entry: DirectoryEntry) throws -> Bool {
        let directory = try entry.openDirectory()
        let readable = kiln_openat(directory.rawValue, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        guard readable >= 0 else { throw SystemError("open directory", path: entry.path.description, errno: errno) }
        guard let stream = fdopendir(readable) else {
            let error = SystemError("open directory", path: entry.path.description, errno: errno)
            close(readable)
            throw error
        }
        defer { closedir(stream) }
        while let item = readdir(stream) {
            let name = withUnsafeBytes(of: &item.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name != [UInt8(ascii: ".")] && name != [UInt8(ascii: "."), UInt8(ascii: ".")] { return false }
        }
        return true
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
struct FileIdentity: Hashable {
    var device: dev_t
    var inode: ino_t
}
