import CSystem
import Glibc
import KilnLayer
import KilnSystem

/// The origin of a regular file's content in a copy.
enum CopyData {
    /// A file to open when its content is needed, copied with copy_file_range(2) where the
    /// kernel can. The check pass of a copy never opens it.
    case file(() throws -> FileDescriptor)
    /// A reader that fills a buffer and returns 0 at the end, such as an archive's entry.
    case reader((UnsafeMutableRawBufferPointer) throws -> Int)
    case none
}

/// The entries that a copy reads, in order, parents before their children: a tree on a file
/// system or a tar archive. A source can be read more than once, so the destination is checked
/// completely before anything is written.
protocol CopySource {
    /// Calls `visit` for each entry. `TarEntry.path` is the entry's name relative to the
    /// destination directory, not yet cleaned for an archive.
    func forEach(_ visit: (TarEntry, CopyData) throws -> Void) throws

    /// The source's name in messages about its entries ("standard input"); nil for a tree,
    /// whose entries are named by their paths.
    var origin: String? { get }
}

extension CopySource {
    var origin: String? { nil }
}

/// A file or directory tree inside a `RootDirectory`, read without following any link below its top.
struct TreeSource: CopySource {
    /// The top as resolved: either a descriptor (when the path was followed to its end) or an
    /// entry whose last component is never followed.
    enum Top {
        case descriptor(FileDescriptor, FileStatus)
        case entry(DirectoryEntry, FileStatus)
    }

    let root: RootDirectory
    let path: FilePath
    let top: Top
    /// The name the top takes in the copy; empty to copy a directory's contents only.
    var name: FilePath

    var status: FileStatus {
        switch top {
        case .descriptor(_, let status), .entry(_, let status): return status
        }
    }

    /// Resolves `path` inside `root`. Links before the last component are followed inside the
    /// root; the last one is followed too with `followLast`. Returns nil when nothing is there.
    static func resolve(_ path: FilePath, in root: RootDirectory, followLast: Bool) throws -> Top? {
        do {
            if path.components.isEmpty || followLast {
                let descriptor = path.components.isEmpty ? root.descriptor : try root.open(path, flags: kiln_o_path)
                return .descriptor(descriptor, try descriptor.stat())
            }
            let entry = try root.entry(path)
            guard let status = try entry.status() else { return nil }
            return .entry(entry, status)
        } catch let error as SystemError where error.errno == ENOENT {
            return nil
        }
    }

    func forEach(_ visit: (TarEntry, CopyData) throws -> Void) throws {
        var firstNames: [FileIdentity: FilePath] = [:]
        let status = self.status

        switch top {
        case .descriptor(let descriptor, _):
            if status.kind == .directory {
                if !name.isEmpty { try visit(Self.tarEntry(name, status: status), .none) }
                try walk(descriptor, firstNames: &firstNames, visit)
                return
            }
            guard status.kind == .regular else {
                // Only a link's target can be a device or a FIFO here; a link was followed.
                try visit(Self.tarEntry(name, status: status), .none)
                return
            }
            let data = try root.open(path, flags: O_RDONLY)
            try visit(Self.tarEntry(name, status: try data.stat()), .file({ data }))
        case .entry(let entry, _):
            try emit(entry, status: status, name: name, firstNames: &firstNames, visit)
            if status.kind == .directory {
                try walk(try entry.openDirectory(), firstNames: &firstNames, visit)
            }
        }
    }

    private func walk(
        _ directory: FileDescriptor, firstNames: inout [FileIdentity: FilePath], _ visit: (TarEntry, CopyData) throws -> Void
    ) throws {
        try DirectoryWalk.walk(directory, path: path) { walked in
            let childName = name.isEmpty ? walked.relativePath : name.appending(walked.relativePath)
            // Sockets have no archive form; Docker's archives leave them out too.
            if walked.status.kind == .socket { return .skip }
            try emit(walked.entry, status: walked.status, name: childName, firstNames: &firstNames, visit)
            return .descend
        }
    }

    private func emit(
        _ entry: DirectoryEntry, status: FileStatus, name: FilePath, firstNames: inout [FileIdentity: FilePath],
        _ visit: (TarEntry, CopyData) throws -> Void
    ) throws {
        var tarEntry = Self.tarEntry(name, status: status)
        switch status.kind {
        case .regular:
            if status.linkCount > 1 {
                let identity = FileIdentity(device: status.device, inode: status.inode)
                if let first = firstNames[identity] {
                    tarEntry.kind = .hardLink
                    tarEntry.size = 0
                    tarEntry.linkTarget = first
                    try visit(tarEntry, .none)
                    return
                }
                firstNames[identity] = name
            }
            try visit(tarEntry, .file({ try entry.open(flags: O_RDONLY) }))
        case .symbolicLink:
            tarEntry.linkTarget = try entry.readLink()
            try visit(tarEntry, .none)
        default:
            try visit(tarEntry, .none)
        }
    }

    // TODO: extended attributes (`security.capability`, `user.*`) are not copied; Docker's
    // archives carry them as PAX records.
    static func tarEntry(_ name: FilePath, status: FileStatus) -> TarEntry {
        let kind: TarEntry.Kind
        switch status.kind {
        case .regular, .socket: kind = .regular
        case .directory: kind = .directory
        case .symbolicLink: kind = .symbolicLink
        case .characterDevice: kind = .characterDevice
        case .blockDevice: kind = .blockDevice
        case .fifo: kind = .fifo
        }
        var entry = TarEntry(path: name, kind: kind)
        entry.size = kind == .regular ? status.size : 0
        entry.permissions = status.permissions
        entry.userID = status.userID
        entry.groupID = status.groupID
        entry.modificationTime = status.modificationTime
        entry.deviceMajor = status.deviceMajor
        entry.deviceMinor = status.deviceMinor
        return entry
    }
}

/// A tar archive in a file, such as standard input spooled by `kiln cp -`. Names are passed on
/// as they are; the extractor cleans and checks them.
struct ArchiveSource: CopySource {
    let file: FileDescriptor
    var limits = LayerLimits()
    var origin: String? { "standard input" }

    func forEach(_ visit: (TarEntry, CopyData) throws -> Void) throws {
        guard lseek(file.rawValue, 0, SEEK_SET) == 0 else { throw SystemError("seek", path: "the archive", errno: errno) }
        let name = origin ?? "the archive"
        // The reader's errors name a layer, which the archive of `kiln cp -` is not.
        func reading<T>(_ body: () throws -> T) throws -> T {
            do {
                return try body()
            } catch let error as LayerError {
                throw CopyError(.malformedArchive(origin: name, reason: error.messageWithoutLayer))
            }
        }
        let reader = try reading { try TarReader(layer: name, limits: limits) { buffer in try file.read(into: buffer) } }
        while let entry = try reading({ try reader.next() }) {
            try visit(entry, entry.kind == .regular ? .reader({ buffer in try reading { try reader.readData(into: buffer) } }) : .none)
        }
    }
}

/// Writes the entries of a source as a tar stream, as `kiln cp CONTAINER:PATH -` does.
enum ArchiveOutput {
    /// Writes `source` to `push` and returns the bytes of file content written.
    static func write(_ source: CopySource, to push: @escaping TarWriter.Push) throws -> Int64 {
        let writer = try TarWriter(push: push)
        var copied: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        try source.forEach { entry, data in
            var named = entry
            if entry.kind == .directory, entry.path.bytes.last != UInt8(ascii: "/") {
                named.path = FilePath(bytes: entry.path.bytes + [UInt8(ascii: "/")])
            }
            try writer.writeHeader(named)
            guard entry.kind == .regular else { return }
            var remaining = entry.size
            var file: FileDescriptor?
            while remaining > 0 {
                let count: Int
                switch data {
                case .file(let open):
                    if file == nil { file = try open() }
                    count = try file?.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(min(Int64(buffer.count), remaining))])) ?? 0
                case .reader(let read): count = try read(UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(min(Int64(buffer.count), remaining))]))
                case .none: count = 0
                }
                // A file that shrank since it was read is padded with zeros by the writer.
                if count == 0 { break }
                try writer.writeData(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                remaining -= Int64(count)
                copied += Int64(count)
            }
        }
        try writer.finish()
        return copied
    }
}
