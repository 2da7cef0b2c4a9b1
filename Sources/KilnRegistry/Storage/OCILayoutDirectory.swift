import Foundation
import KilnImage
import Synchronization

/// A directory in the OCI image layout (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), as a
/// source and destination of images: skopeo's `oci:DIR`.
///
/// Blobs are written to a temporary file in their folder and put in place only after the digest
/// and size matched, so the directory never contains a partial blob under a digest.
public final class OCILayoutDirectory: ImageSource, ImageDestination {
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"

    public let path: String
    private let lock: OCILayoutLock

    /// Files and directories that `init` created, in creation order, which `discardCreated`
    /// removes again.
    private let createdPaths = Mutex<[String]>([])

    /// Opens the layout at `path`, creating it when the directory is missing or has no
    /// `oci-layout` file. An existing `oci-layout` or `index.json` is checked before anything is
    /// written, so a directory that is not a layout is left as it was.
    ///
    /// Other kiln processes may write the layout at the same time (see `OCILayoutLock`). Opening
    /// it removes the temporary blob files that writers which died left behind.
    public init(path: String, create: Bool = true) throws {
        self.path = path
        let manager = FileManager.default
        if manager.fileExists(atPath: "\(path)/oci-layout") {
            lock = try OCILayoutLock(path: path)
            try lock.withIndexLock {
                try checkExistingLayout()
                lock.removeStaleIngests()
            }
            lock.beginUse()
            return
        }
        guard create else { throw RegistryError.localFile(path: path, reason: "not an OCI layout (no oci-layout file)") }
        try Self.checkDirectoryPath(path)
        var directories: [String] = []
        do {
            try Self.createDirectories(path, created: &directories)
            lock = try OCILayoutLock(path: path)
        } catch {
            Self.remove(directories)
            if let error = error as? RegistryError { throw error }
            throw RegistryError.layoutNotCreatable(path: path, reason: Self.describe(error))
        }
        createdPaths.withLock { $0 = directories }
        do {
            try lock.withIndexLock {
                // Another process may have made the layout since the check above.
                if manager.fileExists(atPath: "\(path)/oci-layout") {
                    try checkExistingLayout()
                } else {
                    try createLayoutFiles()
                }
                lock.removeStaleIngests()
            }
        } catch {
            _ = try? lock.withIndexLock { Self.remove(createdPaths.withLock { $0 }) }
            if let error = error as? RegistryError { throw error }
            throw RegistryError.layoutNotCreatable(path: path, reason: Self.describe(error))
        }
        lock.beginUse()
    }

    /// Writes `blobs/sha256`, `index.json` and then `oci-layout` into a directory that has no
    /// `oci-layout` file, keeping a valid `index.json` that is there. The marker comes last, so
    /// a reader that sees it finds the index too.
    private func createLayoutFiles() throws {
        let manager = FileManager.default
        let hasIndex = manager.fileExists(atPath: "\(path)/index.json")
        if hasIndex {
            _ = try readLayoutIndex()
        }
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: "\(path)/blobs", isDirectory: &isDirectory), !isDirectory.boolValue {
            throw RegistryError.notALayout(path: path, reason: "blobs is not a directory")
        }
        var directories: [String] = []
        defer { createdPaths.withLock { $0 += directories } }
        try Self.createDirectories("\(path)/blobs/sha256", created: &directories)
        if !hasIndex {
            try writeIndex(Index(mediaType: .ociIndex, manifests: []))
            createdPaths.withLock { $0.append("\(path)/index.json") }
        }
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: URL(fileURLWithPath: "\(path)/oci-layout"))
        createdPaths.withLock { $0.append("\(path)/oci-layout") }
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

    /// Creates `directory` and its missing parents, and records each one it created. A
    /// directory that another process creates at the same moment counts as existing.
    private static func createDirectories(_ directory: String, created: inout [String]) throws {
        var missing: [String] = []
        var current = directory
        while !current.isEmpty, current != "/", !FileManager.default.fileExists(atPath: current) {
            missing.insert(current, at: 0)
            current = (current as NSString).deletingLastPathComponent
        }
        for directory in missing {
            if mkdir(directory, 0o755) == 0 {
                created.append(directory)
            } else if errno != EEXIST {
                // `init` reports it for the layout's path, with the reason from `describe`.
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
        }
    }

    /// Removes `paths`, newest first, keeping directories that are not empty.
    private static func remove(_ paths: [String]) {
        for item in paths.reversed() where unlink(item) != 0 {
            rmdir(item)
        }
    }

    /// Removes the blobs in `added` and everything that `init` created, newest first, so that a
    /// failed copy leaves the directory as it was before. Directories that are no longer empty
    /// are kept.
    ///
    /// Nothing is removed while another process has the layout open, because that process may
    /// count on these blobs or files. The blobs kept are complete and checked. A blob that
    /// `index.json` names is kept too, because a push that ended meanwhile may have found it
    /// present and skipped its copy.
    public func discardCreated(addedBlobs added: [Digest] = []) {
        _ = try? lock.withIndexLock {
            guard lock.isOnlyUser() else { return }
            let named = (try? referencedDigests()) ?? Set(added)
            for digest in added where !named.contains(digest) {
                unlink(blobPath(digest))
            }
            if (try? readIndex())?.manifests.isEmpty ?? true {
                let created = createdPaths.withLock { paths in
                    defer { paths = [] }
                    return paths
                }
                Self.remove(created)
            }
        }
    }

    /// Collects the digests of the documents that `index.json` lists and of the configs, layers
    /// and child manifests that they name, down to two levels of nested indexes.
    private func referencedDigests() throws -> Set<Digest> {
        var digests: Set<Digest> = []
        var pending = try readIndex().manifests
        var depth = 0
        while !pending.isEmpty, depth < 3 {
            var next: [Descriptor] = []
            for entry in pending where digests.insert(entry.digest).inserted {
                guard let bytes = try? readLocalFile(blobPath(entry.digest), limit: RegistryClient.maximumManifestBytes),
                    let document = try? ImageDocument.decode(bytes, declaredMediaType: entry.mediaType)
                else { continue }
                switch document {
                case .manifest(let manifest):
                    digests.insert(manifest.config.digest)
                    for layer in manifest.layers { digests.insert(layer.digest) }
                case .index(let index):
                    next += index.manifests
                }
            }
            pending = next
            depth += 1
        }
        return digests
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

    /// Starts writing a blob into an unnamed temporary file, which vanishes with the process
    /// when kiln is interrupted or killed. Where the file system has no `O_TMPFILE`, the file is
    /// `.ingest-*` beside the blob, locked while it is written, and removed by the next process
    /// that opens the layout if its writer died.
    public func beginIngest(_ descriptor: Descriptor) throws -> any BlobIngest {
        let directory = "\(path)/blobs/\(descriptor.digest.algorithm.rawValue)"
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let finalPath = blobPath(descriptor.digest)
        let unnamed = openUnnamedIngest(in: directory)
        if unnamed >= 0 {
            return FileIngest(descriptor: descriptor, descriptorNumber: unnamed, temporaryPath: nil, finalPath: finalPath)
        }
        let temporary = "\(directory)/.ingest-\(descriptor.digest.hex.prefix(16))-\(UInt64.random(in: 0...UInt64.max))"
        let named = try lock.withIndexLock { try lock.createNamedIngest(temporary) }
        return FileIngest(descriptor: descriptor, descriptorNumber: named, temporaryPath: temporary, finalPath: finalPath)
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
        try lock.withIndexLock {
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

/// A blob written to a temporary file, hashed as it arrives, and put in place on commit: an
/// unnamed file is linked to the blob's name, a named one renamed to it.
final class FileIngest: BlobIngest {
    private let descriptor: Descriptor
    /// The name of the temporary file, or nil for an unnamed (`O_TMPFILE`) one.
    private let temporaryPath: String?
    private let finalPath: String
    private var fd: Int32
    private var hasher: DigestHasher
    private(set) var bytesWritten: Int64 = 0

    init(descriptor: Descriptor, descriptorNumber: Int32, temporaryPath: String?, finalPath: String) {
        self.descriptor = descriptor
        self.finalPath = finalPath
        self.temporaryPath = temporaryPath
        fd = descriptorNumber
        hasher = DigestHasher(descriptor.digest.algorithm)
    }

    /// The file for messages.
    private var displayPath: String { temporaryPath ?? finalPath }

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
                throw RegistryError.localFile(path: displayPath, reason: String(cString: strerror(errno)))
            }
            offset += count
        }
        bytesWritten += Int64(bytes.count)
    }

    func restart() throws {
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
            throw RegistryError.localFile(path: displayPath, reason: String(cString: strerror(errno)))
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
            throw RegistryError.localFile(path: displayPath, reason: String(cString: strerror(errno)))
        }
        if let temporaryPath {
            close(fd)
            fd = -1
            guard rename(temporaryPath, finalPath) == 0 else {
                throw RegistryError.localFile(path: finalPath, reason: String(cString: strerror(errno)))
            }
            return
        }
        // A blob that another writer put in place meanwhile has the same, checked content.
        guard linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, finalPath, AT_SYMLINK_FOLLOW) == 0 || errno == EEXIST else {
            throw RegistryError.localFile(path: finalPath, reason: String(cString: strerror(errno)))
        }
        close(fd)
        fd = -1
    }

    func abort() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        if let temporaryPath { unlink(temporaryPath) }
    }
}
