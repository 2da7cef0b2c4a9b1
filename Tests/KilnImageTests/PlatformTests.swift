import KilnImage
import Testing

@Suite struct PlatformTests {
    @Test(arguments: [
        ("linux/amd64", "linux/amd64"),
        ("linux/arm64", "linux/arm64/v8"),
        ("linux/arm64/v8", "linux/arm64/v8"),
        ("linux/aarch64", "linux/arm64/v8"),
        ("linux/x86_64", "linux/amd64"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/arm/v6", "linux/arm/v6"),
        ("Linux/AMD64", "linux/amd64"),
        ("linux/s390x", "linux/s390x"),
    ])
    func parsesAndNormalises(input: String, expected: String) throws {
        #expect(try Platform(parsing: input).description == expected)
    }

    @Test(arguments: ["linux", "", "linux/", "/amd64", "linux/amd64/v8/x", "linux/am d64"])
    func rejectsMalformed(input: String) {
        #expect(throws: ImageError.self) { try Platform(parsing: input) }
    }

    @Test func matching() throws {
        let arm64 = try Platform(parsing: "linux/arm64")
        #expect(arm64.matches(Platform(os: "linux", architecture: "arm64")))
        #expect(arm64.matches(Platform(os: "linux", architecture: "arm64", variant: "v8")))
        #expect(!arm64.matches(Platform(os: "linux", architecture: "amd64")))
        let amd64 = try Platform(parsing: "linux/amd64")
        #expect(amd64.matches(Platform(os: "linux", architecture: "amd64", variant: "v1")))
        #expect(!amd64.matches(Platform(os: "windows", architecture: "amd64")))
        let armV7 = try Platform(parsing: "linux/arm/v7")
        #expect(!armV7.matches(Platform(os: "linux", architecture: "arm", variant: "v6")))
    }

    @Test func hostIsLinux() {
        #expect(Platform.host.os == "linux")
        #expect(!Platform.host.architecture.isEmpty)
    }

    @Test func indexSelectsHostPlatform() throws {
        let digest = Digest.sha256(of: Array("m".utf8))
        let other = Digest.sha256(of: Array("o".utf8))
        var attestation = Descriptor(mediaType: .ociManifest, digest: other, size: 2)
        attestation.platform = Platform(os: "unknown", architecture: "unknown")
        let index = Index(manifests: [
            Descriptor(mediaType: .ociManifest, digest: other, size: 1, platform: Platform(os: "linux", architecture: "riscv64")),
            attestation,
            Descriptor(mediaType: .ociManifest, digest: digest, size: 1, platform: Platform.host),
        ])
        #expect(index.manifest(for: .host)?.digest == digest)
        #expect(index.manifest(for: Platform(os: "linux", architecture: "mips")) == nil)
    }
}

@Suite struct RFC3339Tests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", 0, 0),
        ("2024-02-29T12:34:56.5Z", 1_709_210_096, 500_000_000),
        ("2024-02-29T14:34:56.123456789+02:00", 1_709_210_096, 123_456_789),
        ("0001-01-01T00:00:00Z", -62_135_596_800, 0),
    ])
    func parses(text: String, seconds: Int64, nanoseconds: Int32) {
        #expect(RFC3339.parse(text) == RFC3339.Instant(seconds: seconds, nanoseconds: nanoseconds))
    }

    @Test(arguments: ["2023-02-29T00:00:00Z", "2024-01-01", "2024-01-01T00:00:00", "2024-13-01T00:00:00Z", "yesterday"])
    func rejects(text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    @Test func formatsRoundTrip() {
        #expect(RFC3339.format(RFC3339.Instant(seconds: 1_709_210_096, nanoseconds: 500_000_000)) == "2024-02-29T12:34:56.5Z")
        #expect(RFC3339.format(RFC3339.Instant(seconds: 0)) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.format(RFC3339.Instant(seconds: -62_135_596_800)) == "0001-01-01T00:00:00Z")
    }
}
