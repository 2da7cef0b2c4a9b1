import KilnBuild
import KilnDiagnostics
import Testing

@testable import KilnLua

/// The typed hook API the engine calls, one test or more per hook.
@Suite struct HookTests {
    func plugin(_ body: String, name: String = "p", environment: PluginEnvironment = PluginEnvironment(limits: quickLimits)) throws -> Plugin {
        try loadPlugin(pluginSource(name: name, body), environment: environment)
    }

    @Test func parseRewritesAndReports() throws {
        let plugin = try plugin("""
              on = { parse = function(dockerfile)
                local out = {}
                for _, ins in ipairs(dockerfile.instructions) do
                  if ins.keyword == "MAINTAINER" then
                    dockerfile:report { line = ins.line, message = "MAINTAINER is deprecated", code = "maintainer" }
                    out[#out + 1] = { keyword = "LABEL", arguments = "maintainer=" .. ins.arguments }
                  else
                    out[#out + 1] = ins
                  end
                end
                return out
              end },
            """)
        let input = ParseHookInput(file: "Dockerfile", instructions: [
            InstructionLine(keyword: "FROM", arguments: "debian", location: .init(file: "Dockerfile", line: 1)),
            InstructionLine(keyword: "MAINTAINER", arguments: "me", location: .init(file: "Dockerfile", line: 2)),
        ])
        let result = try PluginSet([plugin]).parse(input)
        #expect(result.instructions?.map(\.text) == ["FROM debian", "LABEL maintainer=me"])
        #expect(result.instructions?.first?.location?.line == 1)
        #expect(result.findings == [LintFinding(severity: .warning, message: "MAINTAINER is deprecated", line: 2, code: "maintainer", plugin: "p")])
        #expect(result.findings.first?.diagnostic(file: "Dockerfile").rendered() == "warning: Dockerfile:2: MAINTAINER is deprecated (plugin p)")
        #expect(result.plugins.map(\.name) == ["p"])
    }

    @Test func parseReturningNilLeavesInstructions() throws {
        let plugin = try plugin("  on = { parse = function() end },")
        let result = try PluginSet([plugin]).parse(ParseHookInput(file: "Dockerfile", instructions: []))
        #expect(result.instructions == nil)
    }

    @Test func planReportsFindings() throws {
        let plugin = try plugin("""
              on = { plan = function(plan)
                for _, stage in ipairs(plan.stages) do
                  if stage.base:find(":latest$") then
                    plan:report { message = "stage " .. stage.name .. " uses a :latest base", severity = "error" }
                  end
                end
              end },
            """)
        let input = PlanHookInput(stages: [PlanHookStage(name: "build", base: "debian:latest", steps: [])])
        let result = try PluginSet([plugin]).plan(input)
        #expect(result.findings.map(\.message) == ["stage build uses a :latest base"])
        #expect(result.findings.map(\.severity) == [.error])
    }

    @Test func stepAppendsCleanupToRun() throws {
        let plugin = try plugin("""
              on = { step = function(step)
                if step.keyword == "RUN" and step.arguments:find("apt-get install", 1, true) then
                  step:append("rm -rf /var/lib/apt/lists/*")
                end
              end },
            """)
        let run = StepHookInput(stage: "build", index: 2, instruction: InstructionLine(keyword: "RUN", arguments: "apt-get install -y curl"))
        let result = try PluginSet([plugin]).step(run)
        #expect(result.appendedCommands == ["rm -rf /var/lib/apt/lists/*"])
        #expect(result.plugins.map(\.name) == ["p"])
        let copy = StepHookInput(stage: "build", index: 3, instruction: InstructionLine(keyword: "COPY", arguments: ". /app"))
        #expect(try PluginSet([plugin]).step(copy).plugins.isEmpty)
    }

    @Test func stepAppendOnCopyFails() throws {
        let plugin = try plugin("  on = { step = function(step) step:append('echo') end },")
        let input = StepHookInput(stage: "s", index: 1, instruction: InstructionLine(keyword: "COPY", arguments: "a b"))
        let error = luaError { _ = try plugin.step(input) }
        #expect(error?.description == "p.lua:5: plugin p: step:append: only RUN steps take extra commands")
    }

    @Test func layerDropsEntries() throws {
        let plugin = try plugin("""
              on = { layer = function(layer)
                for _, entry in ipairs(layer.entries) do
                  if entry.path:find("__pycache__", 1, true) then layer:drop(entry.path) end
                end
              end },
            """)
        let input = LayerHookInput(stage: "build", instruction: nil, entries: [
            LayerEntry(path: "app/main.py", kind: .file, size: 10),
            LayerEntry(path: "app/__pycache__", kind: .directory),
            LayerEntry(path: "app/__pycache__/main.cpython-311.pyc", kind: .file, size: 100),
        ])
        let result = try PluginSet([plugin]).layer(input)
        #expect(result.droppedPaths == ["app/__pycache__", "app/__pycache__/main.cpython-311.pyc"])
    }

    @Test func commitSetsLabelsAndEnvironment() throws {
        let plugin = try plugin("""
              on = { commit = function(image)
                image:set_label("org.opencontainers.image.version", image.build_args.VERSION)
                image:remove_label("temporary")
                image:set_env("APP_ENV", "production")
              end },
            """)
        let input = CommitHookInput(labels: ["temporary": "1"], buildArguments: ["VERSION": "2.1.0"])
        let result = try PluginSet([plugin]).commit(input)
        #expect(result.changes == [
            .setLabel("org.opencontainers.image.version", "2.1.0"), .removeLabel("temporary"), .setEnvironment("APP_ENV", "production"),
        ])
    }

    @Test func tagReturnsTags() throws {
        let plugin = try plugin("""
              on = { tag = function(image)
                local v = kiln.semver.parse(image.labels.version)
                return { v.text, v.major .. "." .. v.minor, tostring(v.major), "registry.example:5000/team/app:latest" }
              end },
            """)
        let result = try PluginSet([plugin]).tag(TagHookInput(imageID: "sha256:1", labels: ["version": "1.4.2"]))
        #expect(result.tags == ["1.4.2", "1.4", "1", "registry.example:5000/team/app:latest"])
    }

    @Test(arguments: [
        ("return 'latest'", "p.lua:5: plugin p: the tag hook must return a list of tags, got string"),
        ("return { 1 }", "p.lua:5: plugin p: the tag hook returned a number at position 1; tags are strings"),
        ("return { [1] = 'a', [3] = 'c' }", "p.lua:5: plugin p: the tag hook must return a list of tags, got a list with a gap at index 2"),
        ("return { name = 'a' }", "p.lua:5: plugin p: the tag hook must return a list of tags, got a table with named fields"),
        ("return { 'has space' }", "p.lua:5: plugin p: the tag hook returned an invalid tag \"has space\" at position 1"),
        ("return { 'a\\0b' }", "p.lua:5: plugin p: the tag hook returned an invalid tag \"a\\0b\" at position 1"),
        ("return { '$(id)' }", "p.lua:5: plugin p: the tag hook returned an invalid tag \"$(id)\" at position 1"),
        ("return { '../etc' }", "p.lua:5: plugin p: the tag hook returned an invalid tag \"../etc\" at position 1"),
        (
            "return { string.rep('t', 200) }",
            "p.lua:5: plugin p: the tag hook returned an invalid tag \"\(String(repeating: "t", count: 80))\" (its first 80 of 200 bytes) at position 1"
        ),
    ])
    func tagWithWrongResult(body: String, description: String) throws {
        let plugin = try plugin("  on = { tag = function() \(body) end },")
        let error = luaError { _ = try plugin.tag(TagHookInput(imageID: "sha256:1")) }
        #expect(error?.kind == .invalidResult)
        #expect(error?.description == description)
    }

    @Test func pushRefusesWithReason() throws {
        let plugin = try plugin("""
              on = { push = function(push)
                if push.registry ~= "registry.internal" then push:refuse("only registry.internal is allowed") end
              end },
            """)
        let outside = PushHookInput(reference: "docker.io/me/app:1", registry: "docker.io", repository: "me/app", tag: "1")
        #expect(try PluginSet([plugin]).push(outside).decision == .refuse(plugin: "p", reason: "only registry.internal is allowed"))
        let inside = PushHookInput(reference: "registry.internal/app:1", registry: "registry.internal", repository: "app", tag: "1")
        #expect(try PluginSet([plugin]).push(inside).decision == .allow)
    }

    @Test func runRefusesPrivilegedUser() throws {
        let plugin = try plugin("""
              on = { run = function(container)
                if container.user == nil or container.user == "root" then container:refuse("containers must not run as root") end
              end },
            """)
        #expect(try PluginSet([plugin]).run(RunHookInput(image: "app")).decision == .refuse(plugin: "p", reason: "containers must not run as root"))
        #expect(try PluginSet([plugin]).run(RunHookInput(image: "app", user: "1000")).decision == .allow)
    }

    @Test func pruneKeepsNewest() throws {
        let plugin = try plugin("""
              on = { prune = function(candidates)
                local sorted = {}
                for i, candidate in ipairs(candidates) do sorted[i] = candidate end
                table.sort(sorted, function(a, b) return a.created > b.created end)
                local remove = {}
                for i = 3, #sorted do remove[#remove + 1] = sorted[i].id end
                return remove
              end },
            """)
        let candidates = (1...5).map { PruneCandidate(id: "id\($0)", repository: "app", tag: "v\($0)", created: Int64($0), size: 1) }
        #expect(try PluginSet([plugin]).prune(candidates).remove == ["id1", "id2", "id3"])
    }

    @Test func pruneOfUnknownIdFails() throws {
        let plugin = try plugin("  on = { prune = function() return { 'sha256:other' } end },")
        let error = luaError { _ = try plugin.prune([PruneCandidate(id: "a", repository: nil, tag: nil, created: 0, size: 0)]) }
        #expect(error?.description == "p.lua:5: plugin p: the prune hook returned \"sha256:other\", which is not one of the candidates")
    }

    @Test func pruneOfNumberNamesType() throws {
        let plugin = try plugin("  on = { prune = function() return { 42 } end },")
        let error = luaError { _ = try plugin.prune([PruneCandidate(id: "a", repository: nil, tag: nil, created: 0, size: 0)]) }
        #expect(error?.description == "p.lua:5: plugin p: the prune hook returned a number where a candidate ID (a string) belongs")
    }

    @Test func viewsAreReadOnly() throws {
        let plugin = try plugin("  on = { tag = function(image) image.labels.version = '2' end },")
        let error = luaError { _ = try plugin.tag(TagHookInput(imageID: "sha256:1", labels: ["version": "1"])) }
        #expect(error?.description == "p.lua:5: plugin p: cannot change 'version': hook views are read-only")
    }

    @Test func viewsIterate() throws {
        let plugin = try plugin("""
              on = { tag = function(image)
                local keys = {}
                for key, value in pairs(image.labels) do keys[#keys + 1] = key .. value end
                table.sort(keys)
                return { table.concat(keys, "-"), tostring(#image.requested) }
              end },
            """)
        let input = TagHookInput(imageID: "sha256:1", requestedTags: ["a", "b"], labels: ["x": "1", "y": "2"])
        #expect(try plugin.tag(input) == ["x1-y2", "2"])
    }

    // MARK: Custom instructions

    @Test func instructionExpands() throws {
        let plugin = try plugin("""
              instructions = {
                APT_INSTALL = function(instruction)
                  local packages = table.concat(instruction.args, " ")
                  return {
                    "RUN apt-get update && apt-get install -y --no-install-recommends " .. packages
                      .. " && rm -rf /var/lib/apt/lists/*",
                  }
                end,
              },
            """, name: "apt")
        let set = try PluginSet([plugin])
        #expect(set.instructionNames == ["APT_INSTALL"])
        let original = InstructionLine(keyword: "APT_INSTALL", arguments: "curl git", location: .init(file: "Dockerfile", line: 4))
        let expansion = try set.expand(original)
        #expect(expansion?.original == original)
        #expect(expansion?.plugin.name == "apt")
        #expect(expansion?.lines == [
            InstructionLine(
                keyword: "RUN",
                arguments: "apt-get update && apt-get install -y --no-install-recommends curl git && rm -rf /var/lib/apt/lists/*",
                location: .init(file: "Dockerfile", line: 4)),
        ])
        #expect(try set.expand(InstructionLine(keyword: "RUN", arguments: "true")) == nil)
    }

    @Test func instructionExpandingIntoFromFails() throws {
        let plugin = try plugin("  instructions = { BASE = function() return { 'FROM debian' } end },")
        let error = luaError { _ = try PluginSet([plugin]).expand(InstructionLine(keyword: "BASE", arguments: "")) }
        #expect(error?.description == "p.lua:5: plugin p: BASE expanded into \"FROM\"; an expansion may use the built-in instructions except FROM")
    }

    @Test func hookErrorNamesPluginFileAndLine() throws {
        let plugin = try plugin("""
              on = { tag = function(image)
                local missing = image.nothing.deeper
              end },
            """)
        let error = luaError { _ = try plugin.tag(TagHookInput(imageID: "sha256:1")) }
        #expect(error?.description == "p.lua:6: plugin p: attempt to index a nil value (field 'nothing')")
    }

    // MARK: Capabilities

    @Test func undeclaredCapabilityFails() throws {
        let folder = TemporaryFolder()
        folder.write("context/VERSION", "1.2.3\n")
        var environment = PluginEnvironment(limits: quickLimits, contextRoot: folder.path + "/context")
        environment.grantedCapabilities = [.contextRead]
        let plugin = try plugin("  on = { tag = function() return { kiln.context.read('VERSION') } end },", environment: environment)
        let error = luaError { _ = try plugin.tag(TagHookInput(imageID: "sha256:1")) }
        #expect(
            error?.description
                == "p.lua:5: plugin p: kiln.context.read: plugin p did not declare the 'context.read' capability (add capabilities = { \"context.read\" } to kiln.plugin)")
    }

    @Test func ungrantedCapabilityFails() throws {
        let plugin = try plugin("""
              capabilities = { "git" },
              on = { tag = function() return { kiln.git.short_commit } end },
            """)
        let error = luaError { _ = try plugin.tag(TagHookInput(imageID: "sha256:1")) }
        #expect(error?.description == "p.lua:6: plugin p: kiln.git: the 'git' capability is not granted to plugin p (grant it in .kiln/config.lua)")
    }

    @Test func grantedCapabilitiesWork() throws {
        let folder = TemporaryFolder()
        folder.write("context/VERSION", "1.2.3\n")
        let environment = PluginEnvironment(
            limits: quickLimits, contextRoot: folder.path + "/context",
            git: .fixed(GitFacts(commit: "0123456789abcdef", shortCommit: "0123456", branch: "main", tag: nil, isDirty: true)),
            grantedCapabilities: [.contextRead, .git])
        let plugin = try plugin("""
              capabilities = { "context.read", "git" },
              on = { tag = function()
                local version = kiln.context.read("VERSION"):match("^%s*(.-)%s*$")
                return { version, kiln.git.short_commit .. (kiln.git.dirty and "-dirty" or ""), kiln.git.branch }
              end },
            """, environment: environment)
        #expect(try plugin.tag(TagHookInput(imageID: "sha256:1")) == ["1.2.3", "0123456-dirty", "main"])
    }

    @Test(arguments: [
        ("../../etc/shadow", "kiln.context.read: invalid path \"../../etc/shadow\": '..' would leave the folder"),
        ("/etc/shadow", "kiln.context.read: invalid path \"/etc/shadow\": it must be relative"),
        ("a\\0b", "kiln.context.read: invalid path \"a\u{0}b\": it contains a NUL byte"),
        ("link", "kiln.context.read: \"link\" is a symbolic link that leads outside the build context"),
        ("missing", "kiln.context.read: \"missing\" not found in the build context"),
    ])
    func contextReadStaysInContext(path: String, message: String) throws {
        let folder = TemporaryFolder()
        folder.write("context/VERSION", "1")
        try FileManager.default.createSymbolicLink(atPath: folder.path + "/context/link", withDestinationPath: "/etc/shadow")
        let environment = PluginEnvironment(limits: quickLimits, contextRoot: folder.path + "/context", grantedCapabilities: [.contextRead])
        let plugin = try plugin("""
              capabilities = { "context.read" },
              on = { tag = function() return { kiln.context.read("\(path)") } end },
            """, environment: environment)
        let error = luaError { _ = try plugin.tag(TagHookInput(imageID: "sha256:1")) }
        #expect(error?.description == "p.lua:6: plugin p: \(message)")
    }

    /// Label values from a hostile image, handed to every host function that takes a path or a tag.
    @Test func hostileLabelsReachNoFile() throws {
        let folder = TemporaryFolder()
        folder.write("context/ok", "fine")
        let environment = PluginEnvironment(limits: quickLimits, contextRoot: folder.path + "/context", grantedCapabilities: [.contextRead])
        let plugin = try plugin("""
              capabilities = { "context.read" },
              on = { commit = function(image)
                for key, value in pairs(image.labels) do
                  local ok, message = pcall(kiln.context.read, value)
                  image:set_label(key, ok and "read" or message)
                end
              end },
            """, environment: environment)
        let labels = ["nul": "a\0b", "parent": "../../etc/shadow", "shell": "$(id)", "huge": String(repeating: "x", count: 1 << 20)]
        let changes = try plugin.commit(CommitHookInput(labels: labels)) ?? []
        var messages: [String: String] = [:]
        for case .setLabel(let key, let value) in changes {
            messages[key] = value
        }
        #expect(messages["nul"] == "p.lua:8: kiln.context.read: invalid path \"a\u{0}b\": it contains a NUL byte")
        #expect(messages["parent"] == "p.lua:8: kiln.context.read: invalid path \"../../etc/shadow\": '..' would leave the folder")
        #expect(messages["shell"] == "p.lua:8: kiln.context.read: \"$(id)\" not found in the build context")
        #expect(messages["huge"] == "p.lua:8: kiln.context.read: invalid path \"" + String(repeating: "x", count: 200) + "\": it must have 1 to 4096 bytes")
        let tagger = try self.plugin("  on = { tag = function(image) return { image.labels.huge } end },")
        let error = luaError { _ = try tagger.tag(TagHookInput(imageID: "sha256:1", labels: labels)) }
        #expect(error?.kind == .invalidResult)
    }
}

import Foundation
