/// A reference to content by digest and size, as manifests and indexes list it.
public struct Descriptor: Sendable, Hashable, JSONRepresentable {
    /// The largest `size` accepted: 4 TiB. Far above any real blob, and small enough that adding
    /// up the sizes of an image's blobs never overflows.
    public static let maximumSize: Int64 = 1 << 42

    public var mediaType: MediaType
    public var digest: Digest
    public var size: Int64
    public var urls: [String]?
    public var annotations: [String: String]?
    public var platform: Platform?
    public var artifactType: MediaType?
    /// The content itself, embedded; checked against `digest` and `size` when decoded.
    public var data: [UInt8]?
    /// Members kiln does not model, kept when the descriptor is written again.
    public var extra: [String: JSONValue] = [:]

    public init(
        mediaType: MediaType, digest: Digest, size: Int64, annotations: [String: String]? = nil,
        platform: Platform? = nil
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
    }

    /// A descriptor of `bytes`, which are hashed with sha256.
    public init(mediaType: MediaType, bytes: [UInt8]) {
        self.init(mediaType: mediaType, digest: .sha256(of: bytes), size: Int64(bytes.count))
    }

    public init(json: JSONValue, path: String) throws {
        var reader = try JSONObjectReader(json, path: path)
        mediaType = MediaType(try reader.requiredString("mediaType"))
        guard let digest = try reader.digest("digest") else { throw reader.invalid("digest", "missing") }
        self.digest = digest
        guard let size = try reader.int64("size") else { throw reader.invalid("size", "missing") }
        guard size >= 0 else { throw reader.invalid("size", "\(size) is negative") }
        guard size <= Self.maximumSize else {
            throw reader.invalid("size", "\(size) is larger than the maximum of \(Self.maximumSize) bytes")
        }
        self.size = size
        urls = try reader.stringArray("urls")
        annotations = try reader.stringMap("annotations")
        platform = try reader.value("platform")
        artifactType = try reader.string("artifactType").map { MediaType(rawValue: $0) }
        if let encoded = try reader.string("data") {
            guard let bytes = Base64.decode(encoded) else { throw reader.invalid("data", "not valid base64") }
            guard Int64(bytes.count) == size else {
                throw reader.invalid("data", "decodes to \(bytes.count) bytes but size is \(size)")
            }
            do {
                try digest.verify(bytes)
            } catch {
                throw reader.invalid("data", "does not match digest \(digest)")
            }
            data = bytes
        }
        extra = reader.remaining
    }

    public var json: JSONValue {
        var builder = JSONObjectBuilder(extra: extra)
        builder.set("mediaType", mediaType.rawValue)
        builder.set("digest", digest)
        builder.set("size", size)
        builder.set("urls", urls)
        builder.set("annotations", annotations)
        builder.set("platform", platform)
        builder.set("artifactType", artifactType?.rawValue)
        builder.set("data", data.map(Base64.encode))
        return builder.value
    }
}

/// Standard base64 (RFC 4648 section 4) with padding, for the descriptor `data` member.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let reverse: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let remaining = bytes.count - index
            let b0 = UInt32(bytes[index])
            let b1 = remaining > 1 ? UInt32(bytes[index + 1]) : 0
            let b2 = remaining > 2 ? UInt32(bytes[index + 2]) : 0
            let group = b0 << 16 | b1 << 8 | b2
            output.append(alphabet[Int(group >> 18 & 0x3F)])
            output.append(alphabet[Int(group >> 12 & 0x3F)])
            output.append(remaining > 1 ? alphabet[Int(group >> 6 & 0x3F)] : UInt8(ascii: "="))
            output.append(remaining > 2 ? alphabet[Int(group & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The decoded bytes, or nil when `text` is not canonical padded base64.
    static func decode(_ text: String) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            var group: UInt32 = 0
            var padding = 0
            for offset in 0..<4 {
                let byte = input[index + offset]
                if byte == UInt8(ascii: "=") && isLast && offset >= 2 {
                    padding += 1
                    group <<= 6
                    continue
                }
                guard padding == 0 else { return nil }
                let value = reverse[Int(byte)]
                guard value != 0xFF else { return nil }
                group = group << 6 | UInt32(value)
            }
            output.append(UInt8(group >> 16 & 0xFF))
            if padding < 2 { output.append(UInt8(group >> 8 & 0xFF)) }
            if padding < 1 { output.append(UInt8(group & 0xFF)) }
            index += 4
        }
        return output
    }
}
