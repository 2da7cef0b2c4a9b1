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
extension Store {
    /// Bytes the reserve file takes.
    static let spaceReserveBytes: Int64 = 8 << 20
    /// Free bytes needed before a missing reserve is created again, so that the reserve never
    /// takes the last free space of a disk that is filling up.
    static let spaceReserveRecreationThreshold: Int64 = 4 * spaceReserveBytes

    /// Opens the database, working around a full disk as the type's documentation describes.
    static func openDatabase(
        layout: StoreLayout, root: FileDescriptor, readOnly: Bool, access: Access, logger: Logger
    ) throws -> Database {
        do {
            return try Database(path: layout.database, migrations: Schema.migrations, readOnly: readOnly)
        } catch let error as SQLiteError where error.fileSystemState == .full {
            switch access {
            case .readOnly:
                logger.debug("the disk of \(layout.root) is full; reading the database with an exclusive lock")
                return try Database(path: layout.database, migrations: Schema.migrations, exclusiveLock: true)
            case .readWrite:
                throw StoreError.diskFull(root: layout.root, cause: "SQLite: \(error.message)")
            case .freeingSpace:
                guard unlinkat(root.rawValue, StoreLayout.spaceReserveName, 0) == 0 else { throw error }
                logger.debug("the disk of \(layout.root) is full; deleted \(layout.spaceReserve) to open the database")
                return try Database(path: layout.database, migrations: Schema.migrations)
            }
        }
    }

    /// Creates the reserve file when it is missing and the disk has room for it. Failing to
    /// create it only costs the full-disk fallback, so errors are logged, not thrown.
    func keepSpaceReserve() {
        var status = stat()
        guard fstatat(rootDirectory.rawValue, StoreLayout.spaceReserveName, &status, AT_SYMLINK_NOFOLLOW) != 0 else {
            return
        }
        var fileSystem = statvfs()
        guard fstatvfs(rootDirectory.rawValue, &fileSystem) == 0,
            Int64(fileSystem.f_bavail) * Int64(fileSystem.f_frsize) >= Self.spaceReserveRecreationThreshold
        else { return }

        // Written in `ingest/` under this process's tag, so that a crash leaves a leftover that
        // the next command removes.
        let temporary = "\(ProcessIdentity.current.fileTag)-space-reserve"
        let descriptor = openat(ingestDirectory.rawValue, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            logger.debug("could not create \(layout.spaceReserve): \(String(cString: strerror(errno)))")
            return
        }
        let result = posix_fallocate(descriptor, 0, off_t(Self.spaceReserveBytes))
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
