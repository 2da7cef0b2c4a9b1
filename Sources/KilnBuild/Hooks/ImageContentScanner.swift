/// Read-only search through an image's content for a `push` hook: the config and the regular
/// files of every layer, within limits, so a hook can refuse an image that carries a secret
/// without kiln handing it the layers.
public protocol ImageContentScanner: Sendable {
    /// Searches for every occurrence of each needle, stopping where `limits` say.
    func scan(for needles: [[UInt8]], limits: ContentScanLimits) throws -> ContentScanResult
}

/// How far one content scan may go.
public struct ContentScanLimits: Sendable, Hashable {
    /// Uncompressed bytes read in total, config and files together.
    public var maximumBytes: Int64
    /// Bytes read of one file; the rest of a larger file is skipped.
    public var maximumFileBytes: Int64
    /// Matches returned; the scan stops at this many.
    public var maximumMatches: Int
    /// Bytes of text returned with each match, starting at the match.
    public var contextBytes: Int

    public init(
        maximumBytes: Int64 = 1 << 30, maximumFileBytes: Int64 = 16 << 20, maximumMatches: Int = 1000,
        contextBytes: Int = 128
    ) {
        self.maximumBytes = maximumBytes
        self.maximumFileBytes = maximumFileBytes
        self.maximumMatches = maximumMatches
        self.contextBytes = contextBytes
    }
}

/// One place where a needle occurs.
public struct ContentMatch: Sendable, Hashable {
    /// The layer's digest, or nil for the image config.
    public var layer: String?
    /// The file's path inside the image without a leading `/`, or nil for the config.
    public var path: String?
    /// The byte offset of the match in the file or config.
    public var offset: Int64
    /// The position of the needle in the list searched for, from 0.
    public var needle: Int
    /// The bytes from the match on, at most `contextBytes` of them.
    public var text: [UInt8]

    public init(layer: String?, path: String?, offset: Int64, needle: Int, text: [UInt8]) {
        self.layer = layer
        self.path = path
        self.offset = offset
        self.needle = needle
        self.text = text
    }
}

public struct ContentScanResult: Sendable, Hashable {
    public var matches: [ContentMatch]
    /// Whether every byte of the image was searched; false when a limit cut the scan short.
    public var isComplete: Bool
    public var scannedBytes: Int64

    public init(matches: [ContentMatch], isComplete: Bool, scannedBytes: Int64) {
        self.matches = matches
        self.isComplete = isComplete
        self.scannedBytes = scannedBytes
    }
}
