import Foundation
import KilnDiagnostics
import Testing

@testable import KilnDockerfile

/// Every folder in `Fixtures/parse` holds a `Dockerfile` and the `expected.json` that
/// `kiln parse --json` prints for it, or `{"error": ...}` with the exact message when parsing fails.
/// A `dockerd.txt` beside them records what Docker's own builder did with the same file.
@Suite struct ParseGoldenTests {
    @Test(arguments: Golden.cases("parse"))
    func parseCase(_ name: String) throws {
        let bytes = try #require(Golden.read("parse", name, "Dockerfile"), "\(name) has no Dockerfile")
        Golden.check(Self.render(bytes), suite: "parse", name: name, file: "expected.json")
    }

    /// The parse result as JSON, or the error with its location, message and hint.
    static func render(_ bytes: [UInt8]) -> String {
        do {
            return try Dockerfile.parse(bytes, file: "Dockerfile").jsonDescription()
        } catch {
            return Dockerfile.prettyJSON(ErrorJSON(error))
        }
    }
}

/// An expected failure: `{"error": {"line", "endLine", "message", "hint"}}`.
struct ErrorJSON: Encodable {
    struct Body: Encodable {
        var line: Int?
        var endLine: Int?
        var message: String
        var hint: String?
    }

    var error: Body

    init(_ error: DockerfileError) {
        let diagnostic = error.diagnostic
        self.error = Body(
            line: diagnostic.range?.line,
            endLine: diagnostic.range.flatMap { $0.endLine == $0.line ? nil : $0.endLine },
            message: diagnostic.locatedMessage, hint: diagnostic.hint)
    }
}
