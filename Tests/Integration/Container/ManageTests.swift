import Foundation
import KilnContainer
import KilnStore
import Testing

/// The container management commands: logs, exec, ps, inspect, restart, commit, and the
/// reconciliation after a killed monitor.
@Suite(.enabled(if: ContainerHarness.isReady, "needs root, runc, slirp4netns and busybox-static (scripts/setup installs them)"), .serialized)
struct ManageTests {
    @Test func logsKeepStreamsApart() async throws {
        try await ContainerHarness.with { harness in
            let started = await harness.kiln(
                "run", "-d", "--name", "talker", ContainerHarness.image, "sh", "-c", "echo one; sleep 0.1; echo two >&2; sleep 0.1; echo three")
            #expect(started.status == 0)
            let exited = try await harness.eventually { try harness.container("talker")?.status == .exited }
            #expect(exited)

            let logs = await harness.kiln("logs", "talker")
            #expect(logs.stdout == "one\nthree\n")
            #expect(logs.stderr == "two\n")
            #expect(await harness.kiln("logs", "--tail", "1", "talker").stdout == "three\n")
            let stamped = await harness.kiln("logs", "-t", "talker").stdout.split(separator: "\n")
            #expect(stamped.count == 2)
            #expect(stamped.allSatisfy { $0.contains("Z one") || $0.contains("Z three") })
            #expect(await harness.kiln("logs", "--since", "1h", "talker").stdout == "one\nthree\n")
            #expect(await harness.kiln("logs", "--until", "2000-01-01T00:00:00Z", "talker").stdout == "")

            // A foreground run keeps logs too.
            _ = await harness.kiln("run", "--name", "front", ContainerHarness.image, "echo", "kept")
            #expect(await harness.kiln("logs", "front").stdout == "kept\n")

            let followed = await harness.kiln("logs", "-f", "talker")
            #expect(followed.stdout == "one\nthree\n")
        }
    }

    @Test func execRunsInRunningContainer() async throws {
        try await ContainerHarness.with { harness in
            #expect(await harness.kiln("run", "-d", "--name", "box", "-e", "FROM_RUN=1", ContainerHarness.image, "sleep", "1000").status == 0)

            let echoed = await harness.kiln("exec", "-e", "EXTRA=2", "box", "sh", "-c", "echo $FROM_RUN$EXTRA; exit 5")
            #expect(echoed.stdout == "12\n")
            #expect(echoed.status == 5)
            #expect(await harness.kiln("exec", "-u", "appuser", "-w", "/tmp", "box", "sh", "-c", "id -u; pwd").stdout == "1001\n/tmp\n")
            #expect(await harness.kiln("exec", "-d", "box", "touch", "/tmp/detached").status == 0)
            let seen = await harness.eventually { await harness.kiln("exec", "box", "ls", "/tmp/detached").status == 0 }
            #expect(seen)

            // As `docker exec`: the reason once, and 126 for every process that cannot start.
            let missing = await harness.kiln("exec", "box", "nosuchcmd")
            #expect(missing.status == 126)
            #expect(missing.stderr.components(separatedBy: "executable file not found").count == 2, "\(missing.stderr)")
            let notExecutable = await harness.kiln("exec", "box", "/etc/passwd")
            #expect(notExecutable.status == 126)
            #expect(notExecutable.stderr.components(separatedBy: "permission denied").count == 2, "\(notExecutable.stderr)")
            let detached = await harness.kiln("exec", "-d", "box", "nosuchcmd")
            #expect(detached.status == 126)
            #expect(detached.stderr.contains("executable file not found"), "\(detached.stderr)")
            let badDirectory = await harness.kiln("exec", "-w", "/nonexist", "box", "pwd")
            #expect(badDirectory.status == 126)
            #expect(badDirectory.stderr.contains("/nonexist"), "\(badDirectory.stderr)")
            let unknownUser = await harness.kiln("exec", "-u", "nosuch", "box", "id")
            #expect(unknownUser.status == 126)
            #expect(unknownUser.stderr.contains("unable to find user nosuch"), "\(unknownUser.stderr)")

            _ = await harness.kiln("stop", "-t", "0", "box")
            let stopped = await harness.kiln("exec", "box", "true")
            #expect(stopped.status == 1)
            #expect(stopped.stderr.contains("is not running"))
        }
    }

    /// The TERM=xterm of `run -t` is the container process's own: an exec without `-t` gets none,
    /// as in Docker, but one set with `run -e` stays.
    @Test func execWithoutTerminalGetsNoTerm() async throws {
        try await ContainerHarness.with { harness in
            #expect(await harness.kiln("run", "-d", "-t", "--name", "tty", ContainerHarness.image, "sleep", "1000").status == 0)
            #expect(await harness.kiln("exec", "tty", "sh", "-c", "echo \"[$TERM]\"").stdout == "[]\n")
            #expect(await harness.kiln("exec", "-e", "TERM=vt100", "tty", "sh", "-c", "echo \"[$TERM]\"").stdout == "[vt100]\n")
            #expect(await harness.kiln("exec", "-d", "tty", "sh", "-c", "echo \"[$TERM]\" > /tmp/term").status == 0)
            let written = await harness.eventually { await harness.kiln("exec", "tty", "cat", "/tmp/term").stdout == "[]\n" }
            #expect(written)

            let configured = ["run", "-d", "-t", "-e", "TERM=vt220", "--name", "configured", ContainerHarness.image, "sleep", "1000"]
            #expect(await harness.kiln.run(configured).status == 0)
            #expect(await harness.kiln("exec", "configured", "sh", "-c", "echo \"[$TERM]\"").stdout == "[vt220]\n")
        }
    }

    /// `exec -t` through the kiln binary under `script`, which gives it a terminal.
    @Test func execWithTerminal() async throws {
        try await ContainerHarness.with { harness in
            let me = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            let kiln = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("kiln").path
            try #require(FileManager.default.isExecutableFile(atPath: kiln), "the kiln binary is built beside the tests")
            #expect(await harness.kiln("run", "-d", "--name", "box", ContainerHarness.image, "sleep", "1000").status == 0)

            let line = "\(kiln) --root \(harness.root) exec -it box sh -c 'tty; read answer; echo got-$answer; exit 4'"
            let result = try await Command.status(
                "/usr/bin/script", ["-qec", line, "/dev/null"], input: Data("yes\n".utf8))
            #expect(result.status == 4, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("/dev/pts/"))
            #expect(result.stdout.contains("got-yes"))
        }
    }

    @Test func psFiltersAndFormats() async throws {
        try await ContainerHarness.with { harness in
            _ = await harness.kiln("run", "--name", "done-ok", "-l", "team=a", ContainerHarness.image, "true")
            _ = await harness.kiln("run", "--name", "done-bad", "-l", "team=b", ContainerHarness.image, "sh", "-c", "exit 2")
            _ = await harness.kiln("run", "-d", "--name", "alive", "-l", "team=a", ContainerHarness.image, "sleep", "1000")

            #expect(await harness.kiln("ps", "--format", "{{.Names}}").stdout == "alive\n")
            #expect(await harness.kiln("ps", "-a", "--format", "{{.Names}}").stdout == "alive\ndone-bad\ndone-ok\n")
            #expect(await harness.kiln("ps", "--filter", "status=exited", "--format", "{{.Names}}").stdout == "done-bad\ndone-ok\n")
            #expect(await harness.kiln("ps", "-a", "--filter", "label=team=a", "--format", "{{.Names}}").stdout == "alive\ndone-ok\n")
            #expect(await harness.kiln("ps", "-a", "--filter", "name=done", "--filter", "exited=2", "--format", "{{.Names}}").stdout == "done-bad\n")
            #expect(await harness.kiln("ps", "-a", "--filter", "ancestor=\(ContainerHarness.image)", "-q").stdout.split(separator: "\n").count == 3)
            #expect(await harness.kiln("ps", "-a", "--filter", "ancestor=other:1", "-q").stdout == "")
            #expect(await harness.kiln("ps", "-a", "-n", "1", "--format", "{{.Names}}").stdout == "alive\n")
            #expect(await harness.kiln("ps", "-a", "--format", "{{.Names}}\\t{{.Status}}").stdout.contains("done-bad\tExited (2) "))
            #expect(await harness.kiln("ps", "--format", "{{.State}} {{.Command}}").stdout == "running \"sleep 1000\"\n")

            let table = await harness.kiln("ps", "-a", "--format", "table {{.Names}}\\t{{.State}}")
            #expect(table.stdout.hasPrefix("NAMES      STATE\n"))
            let json = await harness.kiln("ps", "--format", "json")
            #expect(json.stdout.contains("\"Names\":\"alive\""))
            let full = await harness.kiln("ps", "--no-trunc", "-q")
            #expect(full.stdout.trimmingCharacters(in: .newlines).count == 64)

            let invalid = await harness.kiln("ps", "--filter", "colour=red")
            #expect(invalid.status == 125)
            #expect(invalid.stderr.contains("invalid filter 'colour'"))
        }
    }

    /// `publish=` matches a running container's host port, and `expose=` its port inside, whether
    /// published or only exposed. A container that is not running has no ports to match.
    @Test func psPortFilters() async throws {
        try await ContainerHarness.with { harness in
            let port = try FreePort.find()
            let image = ContainerHarness.image
            #expect(
                await harness.kiln("run", "-d", "--name", "web", "-p", "127.0.0.1:\(port):80", image, "sleep", "1000").status == 0)
            #expect(await harness.kiln("run", "-d", "--name", "dns", "--expose", "53/udp", image, "sleep", "1000").status == 0)
            #expect(await harness.kiln("create", "--name", "idle", "--expose", "80", image, "sleep", "1000").status == 0)

            func names(_ filters: String...) async -> String {
                await harness.kiln.run(["ps", "-a", "--format", "{{.Names}}"] + filters.flatMap { ["--filter", $0] }).stdout
            }
            #expect(await names("publish=\(port)") == "web\n")
            #expect(await names("publish=\(port)/tcp") == "web\n")
            #expect(await names("publish=\(port)/udp") == "")
            #expect(await names("expose=80") == "web\n")
            #expect(await names("expose=79-81/tcp") == "web\n")
            #expect(await names("expose=53/udp") == "dns\n")
            #expect(await names("expose=53") == "")
            // Different port keys are alternatives, as in Docker.
            #expect(await names("publish=\(port)", "expose=53/udp") == "dns\nweb\n")
            #expect(await names("expose=53/udp", "name=web") == "")
        }
    }

    @Test func inspectShowsDockerFields() async throws {
        try await ContainerHarness.with { harness in
            let port = try FreePort.find()
            _ = await harness.kiln(
                "run", "-d", "--name", "shown", "-p", "127.0.0.1:\(port):80", "--stop-signal", "SIGUSR1", ContainerHarness.image,
                "sleep", "1000")
            let document = await harness.kiln("inspect", "shown")
            #expect(document.status == 0)
            let parsed = try #require(
                try JSONSerialization.jsonObject(with: Data(document.stdout.utf8)) as? [[String: Any]]).first
            #expect(parsed?["Name"] as? String == "/shown")
            #expect(parsed?["Path"] as? String == "sleep")
            #expect(parsed?["Args"] as? [String] == ["1000"])
            let state = parsed?["State"] as? [String: Any]
            #expect(state?["Status"] as? String == "running")
            #expect(state?["Running"] as? Bool == true)
            #expect((state?["Pid"] as? Int ?? 0) > 0)
            let bindings = (parsed?["HostConfig"] as? [String: Any])?["PortBindings"] as? [String: [[String: String]]]
            #expect(bindings?["80/tcp"]?.first?["HostPort"] == "\(port)")
            let ports = (parsed?["NetworkSettings"] as? [String: Any])?["Ports"] as? [String: [[String: String]]]
            #expect(ports?["80/tcp"]?.first?["HostIp"] == "127.0.0.1")
            #expect((parsed?["Config"] as? [String: Any])?["StopSignal"] as? String == "SIGUSR1")

            // `kiln inspect` still finds images.
            #expect(await harness.kiln("inspect", "-f", "{{.Id}}", ContainerHarness.image).stdout.hasPrefix("sha256:"))
            #expect(await harness.kiln("inspect", "--type", "container", "nothing-here").status == 1)
        }
    }

    @Test func killedMonitorShowsTheTruth() async throws {
        try await ContainerHarness.with { harness in
            #expect(await harness.kiln("run", "-d", "--name", "orphan", ContainerHarness.image, "sleep", "1000").status == 0)
            let before = try #require(try harness.container("orphan"))
            let monitor = try #require(before.state.monitorPID)
            let initPID = await harness.kiln("inspect", "-f", "{{.State.Pid}}", "orphan").stdout.trimmingCharacters(in: .newlines)

            // A crashed monitor: the container keeps running, and ps shows it running.
            kill(monitor, SIGKILL)
            let monitorGone = await harness.eventually { kill(monitor, 0) != 0 }
            #expect(monitorGone)
            #expect(await harness.kiln("ps", "--format", "{{.Names}} {{.State}}").stdout == "orphan running\n")

            // The container ends without a monitor: ps -a marks it exited with an unknown status.
            let pid = try #require(Int32(initPID))
            kill(pid, SIGKILL)
            let marked = await harness.eventually {
                await harness.kiln("ps", "-a", "--format", "{{.Names}} {{.State}}").stdout == "orphan exited\n"
            }
            #expect(marked)
            #expect(await harness.kiln("inspect", "-f", "{{.State.ExitCode}}", "orphan").stdout == "255\n")
            #expect(harness.mountsBelowRoot() == [])

            // It starts again under a new monitor.
            #expect(await harness.kiln("start", "orphan").stdout == "orphan\n")
            #expect(await harness.kiln("ps", "--format", "{{.Names}}").stdout == "orphan\n")
        }
    }

    /// A foreground `kiln run --rm -p` whose kiln is killed with SIGKILL. A `ps` beside the live
    /// run changes nothing, and the container outlives its kiln with its port. Once it ends, the
    /// next `ps` removes it with its anonymous volume, as Docker's daemon removes an `--rm`
    /// container whatever happens to the client.
    @Test(.enabled(if: KilnBinary.isAvailable, "needs the kiln binary"))
    func killedForegroundRunIsRemoved() async throws {
        try await ContainerHarness.with { harness in
            let port = try FreePort.find()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try #require(KilnBinary.path))
            process.arguments = [
                "--root", harness.root, "run", "--rm", "--name", "fg", "-p", "127.0.0.1:\(port):80", "-v", "/data",
                ContainerHarness.image, "httpd", "-f", "-p", "80",
            ]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // The record shows the container running before runc starts it, and runc's state
            // gives the pid only once the container runs.
            let started = await harness.eventually {
                let pid = await harness.kiln("inspect", "-f", "{{.State.Pid}}", "fg").stdout
                return (Int32(pid.trimmingCharacters(in: .newlines)) ?? 0) > 0 || !process.isRunning
            }
            try #require(started && process.isRunning)
            let running = try #require(try harness.container("fg"))

            let listed = await harness.kiln("ps", "-a", "--format", "{{.Names}} {{.State}} {{.Ports}}")
            #expect(listed.stdout == "fg running 127.0.0.1:\(port)->80/tcp\n")
            let afterList = try #require(try harness.container("fg"))
            #expect(afterList.status == running.status)
            #expect(afterList.state.monitorPID == running.state.monitorPID)
            #expect(afterList.state.ports == running.state.ports)

            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(await harness.kiln("ps", "--format", "{{.Names}} {{.State}} {{.Ports}}").stdout
                == "fg running 127.0.0.1:\(port)->80/tcp\n")

            let pid = try #require(Int32(await harness.kiln("inspect", "-f", "{{.State.Pid}}", "fg").stdout.trimmingCharacters(in: .newlines)))
            #expect(pid > 0)
            kill(pid, SIGKILL)
            let removed = await harness.eventually { await harness.kiln("ps", "-a", "-q").stdout.isEmpty }
            #expect(removed)
            #expect(harness.entries("containers") == [])
            #expect(harness.entries("volumes") == [])
            #expect(harness.mountsBelowRoot() == [])
        }
    }

    @Test func waitPrintsExitCodes() async throws {
        try await ContainerHarness.with { harness in
            #expect(await harness.kiln("run", "-d", "--name", "slow", ContainerHarness.image, "sh", "-c", "sleep 1; exit 3").status == 0)
            #expect(await harness.kiln("run", "--name", "done", ContainerHarness.image, "sh", "-c", "exit 4").status == 4)

            let waited = await harness.kiln("wait", "slow", "done")
            #expect(waited.status == 0, "\(waited.stderr)")
            #expect(waited.stdout == "3\n4\n")
            let slow = try harness.container("slow")
            #expect(slow?.status == .exited)

            let missing = await harness.kiln("wait", "done", "nosuch")
            #expect(missing.status == 1)
            #expect(missing.stdout == "4\n")
            #expect(missing.stderr.contains("No such container: nosuch"), "\(missing.stderr)")
        }
    }

    @Test func renameKeepsTheContainer() async throws {
        try await ContainerHarness.with { harness in
            #expect(await harness.kiln("run", "-d", "--name", "before", ContainerHarness.image, "sleep", "1000").status == 0)
            #expect(await harness.kiln("create", "--name", "other", ContainerHarness.image, "true").status == 0)
            let id = try #require(try harness.container("before")?.id)

            let renamed = await harness.kiln("rename", "before", "after")
            #expect(renamed.status == 0, "\(renamed.stderr)")
            #expect(try harness.container("after")?.id == id)
            #expect(try harness.container("before") == nil)
            #expect(await harness.kiln("exec", "after", "true").status == 0, "a running container keeps running")

            let nameInUse = await harness.kiln("rename", "after", "other")
            #expect(nameInUse.status == 1)
            #expect(nameInUse.stderr.contains("The container name \"/other\" is already in use"), "\(nameInUse.stderr)")
            let same = await harness.kiln("rename", "after", "after")
            #expect(same.status == 1)
            #expect(same.stderr.contains("already named after"), "\(same.stderr)")
            let invalid = await harness.kiln("rename", "after", "bad name")
            #expect(invalid.status != 0)
            #expect(try harness.container("after")?.id == id)
            _ = await harness.kiln("rm", "-f", "after", "other")
        }
    }

    @Test func diffListsChanges() async throws {
        try await ContainerHarness.with { harness in
            let run = await harness.kiln(
                "run", "--name", "changer", ContainerHarness.image, "sh", "-c",
                "echo new > /tmp/added; echo x >> /etc/motd-kiln; rm /etc/group; mkdir -p /srv/a/b; echo y > /srv/a/b/c")
            #expect(run.status == 0, "\(run.stderr)")

            let diff = await harness.kiln("diff", "changer")
            #expect(diff.status == 0, "\(diff.stderr)")
            let lines = diff.stdout.split(separator: "\n").map(String.init)
            #expect(lines.contains("C /etc"))
            #expect(lines.contains("A /etc/motd-kiln"))
            #expect(lines.contains("D /etc/group"))
            #expect(lines.contains("C /tmp"))
            #expect(lines.contains("A /tmp/added"))
            #expect(lines.contains("A /srv/a/b/c"))
            #expect(lines == lines.sorted { $0.dropFirst(2).utf8.lexicographicallyPrecedes($1.dropFirst(2).utf8) })

            // Mount points and the directories copied up to hold them are not changes.
            // /home/app is in the image, so overlayfs copies up both /home and /home/app for the stub.
            let idleRun = await harness.kiln(
                "run", "--name", "idle", "-v", "/data", "-v", "/home/app/data", ContainerHarness.image, "true")
            #expect(idleRun.status == 0, "\(idleRun.stderr)")
            let idle = await harness.kiln("diff", "idle")
            #expect(idle.status == 0, "\(idle.stderr)")
            #expect(idle.stdout == "", "\(idle.stdout)")
            #expect(await harness.kiln("run", "-d", "--name", "busy", ContainerHarness.image, "sleep", "1000").status == 0)
            let busy = await harness.kiln("diff", "busy")
            #expect(busy.stdout == "", "\(busy.stdout)")
            _ = await harness.kiln("rm", "-f", "busy")

            let missing = await harness.kiln("diff", "nosuch")
            #expect(missing.status == 1)
            #expect(missing.stderr.contains("No such container: nosuch"))
        }
    }

    @Test func restartAndStartAgain() async throws {
        try await ContainerHarness.with { harness in
            #expect(await harness.kiln("run", "-d", "--name", "again", ContainerHarness.image, "sh", "-c", "date +%s%N >> /tmp/starts; sleep 1000").status == 0)
            #expect(await harness.kiln("restart", "-t", "0", "again").stdout == "again\n")
            let lines = await harness.kiln("exec", "again", "cat", "/tmp/starts").stdout.split(separator: "\n")
            #expect(lines.count == 2)
            #expect(await harness.kiln("ps", "--format", "{{.Status}}").stdout.hasPrefix("Up "))
        }
    }

    @Test func commitMakesAnImage() async throws {
        try await ContainerHarness.with { harness in
            _ = await harness.kiln("run", "--name", "changed", ContainerHarness.image, "sh", "-c", "echo committed > /hello && rm /bin/vi")
            let committed = await harness.kiln("commit", "-m", "add hello", "-c", "CMD [\"cat\", \"/hello\"]", "changed", "busybox:committed")
            #expect(committed.status == 0, "\(committed.stderr)")
            #expect(committed.stdout.hasPrefix("sha256:"))

            #expect(await harness.kiln("run", "--rm", "busybox:committed").stdout == "committed\n")
            #expect(await harness.kiln("run", "--rm", "busybox:committed", "ls", "/bin/vi").status != 0)
            let history = await harness.kiln("history", "--format", "{{.Comment}}", "busybox:committed")
            #expect(history.stdout.hasPrefix("add hello\n"))
        }
    }

    /// HOSTNAME goes into the process at each start, not into Config.Env, so a commit does not
    /// pass the old container's ID on to every container of the new image.
    @Test func commitLeavesHostnameOut() async throws {
        try await ContainerHarness.with { harness in
            _ = await harness.kiln("run", "--name", "named", "-e", "GREETING=hi", ContainerHarness.image, "true")
            let env = await harness.kiln("inspect", "-f", "{{json .Config.Env}}", "named")
            #expect(!env.stdout.contains("HOSTNAME"), "\(env.stdout)")
            #expect(env.stdout.contains("GREETING=hi"), "\(env.stdout)")

            let committed = await harness.kiln("commit", "named", "busybox:hostname")
            #expect(committed.status == 0, "\(committed.stderr)")
            let imageEnv = await harness.kiln("image", "inspect", "-f", "{{json .Config.Env}}", "busybox:hostname")
            #expect(!imageEnv.stdout.contains("HOSTNAME"), "\(imageEnv.stdout)")
            #expect(imageEnv.stdout.contains("GREETING=hi"), "\(imageEnv.stdout)")

            let hostnames = await harness.kiln("run", "--rm", "busybox:hostname", "sh", "-c", "echo $HOSTNAME; hostname")
            let lines = hostnames.stdout.split(separator: "\n")
            #expect(lines.count == 2, "\(hostnames.stdout) \(hostnames.stderr)")
            #expect(lines.first == lines.last, "\(hostnames.stdout)")
            let given = await harness.kiln("run", "--rm", "-e", "HOSTNAME=mine", ContainerHarness.image, "sh", "-c", "echo $HOSTNAME")
            #expect(given.stdout == "mine\n")
        }
    }

    /// `exec -t` sets TERM=xterm as `run -t` does, unless `-e` sets TERM. The terminal comes
    /// from script(1), so kiln's standard streams are a terminal.
    @Test(.enabled(if: KilnBinary.isAvailable && Host.hasExecutable("script"), "needs the kiln binary and script"))
    func execWithTerminalSetsTerm() async throws {
        try await ContainerHarness.with { harness in
            #expect(await harness.kiln("run", "-d", "--name", "shell", ContainerHarness.image, "sleep", "300").status == 0)
            let kiln = try #require(KilnBinary.path)
            func execInTerminal(_ arguments: String) async throws -> String {
                let command = "\(kiln) --root \(harness.root) exec -t \(arguments) shell sh -c 'echo TERM=$TERM'"
                return try await Command.status("/usr/bin/script", ["-qec", command, "/dev/null"], input: Data()).stdout
            }
            let plain = try await execInTerminal("")
            #expect(plain.contains("TERM=xterm"), "\(plain)")
            let given = try await execInTerminal("-e TERM=vt100")
            #expect(given.contains("TERM=vt100"), "\(given)")
            let withoutTerminal = await harness.kiln("exec", "shell", "sh", "-c", "echo TERM=$TERM")
            #expect(withoutTerminal.stdout == "TERM=\n")
        }
    }

    @Test func imageInUseIsKept() async throws {
        try await ContainerHarness.with { harness in
            _ = await harness.kiln("run", "--name", "user", ContainerHarness.image, "true")
            let refused = await harness.kiln("rmi", ContainerHarness.image)
            #expect(refused.status != 0)
            #expect(refused.stderr.contains("container"))
            _ = await harness.kiln("store", "gc")
            #expect(await harness.kiln("start", "-a", "user").status == 0)
        }
    }

    @Test func pruneRemovesStoppedContainers() async throws {
        try await ContainerHarness.with { harness in
            _ = await harness.kiln("run", "--name", "old", ContainerHarness.image, "true")
            _ = await harness.kiln("run", "-d", "--name", "live", ContainerHarness.image, "sleep", "1000")
            let id = try #require(try harness.container("old")).id
            let pruned = await harness.kiln("container", "prune", "-f")
            #expect(pruned.stdout.hasPrefix("Deleted Containers:\n\(id)\n\nTotal reclaimed space: "))
            #expect(await harness.kiln("ps", "-a", "--format", "{{.Names}}").stdout == "live\n")
        }
    }

    /// `system prune --filter` narrows the containers as `container prune --filter` does.
    @Test func systemPruneFiltersContainersByLabel() async throws {
        try await ContainerHarness.with { harness in
            #expect(await harness.kiln("create", "--name", "kept", "-l", "keep=1", ContainerHarness.image).status == 0)
            #expect(await harness.kiln("create", "--name", "removed", ContainerHarness.image).status == 0)
            let id = try #require(try harness.container("removed")).id

            let pruned = await harness.kiln("system", "prune", "-f", "--filter", "label!=keep")
            #expect(pruned.status == 0, "\(pruned.stderr)")
            #expect(pruned.stdout.hasPrefix("Deleted Containers:\n\(id)\n\n"), "\(pruned.stdout)")
            #expect(await harness.kiln("ps", "-a", "--format", "{{.Names}}").stdout == "kept\n")
        }
    }

    /// A container that a live `kiln run` created and has not started yet survives both prunes;
    /// one from `kiln create` does not. The test process plays the `kiln run` in between.
    @Test func pruneSkipsContainerBeingStarted() async throws {
        try await ContainerHarness.with { harness in
            let store = try Store.open(root: harness.root)
            let manager = ContainerManager(store: store, environment: ProcessInfo.processInfo.environment)
            var options = CreateOptions(image: ContainerHarness.image)
            options.name = "starting"
            let image = try store.resolveImage(ContainerHarness.image).image
            _ = try manager.create(options, image: image, startsNow: true)
            #expect(await harness.kiln("create", "--name", "idle", ContainerHarness.image).status == 0)

            let pruned = await harness.kiln("container", "prune", "-f")
            #expect(pruned.status == 0, "\(pruned.stderr)")
            #expect(try harness.container("idle") == nil)
            #expect(try harness.container("starting")?.status == .created)

            let systemPruned = await harness.kiln("system", "prune", "-f")
            #expect(systemPruned.status == 0, "\(systemPruned.stderr)")
            #expect(try harness.container("starting")?.status == .created)
        }
    }

    /// A container that this process will run in the foreground is recorded as running at once,
    /// with this process as its monitor, unless it publishes ports, whose host ports the start picks.
    @Test func foregroundRunRecordsRunningAtCreate() async throws {
        try await ContainerHarness.with { harness in
            let store = try Store.open(root: harness.root)
            let manager = ContainerManager(store: store, environment: ProcessInfo.processInfo.environment)
            let image = try store.resolveImage(ContainerHarness.image).image
            var options = CreateOptions(image: ContainerHarness.image)
            options.name = "foreground"
            let created = try manager.create(options, image: image, startsNow: true, runsHere: true)
            let record = try #require(try harness.container("foreground"))
            #expect(created.status == .running)
            #expect(record.status == .running)
            #expect(record.state.monitorPID == getpid())
            #expect(record.state.startedAt != nil)

            options.name = "published"
            options.publish = ["8080:80"]
            _ = try manager.create(options, image: image, startsNow: true, runsHere: true)
            #expect(try harness.container("published")?.status == .created)

            // No container ever starts here, so the test deletes the records itself: the cleanup's
            // `rm -f` would wait for the running one to start.
            try manager.repository.delete(created.id)
            try manager.repository.delete(try #require(try harness.container("published")).id)
        }
    }

    @Test func hostileImageConfigStaysInside() async throws {
        try await ContainerHarness.with { harness in
            let tar = harness.directory.appending("busybox.tar")
            let label = String(repeating: "$(touch /tmp/pwned);`id`|", count: 40_000)
            let imported = await harness.kiln(
                "import", "--change", "VOLUME [\"/../../../etc\"]", "--change", "LABEL kiln.hook=\"\(label)\"",
                "--change", "ENTRYPOINT [\"/bin/sh\", \"-c\", \"id\"]", tar, "hostile:volumes")
            #expect(imported.status == 0, "\(imported.stderr)")

            let ran = await harness.kiln("run", "--name", "hostile", "hostile:volumes")
            #expect(ran.status == 0, "\(ran.stderr)")
            // The new volume at /etc got the image's /etc, so `id` finds the name root in its passwd.
            #expect(ran.stdout.hasPrefix("uid=0(root) "))
            let container = try #require(try harness.container("hostile"))
            // The image volume became an anonymous volume at the clean path /etc, inside the store.
            #expect(container.specification.mounts.map(\.destination) == ["/etc"])
            #expect(container.specification.mounts.allSatisfy { $0.kind == .volume })
            #expect(container.specification.mounts.allSatisfy { $0.anonymous })
            #expect(!FileManager.default.fileExists(atPath: "/tmp/pwned"))

            let relative = await harness.kiln(
                "import", "--change", "WORKDIR ../../..", tar, "hostile:workdir")
            if relative.status == 0 {
                let rejected = await harness.kiln("run", "--rm", "hostile:workdir", "pwd")
                #expect(rejected.status == 125)
                #expect(rejected.stderr.contains("WorkingDir"))
            }
        }
    }
}
