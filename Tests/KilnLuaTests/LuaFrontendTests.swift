import KilnBuild
import KilnDiagnostics
import KilnDockerfile
import Testing

@testable import KilnLua

/// Build scripts planned by the Lua frontend.
@Suite struct LuaFrontendTests {
    func plan(
        _ script: String, context: String? = nil, buildArguments: [String: String] = [:], plugins: [Plugin] = []
    ) async throws -> BuildPlan {
        try await LuaFrontend.plan(
            source: Array(script.utf8), file: "build.lua", contextRoot: context, buildArguments: buildArguments,
            hooks: try PluginSet(plugins), limits: quickLimits)
    }

    @Test func stageStepsBecomeInstructions() async throws {
        let plan = try await plan("""
            local app = kiln.stage("python:3.12-slim", { as = "App" })
            app:workdir("/app")
            app:copy({ "app.py", "lib/" }, "/app/", { chown = "1000:1000", chmod = 755 })
            app:run("pip install --no-cache-dir flask", { mounts = { "type=cache,target=/root/.cache" } })
            app:env { B = "two words", A = 1 }
            app:label("org.example.team", "build")
            app:expose(8080, "53/udp")
            app:user("1000")
            app:cmd({ "python", "app.py" })
            """)
        #expect(plan.file == "build.lua")
        #expect(plan.expandsVariables == false)
        #expect(plan.stages.count == 1)
        let stage = plan.stages[0]
        #expect(stage.name == "app")
        #expect(stage.base == "python:3.12-slim")
        #expect(stage.location?.line == 1)
        #expect(stage.steps.map(\.instruction.original) == [
            "WORKDIR /app",
            "COPY --chown=1000:1000 --chmod=755 app.py lib/ /app/",
            "RUN --mount=type=cache,target=/root/.cache pip install --no-cache-dir flask",
            #"ENV A=1 B="two words""#,
            "LABEL org.example.team=build",
            "EXPOSE 8080 53/udp",
            "USER 1000",
            #"CMD ["python","app.py"]"#,
        ])
        #expect(stage.steps.map(\.location.line) == [2, 3, 4, 5, 6, 7, 8, 9])
        #expect(stage.steps.map(\.comment) == (2...9).map { "kiln build.lua:\($0)" })
        guard case .copy(let copy) = stage.steps[1].instruction.body else {
            Issue.record("expected COPY")
            return
        }
        #expect(copy.sources == [.path("app.py"), .path("lib/")])
        #expect(copy.mode == FileMode(parsing: "755"))
        guard case .run(let run) = stage.steps[2].instruction.body else {
            Issue.record("expected RUN")
            return
        }
        #expect(run.command == .shell("pip install --no-cache-dir flask"))
        #expect(run.mounts.first?.mount?.type == .cache)
        guard case .env(let env) = stage.steps[3].instruction.body else {
            Issue.record("expected ENV")
            return
        }
        #expect(env.pairs == [KeyValuePair(key: "A", value: "1"), KeyValuePair(key: "B", value: "two words")])
    }

    @Test func loopMakesOneStagePerVersion() async throws {
        let plan = try await plan("""
            local function app(version)
              local stage = kiln.stage("busybox:" .. version, { as = "app-" .. version })
              stage:env("BASE_VERSION", version)
              stage:run({ "sh", "-c", "echo " .. version .. " > /version" })
              return stage
            end
            for _, version in ipairs({ "1.36", "1.37" }) do
              app(version):cmd({ "cat", "/version" })
            end
            """)
        #expect(plan.stages.map(\.name) == ["app-1.36", "app-1.37"])
        #expect(plan.stages.map(\.base) == ["busybox:1.36", "busybox:1.37"])
        #expect(plan.stages.map { $0.steps.map(\.location.line) } == [[3, 4, 8], [3, 4, 8]])
    }

    @Test func stagesReferToStages() async throws {
        let plan = try await plan("""
            local build = kiln.stage("golang:1.22")
            build:run("go build -o /out/app .")
            local final = kiln.stage("scratch", { as = "final" })
            final:copy("/out/app", "/app", { from = build })
            local test = kiln.stage(build)
            """)
        #expect(plan.stages.map(\.name) == ["stage-0", "final", nil])
        #expect(plan.stages[2].base == "stage-0")
        guard case .copy(let copy) = plan.stages[1].steps[0].instruction.body else {
            Issue.record("expected COPY")
            return
        }
        #expect(copy.from == "stage-0")
    }

    @Test func scriptReadsContextAndArguments() async throws {
        let context = TemporaryFolder()
        context.write("VERSION", "2.0.1\n")
        let plan = try await plan(
            """
            local version = kiln.context.read("VERSION"):gsub("%s+$", "")
            local app = kiln.stage("busybox:" .. (kiln.build_args.BASE or "1.36"))
            app:label("version", version)
            """, context: context.path, buildArguments: ["BASE": "1.37"])
        #expect(plan.stages[0].base == "busybox:1.37")
        #expect(plan.stages[0].steps.map(\.instruction.original) == ["LABEL version=2.0.1"])
    }

    @Test func instructionLinesAreDockerfileLines() async throws {
        let plan = try await plan(
            """
            local app = kiln.stage("debian:12")
            app:env("DIR", "/srv")
            app:instruction("APT_INSTALL curl")
            app:instruction("WORKDIR $DIR/app")
            """, plugins: [try Shipped.load("apt")])
        let steps = plan.stages[0].steps
        #expect(steps.map(\.instruction.original) == [
            "ENV DIR=/srv",
            "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*",
            "WORKDIR $DIR/app",
        ])
        #expect(steps.map(\.expandsVariables) == [nil, true, true])
        #expect(steps[1].expandedFrom?.text == "APT_INSTALL curl")
        #expect(steps[1].plugins.map(\.name) == ["apt"])
        #expect(steps[1].location.line == 3)
    }

    struct FailureCase: Sendable, CustomTestStringConvertible {
        var script: String
        var line: Int
        var message: String
        var testDescription: String { message }
    }

    @Test(arguments: [
        FailureCase(script: "local a = kiln.stage('x')\na:run(42)", line: 2, message: "stage:run: command must be a string (shell form) or a list of strings (exec form), got number"),
        FailureCase(script: "local a = kiln.stage('x')\na:cmd({})", line: 2, message: "stage:cmd: command must be a string (shell form) or a list of strings (exec form), got an empty table"),
        FailureCase(script: "local a = kiln.stage('x')\na:copy('a', '/b', { chwon = '1' })", line: 2, message: "stage:copy: unknown option 'chwon'; did you mean 'chown'?"),
        FailureCase(script: "kiln.stage('x', { as = 'a' })\nkiln.stage('y', { as = 'A' })", line: 2, message: #"kiln.stage: duplicate stage name "a": build.lua:1 already defines it"#),
        FailureCase(script: "kiln.stage('x', { as = '1st' })", line: 1, message: #"kiln.stage: invalid stage name "1st": a stage name starts with a letter and holds only letters, digits, -, _ and ."#),
        FailureCase(script: "local a = kiln.stage('x')\na.run('make')", line: 2, message: "stage:run: call it on a stage with ':', such as app:run(...)"),
        FailureCase(script: "local a = kiln.stage('x')\na.name = 'y'", line: 2, message: "cannot change a stage object; call its methods, such as stage:run(\"make\")"),
        FailureCase(script: "local a = kiln.stage('x')\na:copy({ 'a', 'b' }, '/dest')", line: 2, message: #"stage:copy: several sources need a destination directory ending in /, got "/dest""#),
        FailureCase(script: "local a = kiln.stage('x')\na:run('x', { mounts = { 'type=bogus' } })", line: 2, message: #"stage:run: invalid --mount "type=bogus": unsupported mount type "bogus""#),
        FailureCase(script: "local a = kiln.stage('x')\na:instruction('FROM y')", line: 2, message: "stage:instruction: use kiln.stage to start a stage, not FROM"),
        FailureCase(script: "io.open('/etc/passwd')", line: 1, message: "'io' is not available in kiln plugins; plugins read files through kiln.context.read"),
        FailureCase(script: "return kiln.plugin { name = 'p', version = '1.0.0', api = 1 }", line: 1, message: "kiln.plugin: a build script cannot declare a plugin; put plugins in .kiln/plugins/"),
        FailureCase(script: "local x = 1", line: 1, message: "the build script creates no stage"),
    ])
    func badScriptsNameFileAndLine(_ testCase: FailureCase) async throws {
        await #expect {
            _ = try await plan(testCase.script)
        } throws: { error in
            guard let error = error as? LuaError else { return false }
            let matches = error.location?.file == "build.lua" && error.location?.line == testCase.line
                && error.message.hasPrefix(testCase.message)
            if !matches { Issue.record("got \(error.location?.description ?? "-"): \(error.message)") }
            return matches && error.diagnostic.rendered().hasPrefix("error: build.lua:\(testCase.line): \(testCase.message)")
        }
    }

    @Test func runawayScriptIsCalledABuildScriptWithItsLine() async throws {
        await #expect {
            _ = try await plan("local a = kiln.stage('x')\nwhile true do end\n")
        } throws: { error in
            guard let error = error as? LuaError, case .instructionBudget = error.kind else { return false }
            let rendered = error.diagnostic.rendered()
            return rendered.hasPrefix("error: build.lua:2: build script build.lua exceeded its CPU budget")
                && rendered.contains(" > 2 | while true do end")
        }
        await #expect {
            _ = try await plan("local a = kiln.stage('x')\nlocal t = nil\nt.x = 1\n")
        } throws: { error in
            (error as? LuaError)?.diagnostic.rendered().contains(" > 3 | t.x = 1") == true
        }
    }

    @Test func unknownInstructionIsLocated() async throws {
        await #expect {
            _ = try await plan("local a = kiln.stage('debian:12')\n\na:instruction('APT_INSTALL curl')")
        } throws: { error in
            guard let error = error as? DockerfileError, case .unknownInstruction(let word, _) = error.reason else { return false }
            return word == "APT_INSTALL" && error.range?.file == "build.lua" && error.range?.line == 3
        }
    }
}
