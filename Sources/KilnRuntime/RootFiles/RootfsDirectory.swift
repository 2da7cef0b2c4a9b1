import CSystem
import Foundation

/// A rootfs opened as a directory descriptor, with every lookup resolved inside it: absolute
/// symlinks and `..` stop at the root, as they do for the container itself (openat2 with
/// RESOLVE_IN_ROOT).
///
/// TODO: move onto KilnSystem's `RootDirectory`, which landed after this was written. This
/// private copy covers only what the runtime needs: reading /etc/passwd, mount-point stubs and
/// the command check.
final class RootfsDirectory {
    let path: String
    let descriptor: Int32

    init(path: String) throws {
        let fd = Glibc.open(path, kiln_o_path | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw RuntimeError(.systemCallFailed(operation: "opening the root filesystem \(path)", errno: errno))
        }
        // The canonical path, so that `inRootPath(of:)` can compare it with /proc/self/fd links.
        if let canonical = realpath(path, nil) {
            self.path = String(cString: canonical)
            free(canonical)
        } else {
            self.path = path
        }
        self.descriptor = fd
    }

    deinit {
        close(descriptor)
    }

    /// Opens `relativePath` (no leading slash needed) inside the root; returns -1 with errno set on failure.
    func openInRoot(_ relativePath: String, flags: Int32, mode: UInt32 = 0, noSymlinks: Bool = false) -> Int32 {
        let trimmed = ContainerPath.components("/" + relativePath).joined(separator: "/")
        let target = trimmed.isEmpty ? "." : trimmed
        let resolve =
            noSymlinks
            ? kiln_resolve_beneath | kiln_resolve_no_symlinks | kiln_resolve_no_magiclinks
            : kiln_resolve_in_root | kiln_resolve_no_magiclinks
        return kiln_openat2(descriptor, target, UInt64(flags | O_CLOEXEC), UInt64(mode), resolve)
    }

    /// Reads a regular file inside the root and returns its contents, or nil when it does not exist.
    /// Reads at most `limit` bytes, so a hostile image cannot make kiln read without end.
    func readFile(_ relativePath: String, limit: Int = 16 << 20) throws -> [UInt8]? {
        let fd = openInRoot(relativePath, flags: O_RDONLY | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { return nil }
            throw RuntimeError(.systemCallFailed(operation: "opening \(relativePath) in \(path)", errno: code))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            return nil
        }

        var bytes: [UInt8] = []
        // Left uninitialized, because zeroing 64 KiB touches 16 pages where /etc/passwd needs one.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
        defer { buffer.deallocate() }
        while bytes.count < limit {
            let count = read(fd, buffer.baseAddress, min(buffer.count, limit - bytes.count))
            if count < 0 {
                if errno == EINTR { continue }
                throw RuntimeError(.systemCallFailed(operation: "reading \(relativePath) in \(path)", errno: errno))
            }
            if count == 0 { break }
            bytes.append(contentsOf: UnsafeRawBufferPointer(start: buffer.baseAddress, count: count))
        }
        return bytes
    }

    /// Returns the in-root path that `fd` refers to, from /proc/self/fd, or nil when it lies outside the root.
    func inRootPath(of fd: Int32) -> String? {
        guard let host = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)") else {
            return nil
        }
        if host == path { return "/" }
        let prefix = path.hasSuffix("/") ? path : path + "/"
        guard host.hasPrefix(prefix) else { return nil }
        return "/" + host.dropFirst(prefix.count)
    }
}
