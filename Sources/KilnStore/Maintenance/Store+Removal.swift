import CSystem
import Glibc
import KilnSystem

extension Store {
    /// Renames `name` out of `directory` into `trash/`, then removes it. After the rename the
    /// name is gone at once, so a crash during the slow removal leaves only trash, which the next
    /// kiln removes. Returns false when there was nothing to remove.
    @discardableResult
    func moveToTrashAndRemove(_ name: String, from directory: FileDescriptor, displayPath: String) throws -> Bool {
        let trashName = "\(ProcessIdentity.current.fileTag)-\(Self.randomID())"
        if kiln_renameat2(directory.rawValue, name, trashDirectory.rawValue, trashName, kiln_rename_noreplace) != 0 {
            if errno == ENOENT { return false }
            throw StoreError.system(
                SystemError("rename", path: "\(displayPath) to \(layout.trash)/\(trashName)", errno: errno),
                context: "removing \(displayPath)")
        }
        try removeTree(trashName, in: trashDirectory, displayPath: "\(layout.trash)/\(trashName)")
        return true
    }

    /// Renames `path`, a folder or file inside the store such as a volume's folder, into
    /// `trash/` under a generated name and returns that name, or nil when nothing is there. The
    /// entry carries this process's tag, so what a killed kiln leaves goes at the next open.
    public func moveToTrash(_ path: String) throws -> String? {
        let trashName = "\(ProcessIdentity.current.fileTag)-\(Self.randomID())"
        let target = "\(layout.trash)/\(trashName)"
        guard kiln_renameat2(AT_FDCWD, path, AT_FDCWD, target, kiln_rename_noreplace) == 0 else {
            if errno == ENOENT { return nil }
            throw StoreError.system(SystemError("rename", path: "\(path) to \(target)", errno: errno), context: "removing \(path)")
        }
        return trashName
    }

    /// Removes an entry that `moveToTrash` returned, however deep its tree.
    public func removeFromTrash(_ trashName: String) throws {
        try removeTree(trashName, in: trashDirectory, displayPath: "\(layout.trash)/\(trashName)")
    }

    /// Removes an entry and everything below it without following links and without crossing
    /// into another file system: a mount point below is an error, never a reason to delete what
    /// is mounted there.
    ///
    /// Returns the bytes the removal freed: the allocated blocks of every removed directory and
    /// of every file whose last link it removed. A file that keeps a link elsewhere frees nothing.
    @discardableResult
    func removeTree(_ name: String, in directory: FileDescriptor, displayPath: String) throws -> Int64 {
        let entry = DirectoryEntry(directory: directory, name: FilePath(name), path: FilePath(displayPath))
        guard let status = try entry.status() else { return 0 }
        guard status.kind == .directory else {
            try entry.remove()
            return status.linkCount <= 1 ? status.allocatedSize : 0
        }
        let top = try entry.openDirectory()
        let device = try top.stat().device
        var freed: Int64 = 0
        try DirectoryWalk.walk(top, path: FilePath(displayPath)) { walked in
            guard walked.status.device == device else {
                throw SystemError(
                    "remove", path: walked.entry.path.description, errno: EBUSY,
                    detail: "another file system is mounted there; unmount it first")
            }
            if walked.status.kind == .directory { return .descend }
            try walked.entry.remove()
            // The walk stats each entry just before this, so the last link of a file seen
            // through several names in the tree counts once, when it goes.
            if walked.status.linkCount <= 1 { freed += walked.status.allocatedSize }
            return .skip
        } leave: { walked in
            try walked.entry.remove()
            freed += walked.status.allocatedSize
        }
        try entry.remove()
        return freed + status.allocatedSize
    }

    /// Detaches every mount at or below `path`, deepest first. Mounts below scratch directories
    /// are overlays of steps or containers whose process died.
    func unmountAll(below path: String) throws {
        let mountPoints = Self.mountPoints().filter { $0 == path || $0.hasPrefix(path + "/") }
        for mountPoint in mountPoints.sorted(by: { $0.count > $1.count }) {
            if umount2(mountPoint, Int32(MNT_DETACH)) != 0 && errno != EINVAL && errno != ENOENT {
                throw StoreError.system(SystemError("unmount", path: mountPoint, errno: errno), context: nil)
            }
            logger.debug("unmounted leftover mount \(mountPoint)")
        }
    }

    /// Lists the mount points of this process's mount namespace, from `/proc/self/mountinfo`.
    /// The file is read to its end: Foundation's file reading stops at the first 4 KiB of a
    /// /proc file, which hides later mounts on a host with many of them.
    public static func mountPoints() -> [String] {
        guard let descriptor = try? FileDescriptor.open("/proc/self/mountinfo", flags: O_RDONLY),
            let bytes = try? descriptor.readAll(limit: 64 << 20)
        else { return [] }
        var result: [String] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard fields.count > 4 else { continue }
            result.append(unescapeMountField(Array(fields[4])))
        }
        return result
    }

    /// Undoes mountinfo's octal escapes (`\040` for a space).
    static func unescapeMountField(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\"), index + 3 < bytes.count,
                let value = UInt8(String(decoding: bytes[(index + 1)...(index + 3)], as: UTF8.self), radix: 8)
            {
                output.append(value)
                index += 4
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
