import Glibc
import KilnSystem

/// A private directory `work/<id>` for work in progress: unpacking a layer, the upper and work
/// directories of a build step. A lease holds it, so it survives collections while its process
/// lives and is removed by the next kiln that opens the store after the process dies.
public struct ScratchDirectory: Sendable {
    public let id: String
    /// The directory's host path.
    public let path: String
    let store: Store

    /// The directory, opened (`O_PATH`) without following links.
    public func open() throws -> FileDescriptor {
        try store.workDirectory.openAt(id, flags: O_RDONLY | O_DIRECTORY | O_NOFOLLOW)
    }

    /// Removes the directory and everything in it, unmounting what is mounted below it first.
    public func remove() throws {
        try store.discardWorkDirectory(id)
    }
}

extension Store {
    /// Creates `work/<id>` (mode 0700) held by `lease`.
    public func makeScratchDirectory(lease: Lease) throws -> ScratchDirectory {
        let id = Self.randomID()
        // Retained first: a leftover sweep that sees the directory also sees the lease.
        try lease.retain(.work(id))
        guard mkdirat(workDirectory.rawValue, id, 0o700) == 0 else {
            throw StoreError.system(SystemError("create directory", path: layout.work(id), errno: errno), context: nil)
        }
        return ScratchDirectory(id: id, path: layout.work(id), store: self)
    }

    /// Moves `work/<id>` to the trash and removes it there.
    func discardWorkDirectory(_ id: String) throws {
        try unmountAll(below: layout.work(id))
        try moveToTrashAndRemove(id, from: workDirectory, displayPath: layout.work(id))
    }
}
