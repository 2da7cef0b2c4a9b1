import KilnBuild
import KilnDiagnostics
import Testing

@testable import KilnLua

/// The rules of `kiln lint`, run through the lint-rules plugin's parse hook.
@Suite struct LintRulesPluginTests {
    /// The parser warnings and rule findings that `# check=skip=` leaves, in line order.
    static func findings(_ text: String) async throws -> [(line: Int, code: String)] {
        let planned = try await Shipped.plan(text, [try Shipped.load("lint-rules")])
        let options = planned.dockerfile.directives.checkOptions
        var items = planned.warnings.filter { options.reports($0.code ?? "") }.map { ($0.range?.line ?? 0, $0.code ?? "") }
        items += planned.findings.filter { options.reports($0.code ?? "") }.map { ($0.line ?? 0, $0.code ?? "") }
        return items.enumerated().sorted { left, right in
            left.element.0 != right.element.0 ? left.element.0 < right.element.0 : left.offset < right.offset
        }.map { (line: $0.element.0, code: $0.element.1) }
    }

    static func lines(_ text: String, rule: String) async throws -> [Int] {
        try await findings(text).filter { $0.code == rule }.map(\.line)
    }

    @Test func aptLists() async throws {
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
        #expect(try await Self.lines(text, rule: "apt-lists") == [2, 4, 7, 11])
    }

    @Test func cdWhereWorkdirFits() async throws {
        let text = """
            FROM busybox:1.36
            RUN cd /app && make
            RUN cd /src; make install
            RUN make && cd build
            RUN cd /x
            RUN ["cd", "/app", "&&", "make"]
            """
        #expect(try await Self.lines(text, rule: "cd-workdir") == [2, 3])
    }

    @Test func addWhereCopyFits() async throws {
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
        #expect(try await Self.lines(text, rule: "add-copy") == [2, 9])
    }

    @Test func unpinnedBaseImages() async throws {
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
        #expect(try await Self.lines(text, rule: "base-tag") == [3, 4, 7, 12])
    }

    @Test func shellFormCommands() async throws {
        let text = """
            FROM busybox:1.36
            CMD echo hi
            ENTRYPOINT ["/bin/app"]
            ENTRYPOINT /bin/app --serve
            CMD ["--flag"]
            CMD
            """
        #expect(try await Self.lines(text, rule: "shell-form-cmd") == [2, 4])
    }

    @Test func checkDirectiveSkipsRulesAndWarnings() async throws {
        let text = """
            # check=skip=base-tag,MaintainerDeprecated
            FROM alpine
            MAINTAINER me
            CMD echo hi
            """
        let findings = try await Self.findings(text)
        #expect(findings.map(\.code) == ["shell-form-cmd"])
        #expect(findings.map(\.line) == [4])
    }

    @Test func skipAllSilencesEverything() async throws {
        #expect(try await Self.findings("# check=skip=all\nFROM alpine\nMAINTAINER me\nCMD x\n").isEmpty)
    }

    @Test func findingsFollowParserWarningsInLineOrder() async throws {
        let findings = try await Self.findings("FROM alpine:3\nMAINTAINER me\nCMD [\"a\",]\n")
        #expect(findings.map(\.code) == ["MaintainerDeprecated", "JSONArgsFallback", "shell-form-cmd"])
        #expect(findings.map(\.line) == [2, 3, 3])
    }

    @Test func findingsAreWarningsOfThePlugin() async throws {
        let planned = try await Shipped.plan("FROM alpine\n", [try Shipped.load("lint-rules")])
        #expect(planned.findings.map(\.severity) == [.warning])
        #expect(planned.findings.map(\.plugin) == ["lint-rules"])
        #expect(planned.findings.first?.message.hasPrefix("the base image has no tag or uses latest") == true)
        // Reporting rewrites nothing, so the steps carry no plugin in their cache keys.
        #expect(planned.plan.stages.allSatisfy { $0.steps.allSatisfy(\.plugins.isEmpty) })
    }
}
