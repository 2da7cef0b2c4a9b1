import Foundation
import KilnImage
import Testing

@testable import KilnCLI

/// `kiln build` runs that need no runc: FROM scratch with config-only steps.
struct BuildCommandTests {
    /// A platform that is not the host's.
    static let foreign = Platform.host.architecture == "amd64" ? "linux/arm64" : "linux/amd64"

    @Test func foreignFromPlatformFails() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM --platform=\(Self.foreign) scratch\nLABEL a=b\n")
        let result = await workspace.build(["-t", "platform/app:1"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains(
                "Dockerfile:1: FROM --platform=\(Self.foreign): cannot build for \(Self.foreign), because kiln builds for \(Platform.host) only"
            ), "\(result.stderr)")
        #expect(result.stderr.contains("hint: remove --platform"), "\(result.stderr)")
        #expect(try workspace.tags().isEmpty)
    }

    @Test func hostFromPlatformBuilds() async throws {
        let workspace = BuildWorkspace()
        workspace.write(
            "Dockerfile",
            """
            FROM --platform=$BUILDPLATFORM scratch AS first
            LABEL first=1
            FROM --platform=\(Platform.host) first AS second
            LABEL second=2
            FROM --platform=$TARGETPLATFORM second

            """)
        let result = await workspace.build(["-t", "platform/app:1"])
        #expect(result.status == 0, "\(result.stderr)")
        let labels = try workspace.config(of: "platform/app:1").config?.labels
        #expect(labels == ["first": "1", "second": "2"])
    }
}
