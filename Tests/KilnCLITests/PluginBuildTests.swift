import Foundation
import KilnImage
import KilnStore
import KilnSystem
import Testing

@testable import KilnCLI

/// `kiln build` with plugins, on builds that need no runc (FROM scratch and config-only steps).
@Suite struct PluginBuildTests {
    static let greet = """
        return kiln.plugin {
          name = "greet", version = "1.0.0", api = 1,
          instructions = {
            GREET = function(instruction)
              return { "LABEL greeting=" .. instruction.args[1], "ENV GREETED=" .. instruction.args[1] }
            end,
          },
        }
        """

    @Test func customInstructionBecomesSteps() async throws {
        let workspace = BuildWorkspace()
        workspace.write(".kiln/plugins/greet.lua", Self.greet)
        workspace.write("Dockerfile", "FROM scratch\nGREET world\nLABEL after=yes\n")
        let result = await workspace.build(["-t", "greet/app:1"])
        #expect(result.status == 0, "\(result.stderr)")

        let config = try workspace.config(of: "greet/app:1")
        #expect(config.config?.labels == ["greeting": "world", "after": "yes"])
        #expect(config.config?.env?.contains("GREETED=world") == true)
        let history = config.history ?? []
        #expect(history.map(\.createdBy) == ["GREET world", "GREET world", "LABEL after=yes"])
        #expect(history.map(\.comment) == [
            "expanded by plugin greet 1.0.0: LABEL greeting=world", "expanded by plugin greet 1.0.0: ENV GREETED=world",
            "buildkit.dockerfile.v0",
        ])
    }

    @Test func unknownInstructionNamesShippedPlugin() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL a=b\nAPT_INSTALL curl\n")
        let result = await workspace.build()
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix(
            #"error: Dockerfile:3: unknown instruction "APT_INSTALL"; the shipped plugin apt provides it: add --plugin apt"#))
        #expect(result.stderr.contains(" > 3 | APT_INSTALL curl"))
    }

    @Test func unknownInstructionNoPluginProvides() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nFROBNICATE x\n")
        let result = await workspace.build()
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix(#"error: Dockerfile:2: unknown instruction "FROBNICATE""#))
        #expect(!result.stderr.contains("shipped plugin"))
    }

    @Test func noPluginsTurnsContextPluginsOff() async throws {
        let workspace = BuildWorkspace()
        workspace.write(".kiln/plugins/greet.lua", Self.greet)
        workspace.write("Dockerfile", "FROM scratch\nGREET world\n")
        let result = await workspace.build(["--no-plugins"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix(#"error: Dockerfile:2: unknown instruction "GREET""#))
    }

    @Test func pluginByPathAndShippedByName() async throws {
        let workspace = BuildWorkspace()
        workspace.write("tools/greet.lua", Self.greet)
        workspace.write("common.df", "LABEL shared=1\n")
        workspace.write("Dockerfile", "FROM scratch\nGREET you\nINCLUDE common.df\n")
        let result = await workspace.build(["--plugin", "tools/greet.lua", "--plugin", "include", "-t", "both:1"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try workspace.config(of: "both:1").config?.labels == ["greeting": "you", "shared": "1"])
    }

    /// A plugin that owns one instruction (EXPANDED) and one parse-hook rewrite (of TOUCH lines).
    static func toucher(comment: String) -> String {
        """
        -- \(comment)
        return kiln.plugin {
          name = "toucher", version = "1.0.0", api = 1,
          instructions = { EXPANDED = function(i) return { "LABEL expanded=" .. i.arguments } end },
          on = {
            parse = function(dockerfile)
              local out = {}
              for _, ins in ipairs(dockerfile.instructions) do
                if ins.keyword == "LABEL" and ins.arguments:find("^touch=") then
                  out[#out + 1] = { keyword = "LABEL", arguments = ins.arguments .. "-rewritten", line = ins.line, file = ins.file }
                else
                  out[#out + 1] = ins
                end
              end
              return out
            end,
          },
        }
        """
    }

    @Test func changedPluginInvalidatesOnlyStepsItTouched() async throws {
        let workspace = BuildWorkspace()
        workspace.write(".kiln/plugins/toucher.lua", Self.toucher(comment: "first"))
        workspace.write(
            "Dockerfile",
            """
            FROM scratch AS plain
            LABEL one=1
            LABEL two=2

            FROM scratch AS touched
            LABEL untouched=1
            EXPANDED yes
            COPY --from=plain / /
            LABEL touch=me

            """)
        let first = await workspace.build(["--target", "touched"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(BuildWorkspace.cachedCount(first.stderr) == 0)

        let again = await workspace.build(["--target", "touched"])
        #expect(BuildWorkspace.cachedCount(again.stderr) == 6, "\(again.stderr)")

        // A changed comment changes the file's digest, which every step the plugin touched has in
        // its key: the expansion and the rewritten line, and the steps after them.
        workspace.write(".kiln/plugins/toucher.lua", Self.toucher(comment: "second"))
        let changed = await workspace.build(["--target", "touched"])
        #expect(changed.status == 0, "\(changed.stderr)")
        let reused = changed.stderr.split(separator: "\n").filter { $0.hasSuffix(" CACHED") }.count
        #expect(reused == 3, "\(changed.stderr)")
        #expect(changed.stderr.contains("[plain 2/3] LABEL one=1"))
        #expect(try workspace.config(of: "sha256:" + (try imageID(changed.stderr))).config?.labels?["touch"] == "me-rewritten")
    }

    private func imageID(_ output: String) throws -> String {
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("writing image sha256:") })
        return String(line.dropFirst("writing image sha256:".count).prefix(64))
    }

    @Test func tagPolicyReplacesImpliedLatest() async throws {
        let workspace = BuildWorkspace()
        workspace.write("VERSION", "1.2.3\n")
        workspace.write("Dockerfile", "FROM scratch\nLABEL a=b\n")
        let result = await workspace.build(["--plugin", "semver-tag", "-t", "team/app", "-t", "team/app:edge"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try workspace.tags() == ["team/app:1", "team/app:1.2", "team/app:1.2.3", "team/app:edge", "team/app:latest"])

        workspace.write("VERSION", "1.1.9\n")
        workspace.write("Dockerfile", "FROM scratch\nLABEL a=c\n")
        let older = await workspace.build(["--plugin", "semver-tag", "-t", "team/app"])
        #expect(older.status == 0, "\(older.stderr)")
        #expect(try workspace.tags() == [
            "team/app:1", "team/app:1.1", "team/app:1.1.9", "team/app:1.2", "team/app:1.2.3", "team/app:edge",
            "team/app:latest",
        ])
        let latest = try Store.open(root: workspace.root).image(named: "team/app:latest")
        let newest = try Store.open(root: workspace.root).image(named: "team/app:1.2.3")
        #expect(latest.id == newest.id)
    }

    @Test func commitHookLabelsImage() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL org.opencontainers.image.version=base\n")
        let result = await workspace.build([
            "--plugin", "oci-labels", "--build-arg", "VERSION=4.5.6", "--build-arg", "SOURCE_DATE_EPOCH=1700000000",
            "-t", "labels:1",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let labels = try workspace.config(of: "labels:1").config?.labels ?? [:]
        #expect(labels["org.opencontainers.image.version"] == "4.5.6")
        #expect(labels["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z")
        #expect(labels["org.opencontainers.image.revision"] == nil)
    }

    @Test func lockMismatchStopsBuild() async throws {
        let workspace = BuildWorkspace()
        workspace.write(".kiln/plugins/greet.lua", Self.greet)
        workspace.write("Dockerfile", "FROM scratch\nGREET world\n")
        let lock = await workspace.run(["plugin", "lock", "."])
        #expect(lock.status == 0, "\(lock.stderr)")
        workspace.write(".kiln/plugins/greet.lua", Self.greet + "\n-- changed\n")
        let result = await workspace.build(["-t", "locked:1"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: .kiln/plugins/greet.lua:1: plugin greet: plugin greet changed since .kiln/plugins.lock was written"))
        #expect(try workspace.tags().isEmpty)
    }

    @Test func parseFindingsAreWarningsAndErrorsStop() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nCMD echo hi\n")
        let warned = await workspace.build(["--plugin", "lint-rules", "-t", "linted:1"])
        #expect(warned.status == 0, "\(warned.stderr)")
        #expect(warned.stderr.contains("warning: Dockerfile:2: shell-form CMD or ENTRYPOINT runs under /bin/sh -c"))
        #expect(warned.stderr.contains("(plugin lint-rules)"))

        workspace.write(
            ".kiln/plugins/strict.lua",
            """
            return kiln.plugin { name = "strict", version = "1.0.0", api = 1, on = { parse = function(d)
              d:report { line = 2, message = "CMD is not allowed here", severity = "error", code = "no-cmd" }
            end } }
            """)
        let stopped = await workspace.build(["-t", "linted:2"])
        #expect(stopped.status == 1)
        #expect(stopped.stderr.contains("error: Dockerfile:2: CMD is not allowed here (plugin strict)"))
        #expect(try workspace.tags() == ["linted:1"])
    }

    @Test func checkSkipSilencesPluginRules() async throws {
        let workspace = BuildWorkspace()
        workspace.write(
            ".kiln/plugins/strict.lua",
            """
            return kiln.plugin { name = "strict", version = "1.0.0", api = 1, on = { parse = function(d)
              d:report { line = 3, message = "CMD is not allowed here", severity = "error", code = "no-cmd" }
              d:report { line = 3, message = "CMD looks odd", code = "odd-cmd" }
            end } }
            """)
        workspace.write("Dockerfile", "# check=skip=no-cmd,odd-cmd\nFROM scratch\nCMD [\"true\"]\n")
        let built = await workspace.build(["-t", "skipped:1"])
        #expect(built.status == 0, "\(built.stderr)")
        #expect(!built.stderr.contains("CMD is not allowed here"))
        #expect(!built.stderr.contains("CMD looks odd"))
        #expect(try workspace.tags() == ["skipped:1"])
    }

    @Test func checkErrorFailsOnWarnings() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "# check=error=true\nFROM scratch\nMAINTAINER someone\n")
        let failed = await workspace.build(["-t", "strict:1"])
        #expect(failed.status == 1, "\(failed.stderr)")
        #expect(failed.stderr.contains("Dockerfile: lint violation found for rules: MaintainerDeprecated"), "\(failed.stderr)")
        #expect(try workspace.tags().isEmpty)

        workspace.write("Dockerfile", "# check=error=true\nFROM scratch\nLABEL a=b\n")
        let clean = await workspace.build(["-t", "strict:2"])
        #expect(clean.status == 0, "\(clean.stderr)")
    }

    /// `# check=error=true` makes `kiln build` run the lint rules too, so the build fails on the
    /// rules that `kiln lint` lists, and lint prints the build's error.
    @Test func checkErrorRunsLintRules() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "# check=error=true\nFROM scratch\nMAINTAINER someone\nCMD echo hi\n")
        let violation = "error: Dockerfile: lint violation found for rules: MaintainerDeprecated, shell-form-cmd\n"

        let built = await workspace.build(["-t", "strict:1"])
        #expect(built.status == 1)
        #expect(built.stderr.contains(violation), "\(built.stderr)")
        #expect(try workspace.tags().isEmpty)
        let linted = await workspace.run(["lint"])
        #expect(linted.status == 1)
        #expect(linted.stdout.contains("[MaintainerDeprecated]"), "\(linted.stdout)")
        #expect(linted.stdout.contains("[shell-form-cmd]"), "\(linted.stdout)")
        #expect(linted.stderr.contains(violation), "\(linted.stderr)")

        // A rule of lint-rules alone fails the build, and skipping it lets the build pass.
        workspace.write("Dockerfile", "# check=error=true\nFROM scratch\nCMD echo hi\n")
        let ruleOnly = await workspace.build(["-t", "strict:2"])
        #expect(ruleOnly.status == 1)
        #expect(ruleOnly.stderr.contains("lint violation found for rules: shell-form-cmd\n"), "\(ruleOnly.stderr)")
        workspace.write("Dockerfile", "# check=error=true;skip=shell-form-cmd\nFROM scratch\nCMD echo hi\n")
        let skipped = await workspace.build(["-t", "strict:3"])
        #expect(skipped.status == 0, "\(skipped.stderr)")

        // Without error=true, lint still exits 1 on findings but names no build failure.
        workspace.write("Dockerfile", "FROM scratch\nMAINTAINER someone\n")
        let relaxed = await workspace.run(["lint"])
        #expect(relaxed.status == 1)
        #expect(!relaxed.stderr.contains("lint violation"), "\(relaxed.stderr)")
        #expect(try workspace.tags() == ["strict:3"])
    }
}

/// `git-tag` and `oci-labels` read git facts that kiln gathers by running git in the context.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/git"), "needs git"))
struct GitPluginBuildTests {
    func git(_ arguments: [String], in directory: String) throws {
        let environment = [
            "GIT_AUTHOR_NAME": "kiln", "GIT_AUTHOR_EMAIL": "kiln@example.invalid", "GIT_COMMITTER_NAME": "kiln",
            "GIT_COMMITTER_EMAIL": "kiln@example.invalid", "HOME": directory,
        ]
        let output = try ChildProcess.run("/usr/bin/git", arguments: ["-C", directory] + arguments, environment: environment)
        #expect(output.status == .exited(0), "git \(arguments)")
    }

    func repository() throws -> BuildWorkspace {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL a=b\n")
        try git(["init", "-q", "-b", "Feature/Login"], in: workspace.context)
        try git(["remote", "add", "origin", "https://user:secret@git.example/team/app.git"], in: workspace.context)
        try git(["add", "Dockerfile"], in: workspace.context)
        try git(["commit", "-q", "-m", "first"], in: workspace.context)
        return workspace
    }

    func shortCommit(_ workspace: BuildWorkspace) throws -> String {
        let head = try String(contentsOfFile: workspace.context + "/.git/refs/heads/Feature/Login", encoding: .utf8)
        return String(head.prefix(7))
    }

    @Test func gitTagNamesCommitAndBranch() async throws {
        let workspace = try repository()
        let short = try shortCommit(workspace)
        let clean = await workspace.build(["--plugin", "git-tag", "-t", "team/app"])
        #expect(clean.status == 0, "\(clean.stderr)")
        #expect(try workspace.tags() == ["team/app:\(short)", "team/app:feature-login"].sorted())

        workspace.write("Dockerfile", "FROM scratch\nLABEL a=c\n")
        let dirty = await workspace.build(["--plugin", "git-tag", "-t", "team/app"])
        #expect(dirty.status == 0, "\(dirty.stderr)")
        #expect(try workspace.tags().contains("team/app:\(short)-dirty"))
        #expect(try workspace.tags().contains("team/app:feature-login-dirty"))
    }

    @Test func ociLabelsRecordRevisionAndSource() async throws {
        let workspace = try repository()
        let result = await workspace.build(["--plugin", "oci-labels", "-t", "labelled:1"])
        #expect(result.status == 0, "\(result.stderr)")
        let labels = try workspace.config(of: "labelled:1").config?.labels ?? [:]
        #expect(labels["org.opencontainers.image.revision"]?.hasPrefix(try shortCommit(workspace)) == true)
        #expect(labels["org.opencontainers.image.source"] == "https://git.example/team/app.git")
    }

    @Test func contextPluginNeedsGrantForGit() async throws {
        let workspace = try repository()
        workspace.write(
            ".kiln/plugins/peek.lua",
            #"return kiln.plugin { name = "peek", version = "1.0.0", api = 1, capabilities = { "git" }, on = { tag = function() return { kiln.git.short_commit } end } }"#)
        let refused = await workspace.build(["-t", "peek"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("kiln.git: the 'git' capability is not granted to plugin peek (grant it in .kiln/config.lua)"))

        workspace.write(".kiln/config.lua", #"return kiln.config { plugins = { { "peek", capabilities = { "git" } } } }"#)
        let granted = await workspace.build(["-t", "peek"])
        #expect(granted.status == 0, "\(granted.stderr)")
        #expect(try workspace.tags() == ["peek:\(try shortCommit(workspace))"])
    }
}

/// `kiln image prune` with a retention policy.
@Suite struct RetentionPruneTests {
    @Test func retentionRemovesOldTags() async throws {
        let workspace = BuildWorkspace()
        for (index, version) in ["1.0.0", "1.1.0", "1.2.0", "1.3.0", "2.0.0"].enumerated() {
            workspace.write("Dockerfile", "FROM scratch\nLABEL version=\(version)\n")
            let built = await workspace.build([
                "--build-arg", "SOURCE_DATE_EPOCH=\(1_700_000_000 + index * 100)", "-t", "app:\(version)",
            ])
            #expect(built.status == 0, "\(built.stderr)")
        }
        workspace.write("Dockerfile", "FROM scratch\nLABEL tool=1\n")
        _ = await workspace.build(["-t", "tool:a"])
        let tag = await workspace.run(["tag", "app:2.0.0", "app:latest"])
        #expect(tag.status == 0, "\(tag.stderr)")

        let pruned = await workspace.run(["image", "prune", "-f", "--plugin", "retention"])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        // The three newest tags of app are latest and 2.0.0 (one image) and 1.3.0; the rest go,
        // newest first, each with its image. tool has one tag only.
        let untagged = pruned.stdout.split(separator: "\n").filter { $0.hasPrefix("untagged: ") }
        #expect(untagged == ["untagged: app:1.2.0", "untagged: app:1.1.0", "untagged: app:1.0.0"], "\(pruned.stdout)")
        #expect(pruned.stdout.split(separator: "\n").filter { $0.hasPrefix("deleted: sha256:") }.count == 3)
        #expect(try workspace.tags() == ["app:1.3.0", "app:2.0.0", "app:latest", "tool:a"])
    }

    @Test func pruneWithoutPolicyKeepsTags() async throws {
        let workspace = BuildWorkspace()
        workspace.write("Dockerfile", "FROM scratch\nLABEL a=1\n")
        _ = await workspace.build(["-t", "app:1"])
        let pruned = await workspace.run(["image", "prune", "-f"])
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(try workspace.tags() == ["app:1"])
    }
}
