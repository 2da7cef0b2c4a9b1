import Glibc
import KilnDiagnostics
import KilnSystem

/// Reads a file that a flag names (`-f`, `--env-file`) whole, up to a size limit, and reports
/// why it cannot when the file is missing, a directory or a device, unreadable, or too large.
///
/// A regular file or a pipe is read (`-f /dev/stdin` under a pipe, `--env-file <(…)`). A device
/// or socket is rejected before anything is read, because `/dev/zero` or `/dev/urandom` would
/// never end. A symbolic link is followed, because the user named the file. Opening a FIFO that
/// no process writes to waits for a writer, as `cat` does.
enum InputFile {
    /// The maximum size of a Dockerfile or a Lua build script: 16 MiB. A Dockerfile that a person
    /// writes, heredocs included, is far smaller, and a larger input is more likely the wrong
    /// file (`-f /dev/stdin` fed by a binary) than a Dockerfile.
    static let maximumDockerfileSize = 16 << 20

    /// The maximum size of an `--env-file`: 16 MiB, eight times the 2 MiB that Linux leaves for
    /// the arguments and environment of a new process under the default 8 MiB stack limit.
    static let maximumEnvironmentFileSize = 16 << 20

    /// The reason a file cannot be read.
    enum Failure: Error, Equatable {
        case notFound
        case isDirectory
        /// A device or a socket; the associated value names the kind (`a character device`).
        case notRegular(String)
        case permissionDenied
        case tooLarge(limit: Int)
        case system(errno: Int32)

        init(errno code: Int32) {
            switch code {
            case ENOENT, ENOTDIR: self = .notFound
            case EACCES, EPERM: self = .permissionDenied
            case EISDIR: self = .isDirectory
            default: self = .system(errno: code)
            }
        }

        /// Returns the reason in words that follow the file's path (`app.env: is a directory`).
        /// `what` names the kind of file in the too-large reason (`a Dockerfile`).
        func reason(what: String) -> String {
            switch self {
            case .notFound: "no such file or directory"
            case .isDirectory: "is a directory"
            case .notRegular(let kind): "is \(kind), not a regular file"
            case .permissionDenied: "permission denied"
            case .tooLarge(let limit): "is larger than \(InputFile.formattedSize(limit)), the maximum size of \(what)"
            case .system(let code): String(cString: strerror(code))
            }
        }
    }

    /// Returns the bytes of the file at `path`, or throws `Failure` when it is not a readable
    /// regular file or pipe of at most `limit` bytes.
    static func read(_ path: String, limit: Int) throws(Failure) -> [UInt8] {
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(path, flags: O_RDONLY)
        } catch let error as SystemError {
            throw Failure(errno: error.errno)
        } catch {
            throw Failure.system(errno: EIO)
        }
        do {
            let status = try descriptor.stat()
            switch status.kind {
            case .regular:
                guard status.size <= Int64(limit) else { throw Failure.tooLarge(limit: limit) }
            case .fifo: break
            case .directory: throw Failure.isDirectory
            case .characterDevice: throw Failure.notRegular("a character device")
            case .blockDevice: throw Failure.notRegular("a block device")
            case .socket: throw Failure.notRegular("a socket")
            case .symbolicLink: throw Failure.notRegular("a symbolic link")
            }
            return try descriptor.readAll(limit: limit)
        } catch let failure as Failure {
            throw failure
        } catch let error as SystemError {
            throw error.errno == EFBIG ? Failure.tooLarge(limit: limit) : Failure(errno: error.errno)
        } catch {
            throw Failure.system(errno: EIO)
        }
    }

    /// Reads the Dockerfile or Lua build script at `path`. Errors name it as `displayPath`.
    static func readDockerfile(_ path: String, displayPath: String) throws -> [UInt8] {
        do {
            return try read(path, limit: maximumDockerfileSize)
        } catch {
            throw GeneralError(
                "failed to read Dockerfile \(shortenedForDisplay(displayPath)): \(error.reason(what: "a Dockerfile"))",
                hint: error == .isDirectory ? "name the Dockerfile inside the directory with -f" : nil)
        }
    }

    /// Reads a Dockerfile from standard input, at most `maximumDockerfileSize` bytes. When
    /// `acceptsArchive` is given and returns true for the first bytes, the input is a context
    /// archive and is read whole.
    static func readStandardInput(_ context: CommandContext, acceptsArchive: (([UInt8]) -> Bool)? = nil) throws -> [UInt8] {
        do {
            return try context.stdin.readAll(limit: maximumDockerfileSize, acceptsMore: acceptsArchive ?? { _ in false })
        } catch let error as InputTooLarge {
            throw GeneralError(
                "failed to read the Dockerfile from standard input: it "
                    + Failure.tooLarge(limit: error.limit).reason(what: "a Dockerfile"),
                hint: acceptsArchive == nil
                    ? nil : "standard input is the Dockerfile unless it is a tar archive (plain, gzip, bzip2, xz or zstd)")
        }
    }

    /// Formats a size as `16 MiB`, or as a byte count when it is not a whole number of MiB.
    static func formattedSize(_ bytes: Int) -> String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
}
