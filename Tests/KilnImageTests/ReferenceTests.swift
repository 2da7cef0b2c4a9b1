import KilnImage
import Testing

@Suite struct ReferenceTests {
    struct ValidCase: Sendable, CustomTestStringConvertible {
        var input: String
        var full: String
        var familiar: String
        var testDescription: String { input }
    }

    static let validCases: [ValidCase] = [
        ValidCase(input: "python", full: "docker.io/library/python", familiar: "python"),
        ValidCase(input: "python:3.9", full: "docker.io/library/python:3.9", familiar: "python:3.9"),
        ValidCase(input: "myname/myapp:1.0", full: "docker.io/myname/myapp:1.0", familiar: "myname/myapp:1.0"),
        ValidCase(
            input: "docker.io/library/busybox:latest", full: "docker.io/library/busybox:latest",
            familiar: "busybox:latest"),
        ValidCase(
            input: "index.docker.io/library/alpine", full: "docker.io/library/alpine", familiar: "alpine"),
        ValidCase(
            input: "localhost:5000/app:dev", full: "localhost:5000/app:dev", familiar: "localhost:5000/app:dev"),
        ValidCase(input: "localhost/app", full: "localhost/app", familiar: "localhost/app"),
        ValidCase(
            input: "ghcr.io/org/team/tool:v1.2.3-rc.1", full: "ghcr.io/org/team/tool:v1.2.3-rc.1",
            familiar: "ghcr.io/org/team/tool:v1.2.3-rc.1"),
        ValidCase(
            input: "[::1]:5000/app", full: "[::1]:5000/app", familiar: "[::1]:5000/app"),
        ValidCase(input: "a__b/c.d/e---f:_x", full: "docker.io/a__b/c.d/e---f:_x", familiar: "a__b/c.d/e---f:_x"),
        ValidCase(
            input: "MyRegistry:80/app", full: "MyRegistry:80/app", familiar: "MyRegistry:80/app"),
        ValidCase(input: "MyHost.com/x", full: "MyHost.com/x", familiar: "MyHost.com/x"),
        ValidCase(
            input: "python@sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
            full: "docker.io/library/python@sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
            familiar: "python@sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"),
        ValidCase(
            input: "reg.example:443/x/y:t@sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
            full: "reg.example:443/x/y:t@sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
            familiar: "reg.example:443/x/y:t@sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"),
    ]

    @Test(arguments: validCases)
    func parsesAndNormalises(_ testCase: ValidCase) throws {
        let reference = try Reference(parsing: testCase.input)
        #expect(reference.description == testCase.full)
        #expect(reference.familiarString == testCase.familiar)
    }

    @Test func partsOfNormalisedReference() throws {
        let reference = try Reference.normalized("python")
        #expect(reference.domain == "docker.io")
        #expect(reference.path == "library/python")
        #expect(reference.tag == "latest")
        #expect(reference.digest == nil)
        #expect(reference.familiarString == "python:latest")
    }

    @Test func digestOnlyKeepsNoTag() throws {
        let reference = try Reference.normalized(
            "python@sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb")
        #expect(reference.tag == nil)
        #expect(reference.digest?.hex.hasPrefix("ca978112") == true)
    }

    struct InvalidCase: Sendable, CustomTestStringConvertible {
        var input: String
        var message: String
        var testDescription: String { input }
    }

    static let invalidCases: [InvalidCase] = [
        InvalidCase(input: "MyApp", message: "invalid reference \"MyApp\": repository names must be lowercase"),
        InvalidCase(
            input: "myname/MyApp:1.0",
            message: "invalid reference \"myname/MyApp:1.0\": repository names must be lowercase"),
        InvalidCase(
            input: "UPPER/case", message: "invalid reference \"UPPER/case\": repository names must be lowercase"),
        InvalidCase(
            input: "Localhost/app:1", message: "invalid reference \"Localhost/app:1\": repository names must be lowercase"),
        InvalidCase(input: "", message: "invalid reference \"\": the reference is empty"),
        InvalidCase(input: ":tag", message: "invalid reference \":tag\": the repository name is empty"),
        InvalidCase(
            input: "app:-bad",
            message:
                "invalid reference \"app:-bad\": invalid tag \"-bad\": a tag is 1 to 128 letters, digits, '_', '.' and '-', and does not start with '.' or '-'"
        ),
        InvalidCase(
            input: "app:" + String(repeating: "t", count: 129),
            message: "invalid reference \"app:\(String(repeating: "t", count: 129))\": invalid tag \"\(String(repeating: "t", count: 129))\": a tag is 1 to 128 letters, digits, '_', '.' and '-', and does not start with '.' or '-'"
        ),
        InvalidCase(
            // A reference past 240 characters keeps its first and last 100 in the message.
            input: "a/" + String(repeating: "B", count: 250),
            message: "invalid reference \"a/\(String(repeating: "B", count: 98))…\(String(repeating: "B", count: 100))\" (252 bytes): repository names must be lowercase"
        ),
        InvalidCase(
            input: "app@sha256:abc",
            message: "invalid reference \"app@sha256:abc\": invalid digest \"sha256:abc\": sha256 needs 64 hex digits, got 3"),
        InvalidCase(
            input: "a//b", message: "invalid reference \"a//b\": the repository path has an empty component"),
        InvalidCase(
            input: "a/b_-c",
            message:
                "invalid reference \"a/b_-c\": invalid repository path component \"b_-c\": use lower-case letters, digits and the separators '.', '_', '__' or '-', not at either end"
        ),
        InvalidCase(input: "-host.io/app", message: "invalid reference \"-host.io/app\": invalid registry host \"-host.io\""),
        InvalidCase(input: "host.io:port/app", message: "invalid reference \"host.io:port/app\": invalid registry host \"host.io:port\""),
        InvalidCase(
            input: "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
            message:
                "invalid reference \"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb\": a 64-character hexadecimal string is an image ID, not a repository name"
        ),
    ]

    @Test(arguments: invalidCases)
    func rejectsWithReason(_ testCase: InvalidCase) {
        #expect {
            try Reference(parsing: testCase.input)
        } throws: { error in
            (error as? ImageError)?.diagnostic.message == testCase.message
        }
    }

    @Test func nameLengthLimit() throws {
        let longest = "example.com/" + String(repeating: "a", count: 255 - "example.com/".count)
        #expect(try Reference(parsing: longest).name.count == 255)
        #expect(throws: ImageError.self) { try Reference(parsing: longest + "a") }
        // Docker counts the normalised name, so docker.io/library/ uses up part of the limit.
        #expect(throws: ImageError.self) { try Reference(parsing: String(repeating: "a", count: 250)) }
    }

    @Test func hostileCharactersAreQuotedInMessages() {
        #expect {
            try Reference(parsing: "app\n:1")
        } throws: { error in
            (error as? ImageError)?.diagnostic.message.hasPrefix("invalid reference \"app\\n:1\"") == true
        }
    }
}
