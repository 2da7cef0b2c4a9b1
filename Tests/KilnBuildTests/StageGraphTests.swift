import KilnDockerfile
import KilnImage
import Testing

@testable import KilnBuild

struct StageGraphTests {
    static func graph(_ text: String, target: String? = nil, globals: [String: String] = [:]) throws -> StageGraph {
        let plan = DockerfileFrontend.plan(try Dockerfile.parse(text))
        return try StageGraph(plan: plan, target: target, globals: globals)
    }

    @Test func targetBuildsOnlyWhatItNeeds() throws {
        let text = """
            FROM busybox AS unused
            FROM busybox AS base
            FROM base AS app
            COPY --from=tool /x /x
            FROM busybox AS tool
            """
        let graph = try Self.graph(text, target: "app")
        #expect(graph.target == 2)
        #expect(graph.order == [1, 3, 2])
        #expect(graph.bases[2] == .stage(1))
        #expect(graph.bases[0] == .image("busybox"))
        #expect(try Self.graph(text).order == [3])
    }

    @Test func basesExpandGlobalArguments() throws {
        let graph = try Self.graph("ARG V=1\nFROM busybox:${V}\nFROM scratch\n", target: nil, globals: ["V": "2"])
        #expect(graph.bases == [.image("busybox:2"), .scratch])
    }

    @Test func cyclesAreErrors() throws {
        #expect {
            try Self.graph("FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\nCOPY --from=a /y /y\n")
        } throws: { error in
            guard let error = error as? BuildError, case .stageCycle(let names) = error.reason else { return false }
            return names == ["b", "a", "b"] && error.range?.line == 2
        }
    }

    @Test func unknownTargetSuggestsAName() throws {
        #expect {
            try Self.graph("FROM busybox AS build\n", target: "biuld")
        } throws: { error in
            guard let error = error as? BuildError, case .unknownTarget(_, let suggestion, false) = error.reason else { return false }
            return suggestion == "build"
        }
    }

    @Test func unknownTargetInScriptNamesKilnStage() throws {
        var plan = DockerfileFrontend.plan(try Dockerfile.parse("FROM busybox AS build\n"))
        // Lua build scripts produce plans whose arguments need no expansion.
        plan.expandsVariables = false
        #expect {
            try StageGraph(plan: plan, target: "nosuch", globals: [:])
        } throws: { error in
            guard let error = error as? BuildError, case .unknownTarget(_, nil, true) = error.reason else { return false }
            return error.diagnostic.hint == "name a stage declared with kiln.stage(BASE, { as = NAME })"
        }
    }

    @Test func missingStageIndexIsError() throws {
        #expect {
            try Self.graph("FROM busybox\nCOPY --from=3 /etc/passwd /copied\n")
        } throws: { error in
            guard let error = error as? BuildError, case .stageIndexOutOfRange("3", _, 1) = error.reason else { return false }
            return error.range?.line == 2
                && error.diagnostic.message.contains("stage index 3 does not exist, because the Dockerfile has 1 stage (index 0)")
        }
        #expect {
            try Self.graph("FROM busybox\nRUN --mount=from=7,target=/x true\n")
        } throws: { error in
            guard let error = error as? BuildError, case .stageIndexOutOfRange("7", _, 1) = error.reason else { return false }
            return error.diagnostic.hint?.contains("--mount=from=7:latest") == true
        }
    }

    @Test func existingStageIndexIsStage() throws {
        let graph = try Self.graph("FROM busybox\nFROM busybox\nCOPY --from=0 /x /x\n")
        #expect(graph.dependencies[1] == [0])
        #expect(graph.order == [0, 1])
    }

    @Test func numericBaseIsError() throws {
        #expect {
            try Self.graph("FROM busybox\nFROM 0\n")
        } throws: { error in
            guard let error = error as? BuildError, case .stageIndexOutOfRange("0", "FROM", 2) = error.reason else { return false }
            return error.range?.line == 2 && error.diagnostic.hint?.contains("0:latest") == true
        }
        #expect(try Self.graph("FROM 3:latest\n").bases == [.image("3:latest")])
    }

    @Test func missingIndexInSkippedStageIsIgnored() throws {
        let graph = try Self.graph("FROM busybox AS broken\nCOPY --from=9 /x /x\nFROM busybox AS app\n", target: "app")
        #expect(graph.order == [1])
    }

    /// The automatic arguments as `BuildEngine` defines them for a build on this host.
    static let platformGlobals = [
        "BUILDPLATFORM": Platform.host.description, "TARGETPLATFORM": Platform.host.description,
    ]

    /// A platform that is not the host's.
    static let foreign = Platform.host.architecture == "amd64" ? "linux/arm64" : "linux/amd64"

    @Test(arguments: ["$BUILDPLATFORM", "$TARGETPLATFORM", "${BUILDPLATFORM}", Platform.host.description])
    func hostPlatformIsAccepted(_ platform: String) throws {
        let graph = try Self.graph("FROM --platform=\(platform) busybox\n", globals: Self.platformGlobals)
        #expect(graph.bases == [.image("busybox")])
    }

    @Test func foreignPlatformIsRejected() throws {
        let error = #expect(throws: BuildError.self) {
            try Self.graph("FROM scratch AS unused\nFROM --platform=\(Self.foreign) busybox\n", globals: Self.platformGlobals)
        }
        let diagnostic = try #require(error?.diagnostic)
        #expect(
            diagnostic.message
                == "FROM --platform=\(Self.foreign): cannot build for \(Self.foreign), because kiln builds for \(Platform.host) only and emulates no other platform"
        )
        #expect(diagnostic.range?.line == 2)
        #expect(
            diagnostic.hint
                == "remove --platform, or write --platform=$BUILDPLATFORM. To build for \(Self.foreign), run kiln on a \(Self.foreign) machine"
        )
    }

    @Test func foreignPlatformFromAnArgument() throws {
        let error = #expect(throws: BuildError.self) {
            try Self.graph("ARG ARCH\nFROM --platform=linux/$ARCH busybox\n", globals: ["ARCH": "s390x"])
        }
        #expect(
            error?.diagnostic.message
                == "FROM --platform=linux/$ARCH: cannot build for linux/s390x (from linux/$ARCH), because kiln builds for \(Platform.host) only and emulates no other platform"
        )
    }

    @Test func foreignPlatformOfSkippedStageIsIgnored() throws {
        let graph = try Self.graph("FROM --platform=\(Self.foreign) busybox AS other\nFROM busybox AS app\n", target: "app")
        #expect(graph.order == [1])
    }

    @Test(arguments: ["linux", "$UNSET"])
    func invalidPlatformIsRejected(_ platform: String) throws {
        let error = #expect(throws: BuildError.self) { try Self.graph("FROM --platform=\(platform) busybox\n") }
        let expanded = platform == "linux" ? "linux" : ""
        #expect(
            error?.diagnostic.message.hasPrefix("FROM --platform=\(platform): invalid platform \"\(expanded)\"") == true,
            "\(error?.diagnostic.message ?? "")")
        #expect(error?.diagnostic.range?.line == 1)
    }
}
