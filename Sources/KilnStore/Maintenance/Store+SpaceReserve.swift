import Glibc
import KilnDiagnostics
import KilnSystem

/// Free space for the commands that free space.
///
/// SQLite needs a little free space to open a WAL database (its `-shm` file) and to commit (the
/// WAL), so on a full disk even `kiln rmi` and `kiln system prune` would fail before deleting
/// anything. The store keeps `space-reserve`, a preallocated file, and a command that frees
/// space (`Access.freeingSpace`) and finds the disk full deletes it and opens the database again.
/// Other commands that change the store fail with `StoreError.diskFull` and leave the reserve,
/// because a build or pull that used it would leave nothing for the commands that free space.
/// Reading commands keep the reserve and read with SQLite's exclusive locking mode instead.
///
/// The reserve takes at most a quarter of the free space, so that it never takes the last free
/// space of a disk that is filling up. It is 8 MiB where 32 MiB are free, less on a small disk,
/// and none under 4 MiB free. A smaller reserve grows to 8 MiB once 32 MiB are free.
extension Store {
    /// Bytes the reserve file takes where the disk has room.
    static let spaceReserveBytes: Int64 = 8 << 20
    /// The smallest reserve worth making, for SQLite's `-shm` file (32 KiB) and the WAL pages of
    /// a removal's transaction. NOTE: an estimate, checked only by the full-disk tests, whose
    /// stores hold one small image; a removal of many images may need more WAL.
    static let minimumSpaceReserveBytes: Int64 = 1 << 20
    /// Free bytes needed for a full reserve.
    static let spaceReserveRecreationThreshold: Int64 = 4 * spaceReserveBytes

    /// Returns the size of the reserve to create with `freeBytes` free: a quarter of them in
    /// whole MiB, at most `spaceReserveBytes`, or nil when that is under `minimumSpaceReserveBytes`.
    static func spaceReserveSize(freeBytes: Int64) -> Int64? {
        let quarter = freeBytes / 4 / minimumSpaceReserveBytes * minimumSpaceReserveBytes
        let size = min(spaceReserveBytes, quarter)
        return size >= minimumSpaceReserveBytes ? size : nil
    }

    /// Opens the database, working around a full disk as the type's documentation describes.
    ///
    /// The `-wal` and `-shm` files stay between commands, so opening needs no space even when
    /// the first write will. So a command that would write checks the free space first: under
    /// `minimumSpaceReserveBytes`, a command that frees space deletes the reserve, and another
    /// one fails with `diskFull` before it changes anything.
    ///
    /// Returns the database and the size of the reserve it deleted, if any.
    static func openDatabase(
        layout: StoreLayout, root: FileDescriptor, readOnly: Bool, access: Access, logger: Logger
    ) throws -> (database: Database, spentReserveBytes: Int64?) {
        var fileSystem = statvfs()
        if access != .readOnly, !readOnly, fstatvfs(root.rawValue, &fileSystem) == 0 {
            let freeBytes = Int64(fileSystem.f_bavail) * Int64(fileSystem.f_frsize)
            if freeBytes < minimumSpaceReserveBytes {
                let cause = "\(freeBytes) bytes free, under 1 MiB"
                if access == .readWrite { throw StoreError.diskFull(root: layout.root, cause: cause) }
                if access == .recordingState {
                    logger.debug("the disk of \(layout.root) is nearly full; keeping the reserve and locking the database")
                    let database = try Database(path: layout.database, migrations: Schema.migrations, exclusiveLock: true)
                    return (database, nil)
                }
                let spent = reserveSize(in: root)
                guard unlinkat(root.rawValue, StoreLayout.spaceReserveName, 0) == 0 else {
                    throw StoreError.diskFullWithoutReserve(root: layout.root, cause: cause)
                }
                logger.debug("the disk of \(layout.root) is nearly full; deleted \(layout.spaceReserve) to write the database")
                return (try Database(path: layout.database, migrations: Schema.migrations), spent)
            }
        }
        do {
            return (try Database(path: layout.database, migrations: Schema.migrations, readOnly: readOnly), nil)
        } catch let error as SQLiteError where error.fileSystemState == .full {
            switch access {
            case .readOnly, .recordingState:
                logger.debug("the disk of \(layout.root) is full; reading the database with an exclusive lock")
                return (try Database(path: layout.database, migrations: Schema.migrations, exclusiveLock: true), nil)
            case .readWrite:
                throw StoreError.diskFull(root: layout.root, cause: "SQLite: \(error.message)")
            case .freeingSpace:
                let spent = reserveSize(in: root)
                guard unlinkat(root.rawValue, StoreLayout.spaceReserveName, 0) == 0 else {
                    guard errno == ENOENT else { throw error }
                    throw StoreError.diskFullWithoutReserve(root: layout.root, cause: "SQLite: \(error.message)")
                }
                logger.debug("the disk of \(layout.root) is full; deleted \(layout.spaceReserve) to open the database")
                return (try Database(path: layout.database, migrations: Schema.migrations), spent)
            }
        }
    }

    /// Returns the size of the reserve file, or nil when there is none.
    private static func reserveSize(in root: FileDescriptor) -> Int64? {
        var status = stat()
        guard fstatat(root.rawValue, StoreLayout.spaceReserveName, &status, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        return Int64(status.st_size)
    }

    /// Whether opening this store deleted the space reserve, which `restoreSpentReserve` makes
    /// again when the command ends.
    public var spentSpaceReserve: Bool { spentReserveBytes != nil }

    /// Makes the reserve again at the size that opening this store deleted, as far as the disk
    /// has room. A command calls this when it ends: one that found nothing to free (`kiln rmi`
    /// of a missing image) so leaves the disk as full as it found it, with the reserve for the
    /// next command.
    public func restoreSpentReserve() {
        guard let spent = spentReserveBytes, Self.reserveSize(in: rootDirectory) == nil else { return }
        // The checkpoint that closing the database runs would need room in `kiln.db` that the
        // reserve would take, so it runs first, and cutting the WAL frees its pages.
        try? database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        var fileSystem = statvfs()
        guard fstatvfs(rootDirectory.rawValue, &fileSystem) == 0 else { return }
        let freeBytes = Int64(fileSystem.f_bavail) * Int64(fileSystem.f_frsize)
        let size = min(spent, freeBytes / Self.minimumSpaceReserveBytes * Self.minimumSpaceReserveBytes)
        guard size >= Self.minimumSpaceReserveBytes else { return }
        createSpaceReserve(size: size)
    }

    /// Creates the reserve file when it is missing, or replaces a smaller one with a full one,
    /// as far as the disk has room. Failing to create it only costs the full-disk fallback, so
    /// errors are logged, not thrown.
    func keepSpaceReserve() {
        let existingSize = Self.reserveSize(in: rootDirectory)
        if let existingSize, existingSize >= Self.spaceReserveBytes { return }

        var fileSystem = statvfs()
        guard fstatvfs(rootDirectory.rawValue, &fileSystem) == 0 else { return }
        let freeBytes = Int64(fileSystem.f_bavail) * Int64(fileSystem.f_frsize)
        let size: Int64
        if existingSize != nil {
            guard freeBytes >= Self.spaceReserveRecreationThreshold else { return }
            size = Self.spaceReserveBytes
        } else {
            guard let fitting = Self.spaceReserveSize(freeBytes: freeBytes) else { return }
            size = fitting
        }
        createSpaceReserve(size: size)
    }

    /// Writes a reserve file of `size` bytes; errors are logged.
    private func createSpaceReserve(size: Int64) {
        // Written in `ingest/` under this process's tag, so that a crash leaves a leftover that
        // the next command removes.
        let temporary = "\(ProcessIdentity.current.fileTag)-space-reserve"
        let descriptor = openat(ingestDirectory.rawValue, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            logger.debug("could not create \(layout.spaceReserve): \(String(cString: strerror(errno)))")
            return
        }
        let result = posix_fallocate(descriptor, 0, off_t(size))
        close(descriptor)
        // The rename makes the reserve appear whole; a partial one would free less than promised.
        guard result == 0, renameat(ingestDirectory.rawValue, temporary, rootDirectory.rawValue, StoreLayout.spaceReserveName) == 0
        else {
            logger.debug("could not create \(layout.spaceReserve): \(String(cString: strerror(result == 0 ? errno : result)))")
            _ = unlinkat(ingestDirectory.rawValue, temporary, 0)
            return
        }
    }
}
