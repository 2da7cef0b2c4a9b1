import Foundation
import Testing

/// The README's first run, steps 5 to 8 of scripts/demo. The test builds the Flask example on base
/// images pulled through a registry mirror and runs it with a published port. Then it pushes the
/// image, lists and prunes images, stops and removes the container, and rebuilds after a one-line
/// change.
///
/// The base images come from scripts/base-images, which makes and caches them on the first run
/// (debootstrap and apt-get from Debian's mirror, then pip from PyPI during the build).
@Suite(.serialized) struct FirstRunTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static let available =
        Host.isRoot && KilnBinary.isAvailable && TestRegistry.isAvailable && Host.hasExecutable("runc")
        && Host.hasExecutable("debootstrap") && Host.hasExecutable("slirp4netns")

    /// Runs the built kiln with the mirror configuration and returns its result.
    private func kiln(_ root: String, _ config: String, _ arguments: String...) async throws -> Command.Result {
        try await Command.status(KilnBinary.path ?? "kiln", ["--root", root] + arguments, environment: environment(config))
    }

    /// Runs kiln as `kiln` does, blocking the thread, for a `defer` block.
    private func kilnBlocking(_ root: String, _ config: String, _ arguments: String...) throws -> Command.Result {
        try Command.status(KilnBinary.path ?? "kiln", ["--root", root] + arguments, environment: environment(config))
    }

    private func environment(_ config: String) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["KILN_CONFIG"] = config
        return environment
    }

    private func get(_ url: String) async throws -> String {
        try await Command.run("/usr/bin/curl", ["-sS", "--max-time", "10", url])
    }

    @Test(.enabled(if: available, "needs root, the built kiln, runc, slirp4netns, docker-registry and debootstrap"))
    func buildRunPushPruneRebuild() async throws {
        let scratch = try TemporaryDirectory("kiln-first-run")
        defer { scratch.remove() }
        let registry = try TestRegistry()
        defer { registry.stop() }

        try await Command.run(
            Self.repository.appendingPathComponent("scripts/base-images").path,
            ["--push", registry.host, "--kiln", KilnBinary.path ?? "kiln"], directory: Self.repository.path,
            timeout: 2400)
        let config = try scratch.write(
            "config.lua",
            """
            return kiln.config {
              registries = { mirrors = { ["docker.io"] = { "http://\(registry.host)" } } },
            }
            """)
        let root = scratch.appending("root")
        let app = scratch.appending("flask-app")
        try FileManager.default.copyItem(
            atPath: Self.repository.appendingPathComponent("examples/flask-app").path, toPath: app)

        // 5. The build pulls python:3.11-slim through the mirror and runs pip.
        let build = try await kiln(root, config, "build", "--progress=plain", "-t", "myname/myapp:1.0", app)
        #expect(build.status == 0, "\(build.stderr)")
        #expect(build.stderr.contains("[stage-0 1/7] FROM python:3.11-slim"))
        #expect(build.stderr.contains("[stage-0 4/7] RUN pip install -r requirements.txt"))
        #expect(build.stderr.contains("naming to docker.io/myname/myapp:1.0 done"))
        #expect(!build.stderr.contains("CACHED"))

        // 6. The app serves requests on the published port and counts visits.
        let port = try FreePort.find()
        let run = try await kiln(root, config, "run", "-d", "-p", "\(port):4000", "--name", "myapp", "myname/myapp:1.0")
        #expect(run.status == 0, "\(run.stderr)")
        let containerID = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(containerID.count == 64)
        #expect(containerID.allSatisfy { $0.isHexDigit })
        defer { _ = try? kilnBlocking(root, config, "rm", "-f", "myapp") }
        // slirp4netns accepts connections before Flask listens; a path the app does not serve gets
        // a 404 once it is up, without counting as a visit.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let probe = try await Command.status(
                "/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/ready"])
            if probe.stdout == "404" { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        await #expect(try get("http://127.0.0.1:\(port)/") == "Hello from kiln! This page has been visited 1 time.\n")
        await #expect(try get("http://127.0.0.1:\(port)/") == "Hello from kiln! This page has been visited 2 times.\n")

        // 7. Push, list, prune, stop and remove.
        let push = try await kiln(root, config, "push", "myname/myapp:1.0", "\(registry.host)/myname/myapp:1.0")
        #expect(push.status == 0, "\(push.stderr)")
        #expect(push.stdout.contains("1.0: digest: sha256:"))
        let list = try await kiln(root, config, "image", "ls", "-a")
        #expect(list.status == 0)
        #expect(list.stdout.hasPrefix("REPOSITORY"))
        #expect(list.stdout.contains("myname/myapp"))
        #expect(list.stdout.contains("python"))
        let prune = try await kiln(root, config, "image", "prune", "-f")
        #expect(prune.status == 0, "\(prune.stderr)")
        #expect(prune.stdout.contains("Total reclaimed space:"))
        let stop = try await kiln(root, config, "stop", "myapp")
        #expect(stop.status == 0, "\(stop.stderr)\n\((try? kilnBlocking(root, config, "ps", "-a"))?.stdout ?? "")\n\((try? kilnBlocking(root, config, "logs", "myapp"))?.stdout ?? "")")
        #expect(stop.stdout == "myapp\n")
        let remove = try await kiln(root, config, "rm", "myapp")
        #expect(remove.status == 0, "\(remove.stderr)")
        let afterRemove = try await kiln(root, config, "ps", "-a", "-q")
        #expect(afterRemove.stdout.isEmpty)

        // 8. One changed line in app.py: the steps before `COPY . .` come from the cache.
        let appFile = app + "/app.py"
        let source = try String(contentsOfFile: appFile, encoding: .utf8)
        try source.replacingOccurrences(of: "Hello from kiln!", with: "Hello again from kiln!")
            .write(toFile: appFile, atomically: true, encoding: .utf8)
        let rebuild = try await kiln(root, config, "build", "--progress=plain", "-t", "myname/myapp:1.1", app)
        #expect(rebuild.status == 0, "\(rebuild.stderr)")
        let lines = rebuild.stderr.split(separator: "\n").map(String.init)
        for (number, title) in [(2, "WORKDIR /app"), (3, "COPY requirements.txt ./"), (4, "RUN pip install -r requirements.txt")] {
            #expect(lines.contains("#\(number) [stage-0 \(number)/7] \(title)"))
            #expect(lines.contains("#\(number) CACHED"), "step \(number) ran again:\n\(rebuild.stderr)")
        }
        #expect(lines.contains("#5 [stage-0 5/7] COPY . ."))
        #expect(!lines.contains("#5 CACHED"))
    }
}
