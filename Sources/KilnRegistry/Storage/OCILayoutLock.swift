import CSystem
import Foundation
import Synchronization

/// The `flock(2)` locks that let several kiln processes write one OCI layout at once.
///
/// - The index lock, exclusive and brief, is on the layout directory itself. It covers creating
///   the layout files, each read-modify-write of `index.json`, creating a named temporary blob,
///   removing stale temporary blobs, and undoing a failed copy.
/// - The use lock, shared and held while the layout is open, is on `blobs/`. A failed copy
///   undoes its changes only when it can turn this lock exclusive, that is when no other
///   process has the layout open. Otherwise another push may already count on a blob that the
///   failed one added, or on the layout files it created.
///
/// flock locks belong to an open file description, so threads of one process that share a
/// descriptor do not exclude each other; a mutex serializes them.
final class OCILayoutLock: @unchecked Sendable {
    let path: String
    private let layoutDescriptor: Int32
    private var useDescriptor: Int32 = -1
    private let mutex = Mutex(())

    init(path: String) throws {
        self.path = path
        layoutDescriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard layoutDescriptor >= 0 else {
            throw RegistryError.localFile(path: path, reason: String(cString: strerror(errno)))
        }
    }

    deinit {
        if useDescriptor >= 0 { close(useDescriptor) }
        close(layoutDescriptor)
    }

    /// Runs `body` with the index lock held, waiting for other processes to release it.
    func withIndexLock<T>(_ body: () throws -> T) throws -> T {
        try mutex.withLock { _ in
            try Self.lock(layoutDescriptor, LOCK_EX, path: path)
            defer { flock(layoutDescriptor, LOCK_UN) }
            return try body()
        }
    }

    /// Takes the shared use lock on `blobs/`. Without a readable `blobs/` there is no use lock,
    /// and `isOnlyUser` is false, so a failed copy then removes nothing.
    func beginUse() {
        let blobs = "\(path)/blobs"
        let descriptor = open(blobs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        guard (try? Self.lock(descriptor, LOCK_SH, path: blobs)) != nil else {
            close(descriptor)
            return
        }
        useDescriptor = descriptor
    }

    /// Tells whether this is the only process that has the layout open, by trying to turn the
    /// use lock exclusive. Call it with the index lock held; the use lock is shared again after.
    func isOnlyUser() -> Bool {
        guard useDescriptor >= 0 else { return false }
        // A failed conversion drops the shared lock (flock(2) converts by unlocking first), so
        // it is taken again in every case.
        let alone = flock(useDescriptor, LOCK_EX | LOCK_NB) == 0
        _ = try? Self.lock(useDescriptor, LOCK_SH, path: path)
        return alone
    }

    /// Removes the `.ingest-*` files under `blobs/` that no writer holds locked: those of
    /// writers that died (SIGKILL, a crash, or a kiln that did not lock them). Call it with the
    /// index lock held, because a writer creates and locks its file under that lock.
    func removeStaleIngests() {
        let blobs = "\(path)/blobs"
        guard let algorithms = try? FileManager.default.contentsOfDirectory(atPath: blobs) else { return }
        for algorithm in algorithms {
            let directory = "\(blobs)/\(algorithm)"
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in names where name.hasPrefix(".ingest-") {
                let file = "\(directory)/\(name)"
                let descriptor = open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                guard descriptor >= 0 else { continue }
                if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
                    unlink(file)
                }
                close(descriptor)
            }
        }
    }

    /// Creates a named temporary blob file in `directory` and locks it, for file systems without
    /// `O_TMPFILE`. Call it with the index lock held. Returns the descriptor.
    func createNamedIngest(_ file: String) throws -> Int32 {
        let descriptor = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else {
            throw RegistryError.localFile(path: file, reason: String(cString: strerror(errno)))
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            unlink(file)
            throw RegistryError.localFile(path: file, reason: reason)
        }
        return descriptor
    }

    private static func lock(_ descriptor: Int32, _ operation: Int32, path: String) throws {
        while flock(descriptor, operation) != 0 {
            guard errno == EINTR else {
                throw RegistryError.localFile(path: path, reason: "cannot lock: \(String(cString: strerror(errno)))")
            }
        }
    }
}

/// Opens an unnamed temporary file in `directory` (`O_TMPFILE`), which disappears with the
/// process if it is never linked. Returns -1 where the file system does not support it.
func openUnnamedIngest(in directory: String) -> Int32 {
    open(directory, O_WRONLY | kiln_o_tmpfile | O_CLOEXEC, 0o644)
}
