import CSystem
import Glibc

/// The names in a directory, without `.` and `..`, in the order the file system returns them.
///
/// `directory` may be an `O_PATH` descriptor; the directory is opened again for reading.
public func listDirectory(_ directory: FileDescriptor, path: FilePath = "") throws -> [FilePath] {
    let readable = kiln_openat(directory.rawValue, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
    guard readable >= 0 else { throw SystemError.current("open directory", path: path.description) }
    guard let stream = fdopendir(readable) else {
        let error = SystemError.current("open directory", path: path.description)
        Glibc.close(readable)
        throw error
    }
    defer { closedir(stream) }

    var names: [FilePath] = []
    while true {
        errno = 0
        guard let entry = readdir(stream) else {
            guard errno == 0 else { throw SystemError.current("read directory", path: path.description) }
            return names
        }
        let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
            FilePath(bytes: raw.prefix { $0 != 0 })
        }
        if name.bytes == [UInt8(ascii: ".")] || name.isDotDot { continue }
        names.append(name)
    }
}
