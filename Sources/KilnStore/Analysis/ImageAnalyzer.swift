import KilnImage
import KilnLayer
import KilnSystem

/// The changes each layer of an image makes (files added, changed and removed), and the bytes a
/// layer ships that a later layer overwrites or deletes. Those bytes still travel with every pull.
public struct ImageAnalysis: Sendable {
    public struct Layer: Sendable {
        /// The layer's position, from 0 for the base layer.
        public var index: Int
        public var digest: Digest
        /// Bytes of the blob as stored, compressed when the layer is.
        public var size: Int64
        /// Bytes of the layer's uncompressed tar, the size that `images` and `history` count;
        /// the stored size when the store has no record of it.
        public var uncompressedSize: Int64
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

/// Computes `ImageAnalysis` by reading each layer's entries with KilnLayer's `LayerReader` and
/// replaying the layers in order over a tree of the paths seen so far.
public struct ImageAnalyzer: Sendable {
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
        let createdBy =
            history.count == layers.count ? history.map(\.createdBy) : Array(repeating: nil, count: layers.count)

        var tree = FileTree()
        var results: [ImageAnalysis.Layer] = []
        var wasted: [ImageAnalysis.WastedFile] = []
        try store.withLease("analyze \(image.id.shortHex)") { lease in
            // Held so that a removal of the image beside the analysis does not pull blobs away.
            try lease.retain(layers.map { .blob($0.digest) })
            for (index, layer) in layers.enumerated() {
                var result = ImageAnalysis.Layer(
                    index: index, digest: layer.digest, size: layer.size,
                    uncompressedSize: layer.uncompressedSize ?? layer.size, contentSize: 0,
                    createdBy: createdBy[index] ?? nil)
                let changes = try changes(of: layer)
                for directory in changes.opaqueDirectories {
                    let hidden = tree.removeChildren(of: directory)
                    result.filesRemoved += hidden.count
                    wasted += hidden.map {
                        .init(path: $0.path, size: $0.size, layer: $0.layer, hiddenBy: index, removed: true)
                    }
                }
                for path in changes.whiteouts {
                    let hidden = tree.remove(path)
                    result.filesRemoved += max(hidden.count, 1)
                    wasted += hidden.map {
                        .init(path: $0.path, size: $0.size, layer: $0.layer, hiddenBy: index, removed: true)
                    }
                }
                for file in changes.files {
                    let replaced = tree.insert(file.path, size: file.size, layer: index, isDirectory: file.isDirectory)
                    if !file.isDirectory {
                        result.contentSize += file.size
                        if replaced.isEmpty { result.filesAdded += 1 } else { result.filesChanged += 1 }
                    }
                    wasted += replaced.map {
                        .init(path: $0.path, size: $0.size, layer: $0.layer, hiddenBy: index, removed: false)
                    }
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

    /// Reads the entries of one layer from its blob without unpacking it, checking the digest and
    /// the diff ID at the end.
    private func changes(of layer: LayerRecord) throws -> LayerChanges {
        let blob = try store.openBlob(layer.digest, expectedSize: layer.size)
        let reader = try LayerReader(
            blob: blob, limits: limits, expectedDigest: layer.digest, expectedDiffID: layer.diffID)
        var changes = LayerChanges()
        while let entry = try reader.next() {
            changes.add(entry)
        }
        _ = try reader.finish()
        return changes
    }
}

/// The entries of one layer tar, sorted into what an analysis replays: whiteouts, opaque
/// directories, and files.
struct LayerChanges {
    struct File {
        var path: String
        var size: Int64
        var isDirectory: Bool
    }

    var files: [File] = []
    /// Paths a `.wh.NAME` entry deletes from the layers below.
    var whiteouts: [String] = []
    /// Directories with a `.wh..wh..opq` entry: they hide everything the layers below had in them.
    var opaqueDirectories: [String] = []

    static let whiteoutPrefix = ".wh."
    static let opaqueMarker = ".wh..wh..opq"

    mutating func add(_ entry: TarEntry) {
        guard let components = Self.components(entry.path.description) else { return }
        let name = components.last ?? ""
        let parent = components.dropLast().joined(separator: "/")
        if name == Self.opaqueMarker {
            opaqueDirectories.append(parent)
        } else if name.hasPrefix(Self.whiteoutPrefix) {
            let hidden = String(name.dropFirst(Self.whiteoutPrefix.count))
            whiteouts.append(parent.isEmpty ? hidden : parent + "/" + hidden)
        } else if !components.isEmpty {
            // Hard links add a name but no bytes to the layer.
            files.append(
                File(
                    path: components.joined(separator: "/"), size: entry.kind == .regular ? entry.size : 0,
                    isDirectory: entry.kind == .directory))
        }
    }

    /// Splits an entry name into components relative to the root: `.` is dropped and `..` takes
    /// one back, never above the root. The layer was checked to apply safely when it was stored.
    static func components(_ name: String) -> [String]? {
        var result: [String] = []
        for part in name.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": if !result.isEmpty { result.removeLast() }
            default: result.append(String(part))
            }
        }
        return result
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
        guard let last = components.popLast(), let parent = node(at: components), let target = parent.children[last]
        else {
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
