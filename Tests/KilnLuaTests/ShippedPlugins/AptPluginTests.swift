import KilnBuild
import KilnDockerfile
import Testing

@testable import KilnLua

@Suite struct AptPluginTests {
    @Test func installBecomesOneCleanRun() async throws {
        let plan = try await Shipped.plan(
            "FROM debian:12\nAPT_INSTALL curl git=1:2.39.5-0+deb12u1\n", [try Shipped.load("apt")])
        let steps = plan.plan.stages[0].steps
        #expect(steps.count == 1)
        #expect(
            steps[0].instruction.original
                == "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl git=1:2.39.5-0+deb12u1 && rm -rf /var/lib/apt/lists/*"
        )
        #expect(steps[0].expandedFrom?.text == "APT_INSTALL curl git=1:2.39.5-0+deb12u1")
        #expect(steps[0].plugins.map(\.name) == ["apt"])
        #expect(steps[0].instruction.range.line == 2)
    }

    @Test func invalidPackageNamesPluginAndLine() async throws {
        let apt = try Shipped.load("apt")
        await #expect {
            _ = try await Shipped.plan("FROM debian:12\nAPT_INSTALL 'curl;id'\n", [apt])
        } throws: { error in
            guard let error = error as? LuaError else { return false }
            return error.plugin == "apt" && error.location?.file == "plugins/apt.lua"
                && error.message.hasPrefix("APT_INSTALL: invalid package \"curl;id\"")
        }
    }

    @Test func installWithoutPackagesFails() throws {
        let apt = try Shipped.load("apt")
        let error = luaError { _ = try apt.expand(InstructionLine(keyword: "APT_INSTALL", arguments: "")) }
        #expect(error?.message == "APT_INSTALL needs at least one package, such as APT_INSTALL curl")
        #expect(error?.location?.file == "plugins/apt.lua")
    }

    struct StepCase: Sendable, CustomTestStringConvertible {
        var arguments: String
        var heredocs: [String] = []
        var appends: Bool
        var testDescription: String { arguments }
    }

    @Test(arguments: [
        StepCase(arguments: "apt-get update && apt-get install -y curl", appends: true),
        StepCase(arguments: "apt-get -y --no-install-recommends install git", appends: true),
        StepCase(arguments: "apt install -y vim", appends: true),
        StepCase(arguments: "apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*", appends: false),
        StepCase(arguments: "--mount=type=cache,target=/var/lib/apt apt-get install -y make", appends: false),
        StepCase(arguments: "apt-get remove -y curl", appends: false),
        StepCase(arguments: #"["apt-get", "install", "-y", "zip"]"#, appends: false),
        StepCase(arguments: "<<EOF", heredocs: ["apt-get update\napt-get install -y jq\n"], appends: true),
        StepCase(arguments: "make install", appends: false),
    ])
    func stepHookCleansAfterInstall(_ testCase: StepCase) throws {
        let apt = try Shipped.load("apt")
        let input = StepHookInput(
            stage: "stage-0", index: 2,
            instruction: InstructionLine(keyword: "RUN", arguments: testCase.arguments, heredocs: testCase.heredocs))
        let result = try PluginSet([apt]).step(input)
        #expect(result.appendedCommands == (testCase.appends ? ["rm -rf /var/lib/apt/lists/*"] : []))
        #expect(result.plugins.map(\.name) == (testCase.appends ? ["apt"] : []))
    }
}
