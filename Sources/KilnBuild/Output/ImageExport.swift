import Glibc
import KilnLayer
import KilnSnapshot
import KilnStore
import KilnSystem

/// Writes a built image's filesystem out of the store: `kiln build --output type=tar|local`.
public struct ImageExport: Sendable {
    public let store: Store
    public let snapshotter: Snapshotter

    public init(store: Store, snapshotter: Snapshotter) {
        self.store = store
        self.snapshotter = snapshotter
    }

    /// Runs `body` with a read-only view of the filesystem that `layers` make.
    public func withFilesystem<T>(of layers: [BuiltLayer], _ body: (String) throws -> T) throws -> T {
        try store.withLease("export") { lease in
            let chain = try snapshotter.prepare(layers.map(\.snapshotLayer), lease: lease)
            let view = try snapshotter.makeView(of: chain, lease: lease)
            defer { view.close() }
            return try body(view.path)
        }
    }

    /// Writes the filesystem as one uncompressed tar.
    public func writeTar(of layers: [BuiltLayer], to output: FileDescriptor) throws {
        try withFilesystem(of: layers) { path in
            _ = try LayerDiffer(options: LayerDiffer.Options(compression: .uncompressed)).writeLayer(
                of: FilePath(path), to: output)
        }
    }

    /// Copies the filesystem into `directory`, which is created with its missing parents, as
    /// buildx's local exporter creates them.
    public func copy(of layers: [BuiltLayer], to directory: String) throws {
        try withFilesystem(of: layers) { path in
            try Self.makeDirectories(directory)
            let source = try RootDirectory(path: FilePath(path))
            let target = try RootDirectory(path: FilePath(directory))
            let copier = EntryCopier()
            try DirectoryWalk.walk(source.descriptor) { walked in
                let destination = try target.entry(walked.relativePath)
                if let existing = try destination.status() {
                    if existing.kind == .directory && walked.status.kind == .directory { return .descend }
                    try destination.removeAll()
                }
                try copier.copy(walked.entry, status: walked.status, to: destination)
                return .descend
            } leave: { walked in
                try copier.finishDirectory(try target.entry(walked.relativePath), status: walked.status)
            }
        }
    }

    /// Creates `directory` and each missing parent with mode 0755, as `mkdir -p` does. A parent
    /// that exists and is not a directory fails at the first name below it.
    static func makeDirectories(_ directory: String) throws {
        var path = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            path += "/" + component
            guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
                throw SystemError("create directory", path: path, errno: errno)
            }
        }
    }
}
