import Glibc
import KilnSystem

/// The state of one `LayerDiffer.writeLayer` call.
struct DiffRun {
    let options: LayerDiffer.Options
    let tar: TarWriter
    /// The first path written for each multiply linked inode, so later ones become hard links.
    private var firstPaths: [FileIdentity: FilePath] = [:]
    /// Bytes of file data read at a time, between cancellation checks.
    private static let readSize = 1 << 20

    struct FileIdentity: Hashable {
        var device: dev_t
        var inode: ino_t
    }

    init(options: LayerDiffer.Options, tar: TarWriter) {
        self.options = options
        self.tar = tar
    }

    private func time(_ status: FileStatus) -> timespec {
        var seconds = status.modificationTime.tv_sec
        if let epoch = options.sourceDateEpoch, seconds > epoch { seconds = Int(epoch) }
        return timespec(tv_sec: seconds, tv_nsec: 0)
    }

    private func header(_ walked: WalkEntry, _ kind: TarEntry.Kind) -> TarEntry {
        var entry = TarEntry(path: walked.relativePath, kind: kind)
        entry.permissions = walked.status.permissions
        entry.userID = walked.status.userID
        entry.groupID = walked.status.groupID
        entry.modificationTime = time(walked.status)
        return entry
    }

    /// A `.wh.`-style marker: an empty regular file, mode 0, owned by root.
    private func marker(_ path: FilePath, _ status: FileStatus) -> TarEntry {
        var entry = TarEntry(path: path, kind: .regular)
        entry.permissions = 0
        entry.modificationTime = time(status)
        return entry
    }

    mutating func visit(_ walked: WalkEntry) throws -> DirectoryWalk.Action {
        try options.checkCancellation?()
        let status = walked.status
        if let include = options.include, !include(walked.relativePath, status) { return .skip }

        if status.isWhiteout {
            let parent = FilePath.joining(walked.relativePath.components.dropLast())
            let name = FilePath(bytes: EntryName.whiteoutPrefix + walked.entry.name.bytes)
            try tar.writeHeader(marker(parent.isEmpty ? name : parent.appending(name), status))
            return .skip
        }

        let attributes = try walked.entry.extendedAttributes()
        for feature in Self.unsupportedOverlayAttributes where attributes[feature] != nil {
            throw LayerError.unsupportedOverlayFeature(path: walked.relativePath, attribute: feature)
        }

        var entry: TarEntry
        switch status.kind {
        case .directory:
            entry = header(walked, .directory)
        case .regular:
            let identity = FileIdentity(device: status.device, inode: status.inode)
            if status.linkCount > 1, let first = firstPaths[identity] {
                entry = header(walked, .hardLink)
                entry.linkTarget = first
            } else {
                if status.linkCount > 1 { firstPaths[identity] = walked.relativePath }
                entry = header(walked, .regular)
            }
        case .symbolicLink:
            entry = header(walked, .symbolicLink)
            entry.linkTarget = try walked.entry.readLink()
        case .characterDevice, .blockDevice:
            entry = header(walked, status.kind == .characterDevice ? .characterDevice : .blockDevice)
            entry.deviceMajor = status.deviceMajor
            entry.deviceMinor = status.deviceMinor
        case .fifo:
            entry = header(walked, .fifo)
        case .socket:
            // Sockets belong to running processes and are not part of an image, as in Docker.
            return .skip
        }
        if !attributes.isEmpty {
            entry.extendedAttributes = attributes.filter { Self.belongsInLayer($0.key) }
                .map { ExtendedAttribute(name: $0.key, value: $0.value) }.sorted { $0.name < $1.name }
        }

        if entry.kind == .regular {
            try writeFile(entry, walked)
        } else {
            try tar.writeHeader(entry)
        }
        let isOpaque = attributes["trusted.overlay.opaque"] == Self.opaqueValue || attributes["user.overlay.opaque"] == Self.opaqueValue
        if status.kind == .directory && isOpaque {
            try tar.writeHeader(marker(walked.relativePath.appending(FilePath(bytes: EntryName.opaqueMarker)), status))
        }
        return .descend
    }

    /// The attributes of overlay's metacopy and redirect features, which a layer cannot carry.
    /// Overlay keeps its metadata in trusted.overlay.*, or in user.overlay.* when mounted with
    /// userxattr (rootless).
    static let unsupportedOverlayAttributes = [
        "trusted.overlay.metacopy", "trusted.overlay.redirect", "user.overlay.metacopy", "user.overlay.redirect",
    ]
    static let opaqueValue = Array("y".utf8)

    /// The attributes a layer carries: `user.*` (except overlay's own `user.overlay.*`) and
    /// `security.capability`, the same set that `LayerApplier` applies.
    static func belongsInLayer(_ name: String) -> Bool {
        (name.hasPrefix("user.") && !name.hasPrefix("user.overlay.")) || name == "security.capability"
    }

    private mutating func writeFile(_ header: TarEntry, _ walked: WalkEntry) throws {
        let file = try walked.entry.open(flags: O_RDONLY)
        var entry = header
        // The size comes from the open file, which is what is read.
        entry.size = try file.stat().size
        try tar.writeHeader(entry)
        var remaining = entry.size
        while remaining > 0 {
            try options.checkCancellation?()
            let count = try tar.writeData(from: file, maximum: Int(min(Int64(Self.readSize), remaining)))
            guard count > 0 else {
                throw LayerError.system(
                    layer: "diff", entry: walked.relativePath,
                    SystemError("read", path: walked.relativePath.description, errno: EIO, detail: "the file shrank while it was read"))
            }
            remaining -= Int64(count)
        }
    }
}
