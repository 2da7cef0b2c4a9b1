import Foundation
import Testing

@Suite(.enabled(if: BuildHarness.isReady, "build tests need root, runc and busybox-static"))
struct BuildBasicsTests {
    @Test func runCopyEnvCmdAndCache() async throws {
        let context = try TemporaryDirectory("kiln-build")
        defer { context.remove() }
        try context.write("a.txt", "alpha\n")
        try context.write(
            "Dockerfile",
            """
            FROM kiln-test/busybox:1
            RUN echo hello > /hello.txt
            COPY a.txt /data/a.txt
            ENV GREETING=hi
            CMD ["sh"]

            """)
        let kiln = try BuildHarness.kiln(in: context.path)
        let name = BuildHarness.uniqueName("basics")

        let first = await kiln("build", "--progress=plain", "-t", name, ".")
        #expect(first.status == 0, "\(first.stderr)")
        let config = try BuildHarness.config(of: name)
        #expect(config.config?.env?.contains("GREETING=hi") == true)
        #expect(config.config?.cmd == ["sh"])

        let output = try TemporaryDirectory("kiln-build-out")
        defer { output.remove() }
        try BuildHarness.exportFilesystem(of: name, to: output.appending("rootfs"))
        #expect(try String(contentsOfFile: output.appending("rootfs/hello.txt"), encoding: .utf8) == "hello\n")
        #expect(try String(contentsOfFile: output.appending("rootfs/data/a.txt"), encoding: .utf8) == "alpha\n")

        let second = await kiln("build", "--progress=plain", "-t", name, ".")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.components(separatedBy: "CACHED").count - 1 == 4, "\(second.stderr)")
        #expect(try BuildHarness.config(of: name) == config)
    }

    /// `kiln images` and `kiln history` show what the layers hold unpacked, as Docker does, not
    /// the compressed blobs: 256 KiB of zeros compress to a few hundred bytes.
    @Test func sizesAreUncompressed() async throws {
        let context = try TemporaryDirectory("kiln-build-sizes")
        defer { context.remove() }
        try context.write("zeros.bin", String(repeating: "\0", count: 256 << 10))
        try context.write("Dockerfile", "FROM kiln-test/busybox:1\nCOPY zeros.bin /zeros.bin\n")
        let kiln = try BuildHarness.kiln(in: context.path)
        let name = BuildHarness.uniqueName("sizes")
        let built = await kiln("build", "-q", "-t", name, ".")
        #expect(built.status == 0, "\(built.stderr)")

        let history = await kiln("history", "--format", "{{.Size}}", "-H=false", name)
        let copied = Int(history.stdout.split(separator: "\n").first ?? "") ?? 0
        #expect(copied > 256 << 10, "\(history.stdout)")
        #expect(copied < 300 << 10, "\(history.stdout)")
        let inspected = await kiln("image", "inspect", "-f", "{{.Size}}", name)
        #expect((Int(inspected.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 256 << 10)
    }
}
