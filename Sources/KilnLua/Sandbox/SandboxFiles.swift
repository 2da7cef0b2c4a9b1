import CSystem
import Glibc

/// File reads for plugins, confined to one folder: paths resolve as if the folder were `/`, so
/// `..` and symbolic links cannot leave it.
enum SandboxFiles {
    enum Failure: Error {
        case invalidPath(String)
        case notFound
        /// A symbolic link on the path points outside the folder.
        case outsideRoot
        case notRegularFile
        case tooLarge(Int)
        case system(String)

        /// Describes the failure in words, for `path` inside `place`.
        func describe(path: [UInt8], place: String) -> String {
            let shown = String(decoding: path.prefix(200), as: UTF8.self)
            switch self {
            case .invalidPath(let reason): return "invalid path \"\(shown)\": \(reason)"
            case .notFound: return "\"\(shown)\" not found in \(place)"
            case .outsideRoot: return "\"\(shown)\" is a symbolic link that leads outside \(place)"
            case .notRegularFile: return "\"\(shown)\" is not a regular file"
            case .tooLarge(let limit): return "\"\(shown)\" is larger than \(limit) bytes"
            case .system(let reason): return "cannot read \"\(shown)\": \(reason)"
            }
        }
    }

    /// Checks a path a plugin passed: relative, no NUL byte, no `..` component.
    static func relativePath(_ bytes: [UInt8]) throws(Failure) -> String {
        guard !bytes.contains(0) else { throw .invalidPath("it contains a NUL byte") }
        guard let path = String(validating: bytes, as: UTF8.self) else { throw .invalidPath("it is not valid UTF-8") }
        guard !path.isEmpty, path.utf8.count <= 4096 else { throw .invalidPath("it must have 1 to 4096 bytes") }
        guard !path.hasPrefix("/") else { throw .invalidPath("it must be relative") }
        guard !path.split(separator: "/").contains("..") else { throw .invalidPath("'..' would leave the folder") }
        return path
    }

    /// Reads `relativePath` inside `root`, at most `maximumBytes`.
    static func read(root: String, relativePath: String, maximumBytes: Int) throws(Failure) -> [UInt8] {
        let rootDescriptor = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootDescriptor >= 0 else { throw .system("cannot open \(root): \(String(cString: strerror(errno)))") }
        defer { close(rootDescriptor) }
        let resolve = kiln_resolve_in_root | kiln_resolve_no_magiclinks
        let descriptor = kiln_openat2(rootDescriptor, relativePath, UInt64(O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), 0, resolve)
        guard descriptor >= 0 else {
            if errno == ENOENT || errno == ENOTDIR {
                // Resolved in the folder, a link to `/etc/hostname` names a missing file. Resolved
                // beneath it, the same link fails with EXDEV, which distinguishes the two cases.
                let beneath = kiln_openat2(
                    rootDescriptor, relativePath, UInt64(kiln_o_path | O_CLOEXEC), 0, kiln_resolve_beneath | kiln_resolve_no_magiclinks)
                if beneath >= 0 { close(beneath) } else if errno == EXDEV { throw .outsideRoot }
                throw .notFound
            }
            throw .system(String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .system(String(cString: strerror(errno))) }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw .notRegularFile }
        guard Int(status.st_size) <= maximumBytes else { throw .tooLarge(maximumBytes) }

        var bytes = [UInt8](repeating: 0, count: Int(status.st_size))
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                Glibc.read(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw .system(String(cString: strerror(errno)))
            }
            if count == 0 { break }
            offset += count
        }
        return Array(bytes.prefix(offset))
    }
}
