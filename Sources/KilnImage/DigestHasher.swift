import CCrypto

/// A streaming hash through libcrypto's SHA-2 functions, for content too large to hold in memory.
///
/// It skips libcrypto's EVP interface, whose first digest in a process took 0.9 ms (see
/// `kiln_sha2_context`).
///
/// Not safe to share between threads at the same time; hand it from one thread to the next.
public final class DigestHasher: @unchecked Sendable {
    public let algorithm: Digest.Algorithm
    private let context: UnsafeMutablePointer<kiln_sha2_context>
    /// The number of bytes hashed so far.
    public private(set) var byteCount: Int64 = 0

    public init(_ algorithm: Digest.Algorithm = .sha256) {
        self.algorithm = algorithm
        context = .allocate(capacity: 1)
        let bits: Int32 = switch algorithm {
        case .sha256: 256
        case .sha512: 512
        case .sha384: 384
        }
        // OpenSSL 3.0's SHA-2 init functions only set fields, and return 1 for these three sizes.
        kiln_sha2_init(context, bits)
    }

    deinit {
        context.deallocate()
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        kiln_sha2_update(context, base, bytes.count)
        byteCount += Int64(bytes.count)
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest of everything hashed so far. The hasher cannot be used afterwards.
    public func finalize() -> Digest {
        var output = [UInt8](repeating: 0, count: Int(SHA512_DIGEST_LENGTH))
        let length = kiln_sha2_final(context, &output)
        return Digest(uncheckedAlgorithm: algorithm, hex: Self.hexString(output.prefix(length)))
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
