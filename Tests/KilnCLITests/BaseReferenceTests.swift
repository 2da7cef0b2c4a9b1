import Testing

@testable import KilnCLI

/// A base image named by an invalid reference, in a Dockerfile's FROM and in a Lua build
/// script's `kiln.stage`: both report the reference as invalid, not as missing.
@Suite struct BaseReferenceTests {
    struct Frontend: Sendable, CustomTestStringConvertible {
        var file: String
        var text: @Sendable (String) -> String
        var testDescription: String { file }
    }

    static let frontends = [
        Frontend(file: "Dockerfile") { "FROM \($0)\n" },
        Frontend(file: "build.lua") { "kiln.stage(\"\($0)\")\n" },
    ]

    @Test(arguments: frontends)
    func uppercaseBaseIsInvalid(_ frontend: Frontend) async throws {
        let workspace = BuildWorkspace()
        workspace.write(frontend.file, frontend.text("UPPER/Case:bad"))
        let result = await workspace.build(["-f", frontend.file, "-t", "base/app:1"])
        #expect(result.status == 1)
        #expect(
            result.stderr.contains(
                "error: \(frontend.file):1: FROM UPPER/Case:bad: invalid base image reference \"UPPER/Case:bad\": invalid reference format: repository names must be lowercase"
            ), "\(result.stderr)")
        #expect(result.stderr.contains("hint: name an image as [REGISTRY/]REPOSITORY[:TAG]"), "\(result.stderr)")
        #expect(try workspace.tags().isEmpty)
    }

    /// A valid name that the store lacks is still reported as not found. The registry is a
    /// closed port on 127.0.0.1, so the pull fails without traffic leaving the machine.
    @Test(arguments: frontends)
    func missingValidBaseIsNotFound(_ frontend: Frontend) async throws {
        let workspace = BuildWorkspace()
        workspace.write(frontend.file, frontend.text("127.0.0.1:1/missing:1"))
        let result = await workspace.build(["-f", frontend.file, "-t", "base/app:1"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("base image 127.0.0.1:1/missing:1 not found in the store"), "\(result.stderr)")
        #expect(!result.stderr.contains("invalid base image reference"), "\(result.stderr)")
    }
}
