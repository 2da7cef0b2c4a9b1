import Foundation
import KilnImage
import KilnStore
import Testing

/// Plugins in builds that run RUN steps under runc: step and layer hooks change what lands in
/// layers, INCLUDE splices steps that run, and the Lua frontend builds the example script.
@Suite(.enabled(if: BuildHarness.isReady, "build tests need root, runc and busybox-static"))
struct PluginBuildIntegrationTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func exportedRootfs(of name: String, in scratch: TemporaryDirectory) throws -> String {
        let directory = scratch.appending("rootfs-\(UUID().uuidString.prefix(8))")
        try BuildHarness.exportFilesystem(of: name, to: directory)
        return directory
    }

    @Test func aptStepHookCleansInTheSameLayer() async throws {
        let context = try TemporaryDirectory("kiln-plugin-apt")
        defer { context.remove() }
        try context.write(
            "Dockerfile",
            """
            FROM kiln-test/busybox:1
            RUN mkdir -p /var/lib/apt && cd /var/lib/apt && mkdir lists && echo index > lists/debian && echo apt-get install demo > /installed

            """)
        let kiln = try BuildHarness.kiln(in: context.path)
        let cleaned = BuildHarness.uniqueName("apt-clean")
        let result = await kiln("build", "--progress=plain", "--plugin", "apt", "-t", cleaned, ".")
        #expect(result.status == 0, "\(result.stderr)")
        let kept = BuildHarness.uniqueName("apt-kept")
        let plain = await kiln("build", "--progress=plain", "--no-plugins", "-t", kept, ".")
        #expect(plain.status == 0, "\(plain.stderr)")

        let rootfs = try exportedRootfs(of: cleaned, in: context)
        #expect(FileManager.default.fileExists(atPath: rootfs + "/installed"))
        #expect(!FileManager.default.fileExists(atPath: rootfs + "/var/lib/apt/lists/debian"))
        let keptRootfs = try exportedRootfs(of: kept, in: context)
        #expect(FileManager.default.fileExists(atPath: keptRootfs + "/var/lib/apt/lists/debian"))
        // The cleanup ran inside the RUN, so the image has one layer more than its base, not two.
        #expect(try BuildHarness.config(of: cleaned).rootfs.diffIDs.count == 2)
    }

    @Test func pipLayerHookDropsCaches() async throws {
        let context = try TemporaryDirectory("kiln-plugin-pip")
        defer { context.remove() }
        try context.write(
            "Dockerfile",
            """
            FROM kiln-test/busybox:1
            RUN mkdir -p /app/__pycache__ /root/.cache/pip/http && echo code > /app/main.py \\
                && echo bytecode > /app/__pycache__/main.cpython-312.pyc && echo wheel > /root/.cache/pip/http/w
            RUN cat /app/main.py > /app/copy.txt && ls /app > /listing.txt

            """)
        let kiln = try BuildHarness.kiln(in: context.path)
        let name = BuildHarness.uniqueName("pip")
        let result = await kiln("build", "--progress=plain", "--plugin", "pip", "-t", name, ".")
        #expect(result.status == 0, "\(result.stderr)")

        let rootfs = try exportedRootfs(of: name, in: context)
        #expect(!FileManager.default.fileExists(atPath: rootfs + "/app/__pycache__"))
        #expect(!FileManager.default.fileExists(atPath: rootfs + "/root/.cache/pip"))
        #expect(try String(contentsOfFile: rootfs + "/app/copy.txt", encoding: .utf8) == "code\n")
        // The next step ran on the layer as written, without the dropped directory.
        #expect(try String(contentsOfFile: rootfs + "/listing.txt", encoding: .utf8) == "copy.txt\nmain.py\n")
    }

    @Test func includedStepsRunAndFollowTheFragment() async throws {
        let context = try TemporaryDirectory("kiln-plugin-include")
        defer { context.remove() }
        try context.write("steps/setup.df", "RUN echo $WHO > /who\nINCLUDE steps/more.df\n")
        try context.write("steps/more.df", "RUN echo more > /more\n")
        try context.write(
            "Dockerfile",
            """
            FROM kiln-test/busybox:1
            RUN echo \(UUID().uuidString) > /unique
            ARG WHO=kiln
            INCLUDE steps/setup.df
            CMD ["sh"]

            """)
        let kiln = try BuildHarness.kiln(in: context.path)
        let name = BuildHarness.uniqueName("include")
        let first = await kiln("build", "--progress=plain", "--plugin", "include", "-t", name, ".")
        #expect(first.status == 0, "\(first.stderr)")
        let rootfs = try exportedRootfs(of: name, in: context)
        #expect(try String(contentsOfFile: rootfs + "/who", encoding: .utf8) == "kiln\n")
        #expect(try String(contentsOfFile: rootfs + "/more", encoding: .utf8) == "more\n")
        let history = try BuildHarness.config(of: name).history ?? []
        #expect(history.filter { $0.createdBy == "INCLUDE steps/setup.df" }.count == 2)

        // A changed nested fragment reruns the included steps; the steps before INCLUDE stay cached.
        // Of those, only the RUN shows as CACHED, because ARG shows no step.
        try context.write("steps/more.df", "RUN echo changed > /more\n")
        let second = await kiln("build", "--progress=plain", "--plugin", "include", "-t", name, ".")
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.components(separatedBy: " CACHED\n").count - 1 == 1, "\(second.stderr)")
        let changed = try exportedRootfs(of: name, in: context)
        #expect(try String(contentsOfFile: changed + "/more", encoding: .utf8) == "changed\n")
    }

    @Test func stepHookChangeReRunsOnlyTouchedSteps() async throws {
        let context = try TemporaryDirectory("kiln-plugin-step-key")
        defer { context.remove() }
        let marker = UUID().uuidString
        let plugin = { (comment: String) in
            """
            -- \(comment)
            return kiln.plugin { name = "marker", version = "1.0.0", api = 1, on = { step = function(step)
              if step.arguments:find("touch-me", 1, true) then step:append("echo marked >> /marks") end
            end } }
            """
        }
        _ = try context.write(".kiln/plugins/marker.lua", plugin("first"))
        try context.write(
            "Dockerfile",
            """
            FROM kiln-test/busybox:1 AS other
            RUN echo \(marker) other > /other

            FROM kiln-test/busybox:1
            RUN echo \(marker) before > /before
            RUN echo \(marker) touch-me > /touched
            COPY --from=other /other /other

            """)
        let kiln = try BuildHarness.kiln(in: context.path)
        let name = BuildHarness.uniqueName("step-key")
        let first = await kiln("build", "--progress=plain", "-t", name, ".")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try String(contentsOfFile: try exportedRootfs(of: name, in: context) + "/marks", encoding: .utf8) == "marked\n")

        _ = try context.write(".kiln/plugins/marker.lua", plugin("second"))
        let second = await kiln("build", "--progress=plain", "-t", name, ".")
        #expect(second.status == 0, "\(second.stderr)")
        // Cached: the other stage's RUN and the RUN before the touched one. Run again: the
        // touched RUN and the COPY after it.
        #expect(second.stderr.components(separatedBy: " CACHED\n").count - 1 == 2, "\(second.stderr)")
    }

    @Test func luaExampleBuildsBothBases() async throws {
        let scratch = try TemporaryDirectory("kiln-lua-example")
        defer { scratch.remove() }
        let kiln = try BuildHarness.kiln(in: Self.repository.appendingPathComponent("examples/lua-build").path)
        let tar = scratch.appending("busybox.tar")
        try BusyboxTree.makeTar(at: tar, scratch: scratch.path)
        let base = BuildHarness.uniqueName("lua-base").split(separator: ":")[0]
        for version in ["1.36", "1.37"] {
            let imported = await kiln("import", "--change", "ENV BASE_RELEASE=\(version)", tar, "\(base):\(version)")
            #expect(imported.status == 0, "\(imported.stderr)")
        }

        for version in ["1.36", "1.37"] {
            let name = "\(base)-app:\(version)"
            let built = await kiln(
                "build", "--progress=plain", "-f", "build.lua", "--build-arg", "BASE=\(base)", "--target", "app-\(version)",
                "-t", name, ".")
            #expect(built.status == 0, "\(built.stderr)")

            let config = try BuildHarness.config(of: name)
            #expect(config.config?.env?.contains("BASE_VERSION=\(version)") == true)
            #expect(config.config?.env?.contains("BASE_RELEASE=\(version)") == true)
            #expect(config.config?.labels?["org.opencontainers.image.version"] == "1.0.0")
            #expect(config.config?.labels?["org.opencontainers.image.base.name"] == "\(base):\(version)")
            #expect(config.config?.cmd == ["/app/hello.sh"])
            let history = config.history ?? []
            #expect(history.last?.createdBy == #"CMD ["/app/hello.sh"]"#)
            #expect(history.last?.comment == "kiln build.lua:29")

            let rootfs = try exportedRootfs(of: name, in: scratch)
            let builtOn = try String(contentsOfFile: rootfs + "/app/built-on.txt", encoding: .utf8)
            #expect(builtOn == "hello from 1.0.0 on busybox \(version)\n")
        }
    }

    @Test func luaScriptErrorNamesLine() async throws {
        let context = try TemporaryDirectory("kiln-lua-error")
        defer { context.remove() }
        try context.write("build.lua", "local app = kiln.stage(\"kiln-test/busybox:1\")\napp:run(\"exit 3\")\n")
        let kiln = try BuildHarness.kiln(in: context.path)
        let result = await kiln("build", "--progress=plain", "-f", "build.lua", ".")
        #expect(result.status == 1)
        #expect(result.stderr.contains("error: build.lua:2: RUN exit 3: exit status 3"), "\(result.stderr)")
        #expect(result.stderr.contains(#" >  2 | app:run("exit 3")"#) || result.stderr.contains(#" > 2 | app:run("exit 3")"#))
    }
}
