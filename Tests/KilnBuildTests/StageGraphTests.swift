import KilnDockerfile
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
            guard let error = error as? BuildError, case .unknownTarget(_, let suggestion) = error.reason else { return false }
            return suggestion == "build"
        }
    }
}
