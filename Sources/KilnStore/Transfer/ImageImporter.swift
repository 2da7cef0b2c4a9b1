import Foundation
import KilnDiagnostics
import KilnImage
import KilnLayer
import KilnSystem

/// Makes a one-layer image from a root filesystem tarball, as `docker import` does: the way to
/// turn a busybox-static or debootstrap tree into a base image.
///
/// A plain tar is compressed with gzip on the way in; a gzip or zstd tarball is stored as it
/// came. The layer is then unpacked once into a scratch directory with KilnLayer's safe apply,
/// which checks every entry, before the image is recorded.
public struct ImageImporter: Sendable {
    public struct Options: Sendable {
        /// The container defaults (`--change`), on top of an empty config.
        public var config = ContainerConfig()
        /// `--message`; the history comment and the image comment.
        public var message: String?
        public var platform: Platform = .host
        public var tags: [Reference] = []
        /// The tarball's origin (a path, `-` or a URL), for the default comment `Imported from SOURCE`.
        public var source = "-"

        /// The tarball's name in error messages: `source`, or "standard input" for `-`.
        var sourceName: String { source == "-" ? "standard input" : source }
        /// The creation time to record, in Unix seconds; now when nil.
        public var created: Int64?
        public var limits = LayerLimits()

        public init() {}
    }

    public let store: Store
    public var progress: ProgressReporter = .silent

    public init(store: Store) {
        self.store = store
    }

    /// Reads a tarball from `input` and records it as an image; returns the image.
    public func importTarball(from input: ByteSource, options: Options) throws -> RegisteredImage {
        try store.withLease("import \(options.source)") { lease in
            do {
                return try importTarball(from: input, options: options, lease: lease)
            } catch {
                do {
                    try store.discardWrittenContent(of: lease)
                } catch let cleanup {
                    store.logger.debug("could not remove the blobs of the failed import: \(cleanup)")
                }
                throw error
            }
        }
    }

    private func importTarball(from input: ByteSource, options: Options, lease: Lease) throws -> RegisteredImage {
        var head = [UInt8](repeating: 0, count: 6)
        let headCount = try head.withUnsafeMutableBytes { raw -> Int in
            var total = 0
            while total < raw.count {
                let count = try input.read(into: UnsafeMutableRawBufferPointer(rebasing: raw[total...]))
                if count == 0 { break }
                total += count
            }
            return total
        }
        head.removeSubrange(headCount...)
        guard !head.isEmpty else {
            throw StoreError.invalidArchive(
                file: options.sourceName, entry: nil, reason: "the input is empty, expected a tarball")
        }
        if let name = Self.unsupportedCompression(head) {
            throw StoreError.invalidArchive(
                file: options.sourceName, entry: nil,
                reason:
                    "the tarball is compressed with \(name), which kiln does not read; decompress it first, or use gzip or zstd"
            )
        }

        let compression = LayerCompression.detect(head)
        let layer: Descriptor
        if compression == .uncompressed {
            // Compressed here with gzip, the layer type every registry and runtime accepts.
            let committed = try store.ingestFile(lease: lease) { output in
                let writer = try LayerBlobWriter(output: output, options: LayerBlobWriter.Options(compression: .gzip))
                try head.withUnsafeBytes { try writer.write($0) }
                try copy(from: input) { try writer.write($0) }
                _ = try writer.finish()
            }
            layer = Descriptor(mediaType: .ociLayerGzip, digest: committed.digest, size: committed.size)
        } else {
            let writer = try store.blobWriter(expectedDigest: nil, expectedSize: nil, lease: lease)
            try writer.write(head)
            try copy(from: input) { try writer.write($0) }
            let committed = try writer.commit()
            layer = Descriptor(
                mediaType: compression == .gzip ? .ociLayerGzip : .ociLayerZstd, digest: committed.digest,
                size: committed.size)
        }

        let measured: [Digest: MeasuredLayer]
        do {
            measured = try LayerChecker(store: store, lease: lease, limits: options.limits)
                .check([LayerChecker.Layer(descriptor: layer, expectedDiffID: nil, name: options.sourceName)])
        } catch let failure as LayerChecker.Failure {
            // The layer is the tarball itself, so its digest (of the blob kiln compressed) would
            // only name something the user never saw.
            let reason = failure.cause?.messageWithoutLayer ?? failure.message
            throw StoreError.invalidArchive(file: options.sourceName, entry: nil, reason: reason)
        }
        guard let diffID = measured[layer.digest]?.diffID else {
            throw StoreError.inconsistentImage(manifest: layer.digest, reason: "the layer check returned no diff ID")
        }

        let seconds = options.created ?? Int64(Date().timeIntervalSince1970)
        let created = RFC3339.format(RFC3339.Instant(seconds: seconds))
        let comment = options.message ?? "Imported from \(options.source)"
        var config = ImageConfig(platform: options.platform, config: options.config, diffIDs: [diffID])
        config.created = created
        config.history = [History(created: created, comment: comment)]
        let configDescriptor = try store.ingest(config.canonicalJSON(), mediaType: .ociConfig, lease: lease)
        let manifest = Manifest(mediaType: .ociManifest, config: configDescriptor, layers: [layer])
        let manifestDescriptor = try store.ingest(manifest.canonicalJSON(), mediaType: .ociManifest, lease: lease)
        return try store.register(
            ImageRegistration(
                manifest: manifestDescriptor, measuredLayers: measured, tags: options.tags, comment: comment),
            lease: lease)
    }

    private func copy(from input: ByteSource, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try input.read(into: $0) }
            if count == 0 { return }
            try buffer.withUnsafeBytes { try sink(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }

    /// The name of a compression kiln recognises but cannot read, from the first bytes.
    static func unsupportedCompression(_ head: [UInt8]) -> String? {
        if head.starts(with: [0x42, 0x5A, 0x68]) { return "bzip2" }
        if head.starts(with: [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { return "xz" }
        return nil
    }
}
