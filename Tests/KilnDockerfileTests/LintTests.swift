import KilnDiagnostics
import Testing

@testable import KilnDockerfile

@Suite struct LintTests {
    static func findings(_ text: String) throws -> [(line: Int, code: String)] {
        let dockerfile = try Dockerfile.parse(text)
        return Linter.findings(in: dockerfile).map { ($0.range?.line ?? 0, $0.code ?? "") }
    }

    static func codes(_ text: String, rule: String) throws -> [Int] {
        try findings(text).filter { $0.code == rule }.map(\.line)
    }

    @Test func aptLists() throws {
        let text = """
            FROM debian:12
            RUN apt-get update && apt-get install -y curl
            RUN apt-get update && apt-get -y --no-install-recommends install git && rm -rf /var/lib/apt/lists/*
            RUN apt install -y vim
            RUN --mount=type=cache,target=/var/lib/apt,sharing=locked apt-get update && apt-get install -y make
            RUN apt-get remove -y curl
            RUN <<EOF
            apt-get update
            apt-get install -y jq
            EOF
            RUN ["apt-get", "install", "-y", "zip"]
            """
        #expect(try Self.codes(text, rule: "apt-lists") == [2, 4, 7, 11])
    }

    @Test func cdWhereWorkdirFits() throws {
        let text = """
            FROM busybox:1.36
            RUN cd /app && make
            RUN cd /src; make install
            RUN make && cd build
            RUN cd /x
            RUN ["cd", "/app", "&&", "make"]
            """
        #expect(try Self.codes(text, rule: "cd-workdir") == [2, 3])
    }

    @Test func addWhereCopyFits() throws {
        let text = """
            FROM busybox:1.36
            ADD app.py /app/
            ADD https://example.com/x.tar.gz /x
            ADD vendor.tar.gz /vendor/
            ADD git@github.com:moby/moby.git /src
            ADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d local.bin /x
            ADD $FILE /y
            ADD *.tgz /z/
            ADD <<EOF /inline
            text
            EOF
            """
        #expect(try Self.codes(text, rule: "add-copy") == [2, 9])
    }

    @Test func unpinnedBaseImages() throws {
        let text = """
            ARG VERSION=3.20
            ARG UNPINNED=alpine
            FROM alpine AS one
            FROM alpine:latest
            FROM alpine:3.20
            FROM alpine@sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d
            FROM localhost:5000/app
            FROM localhost:5000/app:1
            FROM one
            FROM scratch
            FROM alpine:$VERSION
            FROM $UNPINNED
            FROM $UNKNOWN
            """
        #expect(try Self.codes(text, rule: "base-tag") == [3, 4, 7, 12])
    }

    @Test func shellFormCommands() throws {
        let text = """
            FROM busybox:1.36
            CMD echo hi
            ENTRYPOINT ["/bin/app"]
            ENTRYPOINT /bin/app --serve
            CMD ["--flag"]
            CMD
            """
        #expect(try Self.codes(text, rule: "shell-form-cmd") == [2, 4])
    }

    @Test func checkDirectiveSkipsRulesAndWarnings() throws {
        let text = """
            # check=skip=base-tag,MaintainerDeprecated
            FROM alpine
            MAINTAINER me
            CMD echo hi
            """
        let findings = try Self.findings(text)
        #expect(findings.map(\.code) == ["shell-form-cmd"])
        #expect(findings.map(\.line) == [4])
    }

    @Test func skipAllSilencesEverything() throws {
        #expect(try Self.findings("# check=skip=all\nFROM alpine\nMAINTAINER me\nCMD x\n").isEmpty)
    }

    @Test func findingsIncludeParserWarningsInLineOrder() throws {
        let findings = try Self.findings("FROM alpine:3\nMAINTAINER me\nCMD [\"a\",]\n")
        #expect(findings.map(\.code) == ["MaintainerDeprecated", "JSONArgsFallback", "shell-form-cmd"])
        #expect(findings.map(\.line) == [2, 3, 3])
    }

    @Test func rulesAreData() {
        let ids = LintRule.builtin.map(\.id)
        #expect(ids == ["apt-lists", "cd-workdir", "add-copy", "base-tag", "shell-form-cmd"])
        #expect(LintRule.builtin.allSatisfy { !$0.message.isEmpty && !$0.message.contains("\n") })
    }

    @Test func customRuleRuns() throws {
        let noUser = LintRule(id: "no-root", message: "the image runs as root") { subject in
            subject.instruction.keyword == .from && !(subject.stage?.instructions.contains { $0.keyword == .user } ?? true)
        }
        let dockerfile = try Dockerfile.parse("FROM a:1 AS one\nUSER app\nFROM b:1\nRUN true\n")
        let findings = Linter.findings(in: dockerfile, rules: [noUser])
        #expect(findings.map { $0.range?.line ?? 0 } == [3])
        #expect(findings.first?.message == "the image runs as root")
    }
}
