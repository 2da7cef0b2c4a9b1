import Glibc
import KilnImage
import KilnLayer
import KilnStore

/// Searches a stored image's config and layer files for byte strings, for `push` hooks.
///
/// Files are read one at a time, each up to `maximumFileBytes`, so memory stays bounded whatever
/// the layer holds. Layers are checked against their digests while they are read.
public struct StoreContentScanner: ImageContentScanner {
    public let store: Store
    public let config: Descriptor
    public let layers: [Descriptor]

    public init(store: Store, config: Descriptor, layers: [Descriptor]) {
        self.store = store
        self.config = config
        self.layers = layers
    }

    public func scan(for needles: [[UInt8]], limits: ContentScanLimits) throws -> ContentScanResult {
        var search = NeedleSearch(needles: needles.filter { !$0.isEmpty }, limits: limits)
        let configBytes = try store.readBlob(config.digest, expectedSize: config.size, maximumSize: 16 << 20)
        search.search(configBytes, layer: nil, path: nil, truncated: false)

        for layer in layers where !search.isFinished {
            let blob = try store.openBlob(layer.digest, expectedSize: layer.size)
            defer { try? blob.close() }
            let reader = try LayerReader(blob: blob, name: layer.digest.description, expectedDigest: layer.digest)
            while !search.isFinished, let entry = try reader.next() {
                guard entry.kind == .regular, entry.size > 0 else { continue }
                let wanted = min(entry.size, limits.maximumFileBytes, max(0, limits.maximumBytes - search.scannedBytes))
                let content = try readPrefix(reader, count: Int(wanted))
                let path = entry.path.string ?? String(decoding: entry.path.bytes, as: UTF8.self)
                search.search(content, layer: layer.digest.description, path: Self.clean(path), truncated: wanted < entry.size)
            }
        }
        return search.result
    }

    private func readPrefix(_ reader: LayerReader, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let read = try bytes.withUnsafeMutableBytes { buffer in
                try reader.readData(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            }
            if read == 0 { break }
            filled += read
        }
        return Array(bytes.prefix(filled))
    }

    /// Removes the leading `./` or `/` of a tar path, as hooks see paths.
    private static func clean(_ path: String) -> String {
        var text = Substring(path)
        while text.hasPrefix("./") || text.hasPrefix("/") { text = text.drop { $0 == "." || $0 == "/" } }
        return String(text)
    }
}

/// The state of one scan: matches so far and bytes read.
struct NeedleSearch {
    let needles: [[UInt8]]
    let limits: ContentScanLimits
    private(set) var matches: [ContentMatch] = []
    private(set) var scannedBytes: Int64 = 0
    private(set) var isCut = false

    init(needles: [[UInt8]], limits: ContentScanLimits) {
        self.needles = needles
        self.limits = limits
    }

    var isFinished: Bool { isCut || needles.isEmpty }

    var result: ContentScanResult {
        ContentScanResult(matches: matches, isComplete: !isCut, scannedBytes: scannedBytes)
    }

    /// Searches one file or the config. `truncated` is true when a limit left part of it unread.
    mutating func search(_ bytes: [UInt8], layer: String?, path: String?, truncated: Bool) {
        guard !isFinished else { return }
        scannedBytes += Int64(bytes.count)
        if truncated || scannedBytes >= limits.maximumBytes { isCut = true }
        var found: [ContentMatch] = []
        let room = limits.maximumMatches - matches.count
        bytes.withUnsafeBytes { buffer in
            for (index, needle) in needles.enumerated() {
                var offset = 0
                while offset < buffer.count {
                    // Collect at most one more than there is room for, so a file full of one
                    // needle costs no more memory than the limit allows.
                    guard found.count <= room else { break }
                    guard let position = Self.firstIndex(of: needle, in: buffer, from: offset) else { break }
                    let end = min(buffer.count, position + limits.contextBytes)
                    found.append(
                        ContentMatch(
                            layer: layer, path: path, offset: Int64(position), needle: index,
                            text: Array(buffer[position..<end])))
                    offset = position + 1
                }
            }
        }
        found.sort { $0.offset != $1.offset ? $0.offset < $1.offset : $0.needle < $1.needle }
        for match in found {
            guard matches.count < limits.maximumMatches else {
                isCut = true
                return
            }
            matches.append(match)
        }
    }

    /// Returns the position of the first `needle` at or after `start`. memchr finds candidates
    /// for the first byte and memcmp compares the rest.
    static func firstIndex(of needle: [UInt8], in buffer: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let base = buffer.baseAddress, let first = needle.first else { return nil }
        var offset = start
        while offset + needle.count <= buffer.count {
            guard let candidate = memchr(base + offset, Int32(first), buffer.count - offset - needle.count + 1) else {
                return nil
            }
            let position = base.distance(to: UnsafeRawPointer(candidate))
            let equal = needle.withUnsafeBytes { pattern in
                guard let start = pattern.baseAddress else { return false }
                return memcmp(base + position, start, needle.count) == 0
            }
            if equal { return position }
            offset = position + 1
        }
        return nil
    }
}
