/// Bounds on every read of a layer, so that a hostile layer ends in a named error instead of
/// filling the disk or memory.
///
/// The defaults are far above what real images need: the largest public layers have a few
/// hundred thousand entries and tens of gigabytes.
public struct LayerLimits: Sendable, Hashable {
    /// Bytes of the uncompressed tar stream.
    public var maximumUncompressedBytes: Int64 = 1 << 37
    /// Entries in one layer, whiteouts included.
    public var maximumEntries: Int64 = 2_000_000
    /// Bytes of one header's extension data (a PAX record set or a GNU long name). libarchive
    /// rejects larger ones itself with "Special header too large".
    public var maximumHeaderBytes: Int64 = 1 << 20
    /// Bytes of an entry name or link target; Linux's PATH_MAX.
    public var maximumPathLength: Int64 = 4096
    /// Components of an entry name.
    public var maximumPathDepth: Int64 = 256
    /// Total bytes of one entry's extended attributes; Linux caps one value at 64 KiB.
    public var maximumAttributeBytes: Int64 = 1 << 16

    public init() {}

    /// The limits as names for messages and options.
    public enum Limit: String, Sendable, Hashable, CustomStringConvertible {
        case uncompressedBytes
        case entries
        case headerBytes
        case pathLength
        case pathDepth
        case attributeBytes

        public var description: String {
            switch self {
            case .uncompressedBytes: "uncompressed size in bytes"
            case .entries: "number of entries"
            case .headerBytes: "header size in bytes"
            case .pathLength: "path length in bytes"
            case .pathDepth: "path depth in components"
            case .attributeBytes: "extended attribute size in bytes"
            }
        }

        /// The `LayerLimits` property that sets this limit.
        public var optionName: String {
            switch self {
            case .uncompressedBytes: "maximumUncompressedBytes"
            case .entries: "maximumEntries"
            case .headerBytes: "maximumHeaderBytes"
            case .pathLength: "maximumPathLength"
            case .pathDepth: "maximumPathDepth"
            case .attributeBytes: "maximumAttributeBytes"
            }
        }
    }
}
