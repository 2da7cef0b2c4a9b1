import Foundation
import KilnBuild
import KilnDiagnostics
import Testing

@testable import KilnLua

@Suite struct IncludePluginTests {
    @Test func fragmentIsSplicedWithArguments() async throws {
        let context = TemporaryFolder()
        context.write("docker/base.df", "# shared setup\nENV APP_HOME=/srv/$NAME\n\nRUN mkdir -p $APP_HOME \\\n  && echo ready\n")
        let include = try Shipped.load("include", context: context.path)
        let plan = try await Shipped.plan("FROM busybox:1\nARG NAME=app\nINCLUDE docker/base.df\nCMD [\"sh\"]\n", [include])
        let steps = plan.plan.stages[0].steps
        #expect(steps.map(\.instruction.original) == [
            "ARG NAME=app", "ENV APP_HOME=/srv/$NAME", "RUN mkdir -p $APP_HOME   && echo ready", #"CMD ["sh"]"#,
        ])
        #expect(steps[1].expandedFrom?.text == "INCLUDE docker/base.df")
        #expect(steps[1].instruction.range.line == 3)
        let digest = PluginDigest.sha256(Array(try Data(contentsOf: URL(fileURLWithPath: context.path + "/docker/base.df"))))
        #expect(steps[1].expansionInputs == ["docker/base.df \(digest)"])
        #expect(steps[0].expandedFrom == nil)
    }

    @Test func includesOfIncludesAreFollowed() async throws {
        let context = TemporaryFolder()
        context.write("a.df", "RUN echo a\nINCLUDE sub/b.df\nRUN echo a2\n")
        context.write("sub/b.df", "LABEL from=b\n")
        let include = try Shipped.load("include", context: context.path)
        let plan = try await Shipped.plan("FROM busybox:1\nINCLUDE a.df\n", [include])
        let steps = plan.plan.stages[0].steps
        #expect(steps.map(\.instruction.original) == ["RUN echo a", "LABEL from=b", "RUN echo a2"])
        #expect(steps[0].expansionInputs.map { $0.split(separator: " ")[0] } == ["a.df", "sub/b.df"])
    }

    @Test func cycleShowsTheChain() async throws {
        let context = TemporaryFolder()
        context.write("a.df", "INCLUDE b.df\n")
        context.write("b.df", "RUN true\nINCLUDE a.df\n")
        let include = try Shipped.load("include", context: context.path)
        await #expect {
            _ = try await Shipped.plan("FROM busybox:1\nINCLUDE a.df\n", [include])
        } throws: { error in
            guard let error = error as? LuaError else { return false }
            return error.plugin == "include" && error.message == "INCLUDE cycle: a.df -> b.df -> a.df"
                && error.location?.file == "plugins/include.lua"
        }
    }

    struct FailureCase: Sendable, CustomTestStringConvertible {
        var line: String
        var files: [String: String] = [:]
        var message: String
        var testDescription: String { line }
    }

    @Test(arguments: [
        FailureCase(line: "INCLUDE ../outside.df", message: #"INCLUDE: "../outside.df" must be a path inside the build context, without a leading / or .."#),
        FailureCase(line: "INCLUDE /etc/passwd", message: #"INCLUDE: "/etc/passwd" must be a path inside the build context, without a leading / or .."#),
        FailureCase(line: "INCLUDE a.df b.df", message: "INCLUDE takes one path, got 2 arguments"),
        FailureCase(line: "INCLUDE here.df", files: ["here.df": "RUN <<EOF\necho\nEOF\n"], message: "INCLUDE: here.df:1 uses a heredoc, which fragments cannot hold"),
    ])
    func badIncludesFail(_ testCase: FailureCase) async throws {
        let context = TemporaryFolder()
        for (path, text) in testCase.files { context.write(path, text) }
        let include = try Shipped.load("include", context: context.path)
        await #expect {
            _ = try await Shipped.plan("FROM busybox:1\n\(testCase.line)\n", [include])
        } throws: { error in
            (error as? LuaError)?.message == testCase.message
        }
    }

    @Test func continuationSkipsBlankAndCommentLines() async throws {
        let context = TemporaryFolder()
        context.write("c.df", "RUN echo one \\\n\n# note\n  two \\\n")
        let include = try Shipped.load("include", context: context.path)
        let plan = try await Shipped.plan("FROM busybox:1\nINCLUDE c.df\n", [include])
        #expect(plan.plan.stages[0].steps.map(\.instruction.original) == ["RUN echo one   two"])
    }

    @Test func missingFragmentNamesThePath() async throws {
        let context = TemporaryFolder()
        context.write("a.df", "INCLUDE gone.df\n")
        let include = try Shipped.load("include", context: context.path)
        await #expect {
            _ = try await Shipped.plan("FROM busybox:1\nINCLUDE a.df\n", [include])
        } throws: { error in
            let message = (error as? LuaError)?.message ?? ""
            return message.hasPrefix("INCLUDE: cannot read gone.df (included from a.df): ")
                && message.hasSuffix(#"kiln.context.read: "gone.df" not found in the build context"#)
        }
    }

    @Test func fragmentWithFromFails() async throws {
        let context = TemporaryFolder()
        context.write("stage.df", "FROM alpine:3\n")
        let include = try Shipped.load("include", context: context.path)
        await #expect {
            _ = try await Shipped.plan("FROM busybox:1\nINCLUDE stage.df\n", [include])
        } throws: { error in
            (error as? LuaError)?.message.contains("an expansion may use the built-in instructions except FROM") == true
        }
    }
}
