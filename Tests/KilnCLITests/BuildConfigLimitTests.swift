import Foundation
import KilnStore
import Testing

@testable import KilnCLI

/// An image config over the 16 MiB that the store reads back fails the build at the Dockerfile
/// line that adds the most to it, and stores nothing.
struct BuildConfigLimitTests {
    @Test func largeLabelNamesItsLine() async throws {
        let workspace = BuildWorkspace()
        // The value appears in the labels and in the history, so 9 MiB makes a config of 18 MiB.
        let value = String(repeating: "x", count: 9 << 20)
        workspace.write("Dockerfile", "FROM scratch\nENV A=1\nLABEL big=\(value)\nLABEL after=1\n")

        // SOURCE_DATE_EPOCH fixes the length of the creation times, and so the config's size.
        let result = await workspace.build(["-t", "limits/label:1", "--build-arg", "SOURCE_DATE_EPOCH=1700000000"])
        #expect(result.status == 1)
        let errorLine = try #require(result.stderr.split(separator: "\n").first { $0.hasPrefix("error: ") })
        #expect(errorLine.hasPrefix("error: Dockerfile:3: LABEL big=xxx"), "\(errorLine.prefix(200))")
        #expect(
            errorLine.hasSuffix(
                ": the image config would be 18874978 bytes, more than the limit of 16777216 bytes (16 MiB) for an image config, and this instruction adds 9437194 bytes to it"
            ), "\(errorLine.suffix(200))")
        #expect(result.stderr.contains("hint: keep large data out of LABEL, ENV and RUN lines: COPY it into the image as a file"))
        #expect(try workspace.tags().isEmpty)
        let blobs = (try? FileManager.default.contentsOfDirectory(atPath: workspace.root + "/blobs/sha256")) ?? []
        #expect(blobs.isEmpty, "\(blobs)")
    }
}
