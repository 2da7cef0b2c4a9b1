import CSystem
import Glibc
import Synchronization

/// An open file descriptor that kiln owns: closed exactly once, by `close()` or when released.
///
/// Every descriptor kiln opens has `O_CLOEXEC`, so none leaks into runc or another child.
public final class FileDescriptor: Sendable {
    private let storage: Atomic<Int32>
    /// The path the descriptor was opened with, or the name its owner gave it, for messages only:
    /// read and write errors name it. Nil when the descriptor has no name worth showing.
    public let path: String?

    /// Takes ownership of `rawValue`, which this object closes. `path` names it in errors.
    public init(adopting rawValue: Int32, path: String? = nil) {
        storage = Atomic(rawValue)
        self.path = path
    }

    deinit {
        let value = storage.load(ordering: .relaxed)
        if value >= 0 { Glibc.close(value) }
    }

    /// The descriptor number, or -1 after `close()`.
    public var rawValue: Int32 { storage.load(ordering: .acquiring) }

    /// Closes the descriptor and reports the error a deferred write may return. Later calls do nothing.
    public func close() throws {
        let value = storage.exchange(-1, ordering: .acquiringAndReleasing)
        guard value >= 0 else { return }
        // EINTR from close(2) on Linux still closes the descriptor, so it is not retried.
        if Glibc.close(value) == -1 && errno != EINTR {
            throw SystemError.current("close", path: nameInErrors(value))
        }
    }

    /// Opens `path` (resolved by the kernel as usual, outside any root) with `O_CLOEXEC` added.
    /// Errors name `displayPath` when given (the path a user typed, where `path` is a link's
    /// target), else `path`.
    public static func open(
        _ path: String, flags: Int32, mode: mode_t = 0o644, displayPath: String? = nil
    ) throws -> FileDescriptor {
        try checkPath(path)
        let value = retryingOnInterrupt { kiln_openat(AT_FDCWD, path, flags | O_CLOEXEC, mode) }
        guard value >= 0 else { throw SystemError.current("open", path: displayPath ?? path) }
        return FileDescriptor(adopting: value, path: displayPath ?? path)
    }

    /// Opens `name` relative to this directory descriptor, with `O_CLOEXEC` added. The kernel
    /// resolves `name`, so use it only for single components or with `O_NOFOLLOW` semantics in mind.
    public func openAt(_ name: String, flags: Int32, mode: mode_t = 0o644) throws -> FileDescriptor {
        try checkPath(name)
        let value = retryingOnInterrupt { kiln_openat(rawValue, name, flags | O_CLOEXEC, mode) }
        guard value >= 0 else { throw SystemError.current("open", path: name) }
        return FileDescriptor(adopting: value, path: name)
    }

    public func stat() throws -> FileStatus {
        var buffer = Glibc.stat()
        guard fstat(rawValue, &buffer) == 0 else { throw SystemError.current("stat", path: pathForDisplay) }
        return FileStatus(buffer)
    }

    /// Reads up to `buffer.count` bytes; returns 0 at the end of the file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = retryingOnInterrupt { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
        guard count >= 0 else { throw SystemError.current("read", path: pathForDisplay) }
        return count
    }

    /// Reads until `buffer` is full or the file ends; returns the number of bytes read.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var total = 0
        while total < buffer.count {
            let count = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]))
            if count == 0 { break }
            total += count
        }
        return total
    }

    /// Reads the whole file, failing when it is longer than `limit` bytes.
    public func readAll(limit: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        // Left uninitialized, because zeroing 64 KiB touches 16 pages where a small file needs one.
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { chunk.deallocate() }
        while true {
            let count = try read(into: chunk)
            if count == 0 { return result }
            guard result.count + count <= limit else {
                throw SystemError("read", path: pathForDisplay, errno: EFBIG, detail: "larger than \(limit) bytes")
            }
            result.append(contentsOf: UnsafeRawBufferPointer(start: chunk.baseAddress, count: count))
        }
    }

    /// Writes all of `bytes`, retrying short writes.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let count = retryingOnInterrupt {
                Glibc.write(rawValue, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            }
            guard count > 0 else { throw SystemError.current("write", path: pathForDisplay) }
            offset += count
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func sync() throws {
        guard retryingOnInterrupt({ fsync(rawValue) }) == 0 else {
            throw SystemError.current("fsync", path: pathForDisplay)
        }
    }

    /// The path the descriptor was opened with, else the path the kernel reports for it, for
    /// messages only; never resolve it again. Read and write errors name the descriptor this way,
    /// so it keeps `errno` as it found it for the error built after it.
    public var pathForDisplay: String {
        if let path { return path }
        let savedErrno = errno
        defer { errno = savedErrno }
        return (try? FilePath(bytes: readLinkBytes(AT_FDCWD, FilePath("/proc/self/fd/\(rawValue)"))).description)
            ?? "descriptor \(rawValue)"
    }
}

extension FileDescriptor {
    /// Returns the name that a failed close gives the descriptor: its path, else `number`. The
    /// caller passes the number, because `rawValue` is -1 once `close()` began, and the number
    /// is not looked up in /proc because another thread may have reused it already.
    fileprivate func nameInErrors(_ number: Int32) -> String {
        path ?? "descriptor \(number)"
    }
}

/// Rejects paths that C would silently truncate at a NUL byte.
func checkPath(_ path: String) throws {
    if path.utf8.contains(0) {
        throw SystemError("use path", path: path, errno: EINVAL, detail: "the path contains a NUL byte")
    }
}
