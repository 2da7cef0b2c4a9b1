import Foundation
import KilnImage
import Synchronization

/// A directory in the OCI image layout (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), as a
/// source and destination of images: skopeo's `oci:DIR`.
///
/// Blobs are written to a temporary file beside their final place and renamed there only after
/// the digest and size matched, so the directory never holds a partial blob under a digest.
public final class OCILayoutDirectory: ImageSource, ImageDestination {
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"

    public let path: String
    private let indexLock = Mutex(())

    /// Files and directories that `init` created, in creation order, which `discardCreated`
    /// removes again.
    private let createdPaths = Mutex<[String]>([])

    /// Opens the layout at `path`, creating it when the directory is missing or has no
    /// `oci-layout` file. An existing `oci-layout` or `index.json` is checked before anything is
    /// written, so a directory that is not a layout is left as it was.
    public init(path: String, create: Bool = true) throws {
        self.path = path
        let manager = FileManager.default
        if manager.fileExists(atPath: "\(path)/oci-layout") {
            try checkExistingLayout()
            return
        }
        guard create else { throw RegistryError.localFile(path: path, reason: "not an OCI layout (no oci-layout file)") }
        try Self.checkDirectoryPath(path)
        let hasIndex = manager.fileExists(atPath: "\(path)/index.json")
        if hasIndex {
            _ = try readLayoutIndex()
        }
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: "\(path)/blobs", isDirectory: &isDirectory), !isDirectory.boolValue {
            throw RegistryError.notALayout(path: path, reason: "blobs is not a directory")
        }
        do {
            try createDirectories("\(path)/blobs/sha256")
            try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: "\(path)/oci-layout"))
            createdPaths.withLock { $0.append("\(path)/oci-layout") }
            if !hasIndex {
                try writeIndex(Index(mediaType: .ociIndex, manifests: []))
                createdPaths.withLock { $0.append("\(path)/index.json") }
            }
        } catch {
            discardCreated()
            if let error = error as? RegistryError { throw error }
            throw RegistryError.layoutNotCreatable(path: path, reason: Self.describe(error))
        }
    }

    /// Checks that an existing `oci-layout` file and `index.json` are what the OCI image layout
    /// specification describes.
    private func checkExistingLayout() throws {
        let marker: [UInt8]
        do {
            marker = try readLocalFile("\(path)/oci-layout", limit: 64 << 10)
        } catch {
            throw RegistryError.notALayout(path: path, reason: "oci-layout cannot be read")
        }
        guard case .object(let members)? = try? JSONValue.parse(marker), case .string = members["imageLayoutVersion"] else {
            throw RegistryError.notALayout(path: path, reason: "oci-layout has no imageLayoutVersion")
        }
        guard FileManager.default.fileExists(atPath: "\(path)/index.json") else {
            throw RegistryError.notALayout(path: path, reason: "index.json is missing")
        }
        _ = try readLayoutIndex()
    }

    /// Reads `index.json` and reports a file that is not an OCI image index as `notALayout`.
    private func readLayoutIndex() throws -> Index {
        do {
            return try readIndex()
        } catch RegistryError.image(let error, _) {
            throw RegistryError.notALayout(path: path, reason: "index.json is not an OCI image index (\(error.diagnostic.message))")
        }
    }

    /// Creates `directory` and its missing parents, and records each one it created.
    private func createDirectories(_ directory: String) throws {
        var missing: [String] = []
        var current = directory
        while !current.isEmpty, current != "/", !FileManager.default.fileExists(atPath: current) {
            missing.insert(current, at: 0)
            current = (current as NSString).deletingLastPathComponent
        }
        for directory in missing {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            createdPaths.withLock { $0.append(directory) }
        }
    }

    /// Removes the blobs in `added` and everything that `init` created, newest first, so that a
    /// failed copy leaves the directory as it was before. Directories that are no longer empty
    /// are kept.
    /// NOTE: kiln takes no lock on the layout. A second push into it at the same moment may
    /// have added one of these blobs too, and its index could then name a removed blob.
    public func discardCreated(addedBlobs added: [Digest] = []) {
        for digest in added {
            unlink(blobPath(digest))
        }
        let created = createdPaths.withLock { paths in
            defer { paths = [] }
            return paths
        }
        for item in created.reversed() where unlink(item) != 0 {
            rmdir(item)
        }
    }

    /// Rejects a `path` that is, or lies under, an existing file that is not a directory, before
    /// anything is created.
    static func checkDirectoryPath(_ path: String) throws {
        var current = path
        while !current.isEmpty && current != "/" {
            var status = stat()
            if stat(current, &status) == 0 {
                guard status.st_mode & S_IFMT != S_IFDIR else { return }
                let kind = status.st_mode & S_IFMT == S_IFREG ? "a file" : "a special file"
                let subject = current == path ? "the path is \(kind)" : "\(current) is \(kind)"
                throw RegistryError.layoutNotCreatable(path: path, reason: "\(subject), not a directory")
            }
            current = (current as NSString).deletingLastPathComponent
        }
    }

    /// Describes a Foundation file error by its POSIX error, where it has one, instead of
    /// Foundation's generic "The operation could not be completed".
    private static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
        return error.localizedDescription
    }

    func blobPath(_ digest: Digest) -> String {
        "\(path)/blobs/\(digest.algorithm.rawValue)/\(digest.hex)"
    }

    public func containsBlob(_ digest: Digest) throws -> Bool {
        try blobFile(digest) != nil
    }

    public func blobFile(_ digest: Digest) throws -> (path: String, size: Int64)? {
        var status = stat()
        let file = blobPath(digest)
        guard lstat(file, &status) == 0 else { return nil }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw RegistryError.storage("blob \(digest) at \(file) is not a regular file")
        }
        return (file, Int64(status.st_size))
    }

    public func beginIngest(_ descriptor: Descriptor) throws -> any BlobIngest {
        let directory = "\(path)/blobs/\(descriptor.digest.algorithm.rawValue)"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try FileIngest(descriptor: descriptor, directory: directory, finalPath: blobPath(descriptor.digest))
    }

    public func resolveImage(_ reference: String) throws -> Descriptor {
        let index = try readIndex()
        if let match = index.manifests.first(where: { $0.annotations?[Self.refNameAnnotation] == reference }) {
            return match
        }
        if reference.isEmpty, index.manifests.count == 1, let only = index.manifests.first { return only }
        let names = index.manifests.compactMap { $0.annotations?[Self.refNameAnnotation] }
        throw RegistryError.storage(
            "no image named \(quoted(reference)) in OCI layout \(path)"
                + (names.isEmpty ? "" : " (it has: \(names.joined(separator: ", ")))"))
    }

    public func recordImage(_ reference: Reference, document: Descriptor, selected: Descriptor) throws -> Bool {
        try indexLock.withLock { _ in
            var index = try readIndex()
            let name = reference.tag ?? reference.digest?.description ?? ""
            var entry = Descriptor(mediaType: document.mediaType, digest: document.digest, size: document.size)
            entry.annotations = [Self.refNameAnnotation: name]
            if index.manifests.contains(where: { $0.digest == entry.digest && $0.annotations?[Self.refNameAnnotation] == name }) {
                return false
            }
            index.manifests.removeAll { $0.annotations?[Self.refNameAnnotation] == name }
            index.manifests.append(entry)
            try writeIndex(index)
            return true
        }
    }

    func readIndex() throws -> Index {
        let bytes = try readLocalFile("\(path)/index.json", limit: 64 << 20)
        do {
            return try Index.decode(bytes)
        } catch let error as ImageError {
            throw RegistryError.image(error, context: "\(path)/index.json")
        }
    }

    private func writeIndex(_ index: Index) throws {
        let file = "\(path)/index.json"
        let temporary = "\(file).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        do {
            try Data(index.canonicalJSON()).write(to: URL(fileURLWithPath: temporary))
        } catch {
            throw RegistryError.localFile(path: temporary, reason: error.localizedDescription)
        }
        guard rename(temporary, file) == 0 else {
            unlink(temporary)
            throw RegistryError.localFile(path: file, reason: String(cString: strerror(errno)))
        }
    }
}

/// A blob written to a temporary file, hashed as it arrives, and renamed into place on commit.
final class FileIngest: BlobIngest {
    private let descriptor: Descriptor
    private let temporaryPath: String
    private let finalPath: String
    private var fd: Int32
    private var hasher: DigestHasher
    private(set) var bytesWritten: Int64 = 0

    init(descriptor: Descriptor, directory: String, finalPath: String) throws {
        self.descriptor = descriptor
        self.finalPath = finalPath
        temporaryPath = "\(directory)/.ingest-\(descriptor.digest.hex.prefix(16))-\(UInt64.random(in: 0...UInt64.max))"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            throw RegistryError.localFile(path: temporaryPath, reason: String(cString: strerror(errno)))
        }
        hasher = DigestHasher(descriptor.digest.algorithm)
    }

    deinit {
        abort()
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytesWritten + Int64(bytes.count) <= descriptor.size else {
            throw RegistryError.blobLargerThanDescriptor(digest: descriptor.digest, size: descriptor.size)
        }
        hasher.update(bytes)
        var offset = 0
        while offset < bytes.count {
            let count = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0 {
                if errno == EINTR { continue }
                throw RegistryError.localFile(path: temporaryPath, reason: String(cString: strerror(errno)))
            }
            offset += count
        }
        bytesWritten += Int64(bytes.count)
    }

    func restart() throws {
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
            throw RegistryError.localFile(path: temporaryPath, reason: String(cString: strerror(errno)))
        }
        hasher = DigestHasher(descriptor.digest.algorithm)
        bytesWritten = 0
    }

    func commit() throws {
        guard bytesWritten == descriptor.size else {
            throw RegistryError.blobShort(digest: descriptor.digest, received: bytesWritten, size: descriptor.size)
        }
        let actual = hasher.finalize()
        guard actual == descriptor.digest else {
            throw RegistryError.digestMismatch(expected: descriptor.digest, actual: actual, source: "blob")
        }
        guard fsync(fd) == 0 else {
            throw RegistryError.localFile(path: temporaryPath, reason: String(cString: strerror(errno)))
        }
        close(fd)
        fd = -1
        guard rename(temporaryPath, finalPath) == 0 else {
            throw RegistryError.localFile(path: finalPath, reason: String(cString: strerror(errno)))
        }
    }

    func abort() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        unlink(temporaryPath)
    }
}
