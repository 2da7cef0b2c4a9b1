import KilnSystem

/// A content digest, `algorithm:hex`, as OCI descriptors and image references carry it.
///
/// Only sha256, sha384 and sha512 are accepted, with lower-case hex of the algorithm's exact
/// length, so that one piece of content has exactly one spelling. OCI registers sha256 and
/// sha512. sha384 is accepted too, because BuildKit's `ADD --checksum` takes it.
public struct Digest: Sendable, Hashable, Comparable, CustomStringConvertible {
    public enum Algorithm: String, Sendable, Hashable, CaseIterable {
        // New cases go last: an incremental build that does not recompile a dependent module
        // then still finds the older cases at the positions it was compiled with.
        case sha256
        case sha512
        case sha384

        /// The number of hex digits of a digest.
        public var hexLength: Int {
            switch self {
            case .sha256: 64
            case .sha512: 128
            case .sha384: 96
            }
        }
    }

    public let algorithm: Algorithm
    /// The lower-case hex digits after the colon.
    public let hex: String

    /// Parses `sha256:…`, `sha384:…` or `sha512:…`.
    public init(parsing text: String) throws {
        guard let colon = text.firstIndex(of: ":") else {
            throw ImageError.invalidDigest(text, reason: "missing the algorithm, as in sha256:…")
        }
        let name = String(text[..<colon])
        let hex = String(text[text.index(after: colon)...])
        guard Self.isValidAlgorithmName(name) else {
            throw ImageError.invalidDigest(text, reason: "invalid algorithm \(quoted(name))")
        }
        guard let algorithm = Algorithm(rawValue: name) else {
            throw ImageError.invalidDigest(
                text, reason: "unsupported algorithm \(quoted(name)) (kiln accepts sha256, sha384 and sha512)")
        }
        try self.init(algorithm: algorithm, hex: hex, text: text)
    }

    /// A digest from its parts; throws when `hex` is not `algorithm.hexLength` lower-case hex digits.
    public init(algorithm: Algorithm, hex: String) throws {
        try self.init(algorithm: algorithm, hex: hex, text: "\(algorithm.rawValue):\(hex)")
    }

    private init(algorithm: Algorithm, hex: String, text: String) throws {
        var length = 0
        for byte in hex.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"):
                length += 1
            case UInt8(ascii: "A")...UInt8(ascii: "F"):
                throw ImageError.invalidDigest(text, reason: "hex digits must be lower-case")
            default:
                throw ImageError.invalidDigest(text, reason: "\(quoted(hex)) is not hexadecimal")
            }
        }
        guard length == algorithm.hexLength else {
            throw ImageError.invalidDigest(
                text, reason: "\(algorithm.rawValue) needs \(algorithm.hexLength) hex digits, got \(length)")
        }
        self.algorithm = algorithm
        self.hex = hex
    }

    /// Trusted construction from a hasher's output, which is always well-formed.
    init(uncheckedAlgorithm algorithm: Algorithm, hex: String) {
        self.algorithm = algorithm
        self.hex = hex
    }

    public var description: String { "\(algorithm.rawValue):\(hex)" }

    /// The first 12 hex digits, as Docker shows image IDs and layer progress.
    public var shortHex: String { String(hex.prefix(12)) }

    public static func < (lhs: Digest, rhs: Digest) -> Bool {
        lhs.description < rhs.description
    }

    /// The grammar of the distribution spec: components of letters and digits, starting with a
    /// letter, joined by `+`, `.`, `_` or `-`.
    private static func isValidAlgorithmName(_ name: String) -> Bool {
        var expectLetter = true
        for byte in name.utf8 {
            let isLetter = (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
            let isDigit = byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
            if expectLetter {
                guard isLetter else { return false }
                expectLetter = false
            } else if "+._-".utf8.contains(byte) {
                expectLetter = true
            } else if !isLetter && !isDigit {
                return false
            }
        }
        return !name.isEmpty && !expectLetter
    }
}

extension Digest {
    /// The sha256 digest of `bytes`.
    public static func sha256(of bytes: some Sequence<UInt8>) -> Digest {
        let hasher = DigestHasher(.sha256)
        hasher.update(Array(bytes))
        return hasher.finalize()
    }

    /// Hashes everything readable from `descriptor`, from its current offset to its end.
    public static func hashing(_ descriptor: FileDescriptor, algorithm: Algorithm = .sha256) throws -> Digest {
        let hasher = DigestHasher(algorithm)
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try descriptor.read(into: $0) }
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
        return hasher.finalize()
    }

    /// The digest of `bytes` with this digest's algorithm, for checking content against it.
    public func verify(_ bytes: some Sequence<UInt8>) throws {
        let hasher = DigestHasher(algorithm)
        hasher.update(Array(bytes))
        let actual = hasher.finalize()
        guard actual == self else { throw ImageError.digestMismatch(expected: self, actual: actual) }
    }
}

extension Digest: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        try self.init(parsing: try container.decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
