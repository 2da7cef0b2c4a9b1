import KilnImage
import Testing

@Suite struct DigestTests {
    @Test func sha256KnownValues() {
        #expect(
            Digest.sha256(of: []).description
                == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            Digest.sha256(of: Array("a".utf8)).description
                == "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb")
    }

    @Test func streamingEqualsOneShot() {
        let bytes = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let hasher = DigestHasher()
        var offset = 0
        for chunk in [1, 63, 64, 65, 4096, 30_000] {
            hasher.update(Array(bytes[offset..<offset + chunk]))
            offset += chunk
        }
        hasher.update(Array(bytes[offset...]))
        #expect(hasher.byteCount == 100_000)
        #expect(hasher.finalize() == Digest.sha256(of: bytes))
    }

    @Test func sha512Accepted() throws {
        let hex =
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        let digest = try Digest(parsing: "sha512:" + hex)
        #expect(digest.algorithm == .sha512)
        try digest.verify(Array("abc".utf8))
        #expect(throws: ImageError.self) { try digest.verify(Array("abd".utf8)) }
    }

    @Test func sha384Accepted() throws {
        let hex =
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
        let digest = try Digest(parsing: "sha384:" + hex)
        #expect(digest.algorithm == .sha384)
        try digest.verify(Array("abc".utf8))
        #expect(throws: ImageError.self) { try digest.verify(Array("abd".utf8)) }
        #expect(throws: ImageError.self) { try Digest(parsing: "sha384:" + hex.dropLast()) }
    }

    struct InvalidCase: Sendable, CustomTestStringConvertible {
        var input: String
        var reason: String
        var testDescription: String { input }
    }

    static let sha256Hex = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"

    static let invalidCases: [InvalidCase] = [
        InvalidCase(input: sha256Hex, reason: "missing the algorithm, as in sha256:…"),
        InvalidCase(input: "sha256:" + sha256Hex.uppercased(), reason: "hex digits must be lower-case"),
        InvalidCase(input: "sha256:" + sha256Hex.dropLast(), reason: "sha256 needs 64 hex digits, got 63"),
        InvalidCase(input: "sha256:" + sha256Hex + "0", reason: "sha256 needs 64 hex digits, got 65"),
        InvalidCase(input: "sha256:", reason: "sha256 needs 64 hex digits, got 0"),
        InvalidCase(input: "sha256:zz", reason: "\"zz\" is not hexadecimal"),
        InvalidCase(
            input: "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564",
            reason: "unsupported algorithm \"sha256+b64u\" (kiln accepts sha256, sha384 and sha512)"),
        InvalidCase(input: "md5:" + sha256Hex, reason: "unsupported algorithm \"md5\" (kiln accepts sha256, sha384 and sha512)"),
        InvalidCase(input: "SHA256:" + sha256Hex, reason: "unsupported algorithm \"SHA256\" (kiln accepts sha256, sha384 and sha512)"),
        InvalidCase(input: "9sha:" + sha256Hex, reason: "invalid algorithm \"9sha\""),
        InvalidCase(input: ":" + sha256Hex, reason: "invalid algorithm \"\""),
    ]

    @Test(arguments: invalidCases)
    func rejectsWithReason(_ testCase: InvalidCase) {
        #expect(throws: ImageError.invalidDigest(testCase.input, reason: testCase.reason)) {
            try Digest(parsing: testCase.input)
        }
    }

    @Test func chainIDsFollowTheSpec() throws {
        let diffIDs = ["a", "b", "c"].map { Digest.sha256(of: Array($0.utf8)) }
        let chain = ChainID.chainIDs(for: diffIDs)
        #expect(chain.count == 3)
        #expect(chain[0] == diffIDs[0])
        #expect(chain[1].description == "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676")
        #expect(chain[2].description == "sha256:2fce7f8ce91bcf0a1428b36e1024639fdbd9469eea762dba98aa749631885106")
        #expect(ChainID.chainID(for: []) == nil)
        _ = try Digest(parsing: chain[2].description)
    }
}
