import CCrypto

/// A streaming hash through libcrypto's EVP interface, for content too large to hold in memory.
///
/// Not safe to share between threads at the same time; hand it from one thread to the next.
public final class DigestHasher: @unchecked Sendable {
    public let algorithm: Digest.Algorithm
    private let context: OpaquePointer
    /// The number of bytes hashed so far.
    public private(set) var byteCount: Int64 = 0

    public init(_ algorithm: Digest.Algorithm = .sha256) {
        self.algorithm = algorithm
        // EVP_MD_CTX_new fails only when memory runs out, which Swift treats as fatal anyway.
        guard let context = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        self.context = context
        let method = switch algorithm {
        case .sha256: EVP_sha256()
        case .sha512: EVP_sha512()
        case .sha384: EVP_sha384()
        }
        EVP_DigestInit_ex(context, method, nil)
    }

    deinit {
        EVP_MD_CTX_free(context)
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        EVP_DigestUpdate(context, base, bytes.count)
        byteCount += Int64(bytes.count)
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest of everything hashed so far. The hasher cannot be used afterwards.
    public func finalize() -> Digest {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &output, &length)
        return Digest(uncheckedAlgorithm: algorithm, hex: Self.hexString(output.prefix(Int(length))))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func hexString(_ bytes: some Collection<UInt8>) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
