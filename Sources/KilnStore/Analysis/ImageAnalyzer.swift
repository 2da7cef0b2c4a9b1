import Glibc
import KilnImage
import KilnLayer
import KilnSystem

/// What each layer of an image adds, changes and removes, and the bytes a layer ships that a
/// later layer overwrites or deletes (they still travel with every pull of the image).
public struct ImageAnalysis: Sendable {
    public struct Layer: Sendable {
        /// The layer's position, from 0 for the base layer.
        public var index: Int
        public var digest: Digest
        /// Bytes of the blob as stored.
        public var size: Int64
        /// Bytes of regular files in the layer.
        public var contentSize: Int64
        /// The history entry that made the layer (`RUN apt-get install …`), when recorded.
        public var createdBy: String?
        public var filesAdded = 0
        public var filesChanged = 0
        /// Entries of lower layers this layer deletes (whiteouts, opaque directories).
        public var filesRemoved = 0
        /// Bytes of this layer's files that later layers overwrite or delete.
        public var wastedBytes: Int64 = 0
    }

    /// A file shipped in one layer and hidden by a later one.
    public struct WastedFile: Sendable, Hashable {
        public var path: String
        public var size: Int64
        /// The layer that ships the bytes.
        public var layer: Int
        /// The later layer that overwrites or deletes the file.
        public var hiddenBy: Int
        public var removed: Bool
    }

    public var image: ImageRecord
    public var layers: [Layer]
    /// Every wasted file, biggest first.
    public var wastedFiles: [WastedFile]

    public var wastedBytes: Int64 { wastedFiles.reduce(0) { $0 + $1.size } }
    public var contentSize: Int64 { layers.reduce(0) { $0 + $1.contentSize } }
}

/// Computes `ImageAnalysis` by unpacking each layer on its own (KilnLayer's snapshot mode, the
/// form overlay lower directories take) and replaying the layers in order.
public struct ImageAnalyzer {
    public let store: Store
    public var limits = LayerLimits()

    public init(store: Store) {
        self.store = store
    }

    public func analyze(_ image: ImageRecord) throws -> ImageAnalysis {
        let layers = try store.layers(of: image)
        let config = try store.readConfig(image.config.digest, expectedSize: image.config.size)
        let history = (config.history ?? []).filter { !$0.isEmptyLayer }
        // History is matched to layers only when the counts agree; otherwise it is unreliable.
        let createdBy = history.count == layers.count ? history.map(\.createdBy) : Array(repeating: nil, count: layers.count)

        var tree = FileTree()
        var results: [ImageAnalysis.Layer] = []
        var wasted: [ImageAnalysis.WastedFile] = []
        try store.withLease("analyze \(image.id.shortHex)") { lease in
            for (index, layer) in layers.enumerated() {
                var result = ImageAnalysis.Layer(
                    index: index, digest: layer.digest, size: layer.size, contentSize: 0, createdBy: createdBy[index] ?? nil)
                let changes = try unpackedChanges(of: layer, lease: lease)
                for directory in changes.opaqueDirectories {
                    let hidden = tree.removeChildren(of: directory)
                    result.filesRemoved += hidden.count
                    wasted += hidden.map { .init(path: $0.path, size: $0.size, layer: $0.layer, hiddenBy: index, removed: true) }
                }
                for path in changes.whiteouts {
                    let hidden = tree.remove(path)
                    result.filesRemoved += max(hidden.count, 1)
                    wasted += hidden.map { .init(path: $0.path, size: $0.size, layer: $0.layer, hiddenBy: index, removed: true) }
                }
                for file in changes.files {
                    let replaced = tree.insert(file.path, size: file.size, layer: index, isDirectory: file.isDirectory)
                    if !file.isDirectory {
                        result.contentSize += file.size
                        if replaced.isEmpty { result.filesAdded += 1 } else { result.filesChanged += 1 }
                    }
                    wasted += replaced.map { .init(path: $0.path, size: $0.size, layer: $0.layer, hiddenBy: index, removed: false) }
                }
                results.append(result)
            }
        }
        for file in wasted where file.layer < results.count {
            results[file.layer].wastedBytes += file.size
        }
        return ImageAnalysis(
            image: image, layers: results,
            wastedFiles: wasted.filter { $0.size > 0 }.sorted { ($0.size, $1.path) > ($1.size, $0.path) })
    }

    /// The entries of one layer: from its snapshot when one is unpacked, else unpacked now into
    /// a scratch directory that is removed afterwards.
    private func unpackedChanges(of layer: LayerRecord, lease: Lease) throws -> LayerChanges {
        guard geteuid() == 0 else {
            // TODO: read entries straight from the layer tar once KilnLayer exposes a reader;
            // until then whiteouts can be unpacked only by root, and other users get this error.
            throw StoreError.unsupported(
                "kiln image analyze needs root: it unpacks each layer with its whiteouts, which needs CAP_MKNOD")
        }
        let scratch = try store.makeScratchDirectory(lease: lease)
        defer { try? scratch.remove() }
        let root = try RootDirectory(path: FilePath(scratch.path))
        var options = LayerApplier.Options(mode: .snapshot(lowerLayers: []))
        options.limits = limits
        options.expectedDigest = layer.digest
        options.expectedDiffID = layer.diffID
        options.logger = store.logger
        _ = try LayerApplier(root: root, options: options).apply(blob: try store.openBlob(layer.digest, expectedSize: layer.size))
        return try LayerChanges(of: root.descriptor)
    }
}

/// The entries of an unpacked snapshot directory, as an analysis replays them.
struct LayerChanges {
    struct File {
        var path: String
        var size: Int64
        var isDirectory: Bool
    }

    var files: [File] = []
    /// Paths an overlay whiteout (character device 0:0) deletes.
    var whiteouts: [String] = []
    /// Directories marked opaque: they hide everything the layers below had in them.
    var opaqueDirectories: [String] = []

    init(of top: FileDescriptor) throws {
        try DirectoryWalk.walk(top) { walked in
            let path = walked.relativePath.description
            if walked.status.isWhiteout {
                whiteouts.append(path)
                return .skip
            }
            if walked.status.kind == .directory {
                if let opaque = try? walked.entry.extendedAttributes()["trusted.overlay.opaque"], opaque == Array("y".utf8) {
                    opaqueDirectories.append(path)
                }
                files.append(File(path: path, size: 0, isDirectory: true))
                return .descend
            }
            files.append(File(path: path, size: walked.status.kind == .regular ? walked.status.size : 0, isDirectory: false))
            return .skip
        }
    }
}

/// The merged file system of the layers replayed so far: each path and the layer that last
/// wrote it.
struct FileTree {
    struct Hidden {
        var path: String
        var size: Int64
        var layer: Int
    }

    private final class Node {
        var children: [String: Node] = [:]
        var size: Int64 = 0
        var layer = -1
        var isDirectory = true
    }

    private let root = Node()

    /// Adds or replaces `path`; returns the files it hides (the one it replaces, or everything
    /// below a directory that a file replaces).
    mutating func insert(_ path: String, size: Int64, layer: Int, isDirectory: Bool) -> [Hidden] {
        var node = root
        var hidden: [Hidden] = []
        let components = path.split(separator: "/").map(String.init)
        for (position, component) in components.enumerated() {
            let isLast = position == components.count - 1
            if let child = node.children[component] {
                if isLast {
                    if child.layer >= 0 && !child.isDirectory {
                        hidden.append(Hidden(path: path, size: child.size, layer: child.layer))
                    }
                    if !isDirectory && child.isDirectory {
                        hidden += Self.files(below: child, path: path)
                        child.children = [:]
                    }
                    if isDirectory && !child.isDirectory { child.children = [:] }
                    child.size = size
                    child.layer = layer
                    child.isDirectory = isDirectory
                }
                node = child
            } else {
                let child = Node()
                if isLast {
                    child.size = size
                    child.layer = layer
                    child.isDirectory = isDirectory
                }
                node.children[component] = child
                node = child
            }
        }
        return hidden
    }

    /// Removes `path` and everything below it; returns the files removed.
    mutating func remove(_ path: String) -> [Hidden] {
        var components = path.split(separator: "/").map(String.init)
        guard let last = components.popLast(), let parent = node(at: components), let target = parent.children[last] else {
            return []
        }
        parent.children[last] = nil
        var hidden = Self.files(below: target, path: path)
        if !target.isDirectory && target.layer >= 0 {
            hidden.append(Hidden(path: path, size: target.size, layer: target.layer))
        }
        return hidden
    }

    /// Removes everything below the directory `path` and keeps the directory; returns the files removed.
    mutating func removeChildren(of path: String) -> [Hidden] {
        guard let target = node(at: path.split(separator: "/").map(String.init)) else { return [] }
        let hidden = Self.files(below: target, path: path)
        target.children = [:]
        return hidden
    }

    private func node(at components: [String]) -> Node? {
        var node = root
        for component in components {
            guard let child = node.children[component] else { return nil }
            node = child
        }
        return node
    }

    private static func files(below node: Node, path: String) -> [Hidden] {
        var result: [Hidden] = []
        var pending: [(Node, String)] = [(node, path)]
        while let (current, currentPath) = pending.popLast() {
            for (name, child) in current.children {
                let childPath = currentPath.isEmpty ? name : currentPath + "/" + name
                if !child.isDirectory && child.layer >= 0 {
                    result.append(Hidden(path: childPath, size: child.size, layer: child.layer))
                }
                pending.append((child, childPath))
            }
        }
        return result
    }
}
