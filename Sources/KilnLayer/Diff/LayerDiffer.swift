import Glibc
import KilnImage
import KilnSystem

/// Turns a directory tree, usually an overlay upper directory, into a layer blob.
///
/// The tar is deterministic: entries in depth-first byte order of names, numeric owners only,
/// modification times in whole seconds (clamped to `sourceDateEpoch` when set), no access or
/// change times, and PAX headers only where ustar falls short. The same tree gives the same
/// diff ID and blob digest on every run.
///
/// Overlay whiteouts (character devices 0:0) become `.wh.NAME` entries and opaque directories
/// (`trusted.overlay.opaque=y`) get a `.wh..wh..opq` entry right after their own entry, before
/// their children, so appliers that handle entries in order keep the new children.
public struct LayerDiffer {
    public struct Options: Sendable {
        public var blob = LayerBlobWriter.Options()
        /// SOURCE_DATE_EPOCH in seconds: later modification times are set to it.
        public var sourceDateEpoch: Int64?
        /// Decides whether a path goes into the layer (for plugin hooks that drop entries); a
        /// dropped directory drops everything below it.
        public var include: (@Sendable (FilePath, FileStatus) -> Bool)?
        /// A check called before each entry and each MiB of file data. The error it throws
        /// (usually `CancellationError`) stops the diff and reaches the caller unchanged.
        public var checkCancellation: (@Sendable () throws -> Void)?

        public init(compression: LayerCompression = .gzip) {
            blob = LayerBlobWriter.Options(compression: compression)
        }
    }

    public let options: Options

    public init(options: Options = Options()) {
        self.options = options
    }

    /// Writes the layer of the tree at `directory` to `output` and returns its digests.
    public func writeLayer(of directory: FilePath, to output: FileDescriptor) throws -> LayerBlobWriter.Result {
        let top: FileDescriptor
        do {
            top = try RootDirectory(path: directory).descriptor
        } catch let error as SystemError {
            throw LayerError.system(layer: "diff of \(directory)", entry: nil, error)
        }
        return try writeLayer(of: top, named: directory, to: output)
    }

    /// Writes the layer of the tree under the open directory `top`.
    public func writeLayer(of top: FileDescriptor, named name: FilePath = "", to output: FileDescriptor) throws
        -> LayerBlobWriter.Result
    {
        let blob = try LayerBlobWriter(output: output, options: options.blob)
        let tar = try TarWriter { try blob.write($0) }
        var run = DiffRun(options: options, tar: tar)
        do {
            try DirectoryWalk.walk(top, path: name) { walked in try run.visit(walked) }
        } catch let error as SystemError {
            throw LayerError.system(layer: "diff of \(name)", entry: nil, error)
        }
        try tar.finish()
        return try blob.finish()
    }
}
